package main

import (
	"fmt"
	"io"
	"regexp"
	"strings"

	hallmarkv1 "github.com/hallmark-dev/hallmark/proto/hallmark/v1"
)

var commitRE = regexp.MustCompile(`^[0-9a-f]{40}([0-9a-f]{24})?$`)

// parseGitContext recognises a git build context in buildx's syntax,
// URL#<commit>[:subdir], where URL is https://, http:// or git@host:path.
// Hallmark builds content, not moving pointers, so the fragment must be a
// full commit id.
func parseGitContext(s string) (*hallmarkv1.GitSource, bool, error) {
	if !strings.HasPrefix(s, "https://") && !strings.HasPrefix(s, "http://") && !strings.HasPrefix(s, "git@") {
		return nil, false, nil
	}
	url, frag, _ := strings.Cut(s, "#")
	commit, subdir, _ := strings.Cut(frag, ":")
	if !commitRE.MatchString(commit) {
		return nil, true, fmt.Errorf("parse git context %q: name a full commit id after '#', e.g. %s#<40 hex>[:subdir]; branches and tags move, so they are not accepted", s, url)
	}
	return &hallmarkv1.GitSource{Url: url, Commit: commit, Subdir: subdir}, true, nil
}

// gitDockerfile is the Dockerfile of a git build: a path inside the
// repository (relative to the subdir), or stdin with -f -.
func gitDockerfile(file string, stdin io.Reader) (dockerfileSpec, error) {
	if file == "-" {
		return stdinDockerfile(stdin)
	}
	if file == "" {
		file = "Dockerfile"
	}
	return dockerfileSpec{rel: strings.TrimPrefix(file, "./")}, nil
}
