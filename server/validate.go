package server

import (
	"fmt"
	"regexp"
	"strings"

	hallmark "github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/builder"
	hallmarkv1 "github.com/hallmark-dev/hallmark/proto/hallmark/v1"
	"github.com/hallmark-dev/hallmark/registry"
)

// maxPathBytes bounds the paths of a request (Dockerfile, git subdir, git
// URL). The other limits are the root package's (hallmark.MaxTags, …),
// which the CLI checks too.
const maxPathBytes = 4096

var (
	commitRE = regexp.MustCompile(`^[0-9a-f]{40}([0-9a-f]{24})?$`)
	// gitURLRE accepts http:// too: the full commit id, which BuildKit
	// checks, pins the content whatever the transport.
	gitURLRE = regexp.MustCompile(`^(https?://[^\s#?]+|git@[A-Za-z0-9.-]+:[^\s#?]+)$`)
)

func invalid(field, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", hallmark.ErrInvalid, field, fmt.Sprintf(format, args...))
}

// buildRequest validates a BuildRequest and turns it into the domain type.
// It never echoes secret values or whole oversized fields.
func buildRequest(in *hallmarkv1.BuildRequest) (hallmark.BuildRequest, error) {
	var out hallmark.BuildRequest
	switch src := in.GetSource().(type) {
	case *hallmarkv1.BuildRequest_ContextDigest:
		d, err := hallmark.ParseDigest(src.ContextDigest)
		if err != nil {
			return out, invalid("context_digest", "%v", err)
		}
		out.ContextDigest = d
	case *hallmarkv1.BuildRequest_Git:
		g := src.Git
		if !gitURLRE.MatchString(g.GetUrl()) || len(g.GetUrl()) > maxPathBytes {
			return out, invalid("git.url", "%q is not an https://, http:// or git@host:path URL without a fragment", hallmark.Clip(g.GetUrl(), 100))
		}
		if !commitRE.MatchString(g.GetCommit()) {
			return out, invalid("git.commit", "must be a full lowercase hex commit id, not a branch or tag")
		}
		if err := checkPath("git.subdir", g.GetSubdir()); err != nil {
			return out, err
		}
		if strings.ContainsAny(g.GetSubdir(), ":#?") {
			return out, invalid("git.subdir", "%q may not contain ':', '#' or '?'", hallmark.Clip(g.GetSubdir(), 100))
		}
		out.Git = &hallmark.GitSource{URL: g.GetUrl(), Commit: g.GetCommit(), Subdir: g.GetSubdir()}
	default:
		return out, invalid("source", "set context_digest (from UploadContext) or git")
	}
	if err := checkPath("dockerfile", in.GetDockerfile()); err != nil {
		return out, err
	}
	out.Dockerfile = in.GetDockerfile()
	if len(in.GetDockerfileInline()) > builder.MaxDockerfileBytes {
		return out, fmt.Errorf("%w: dockerfile_inline: %d bytes, the limit is %d", hallmark.ErrTooLarge, len(in.GetDockerfileInline()), builder.MaxDockerfileBytes)
	}
	out.DockerfileInline = in.GetDockerfileInline()

	repo, err := tags(in.GetTags())
	if err != nil {
		return out, err
	}
	out.Repository, out.Tags = repo, in.GetTags()

	if err := hallmark.ValidateBuildArgs(in.GetBuildArgs()); err != nil {
		return out, err
	}
	out.BuildArgs = in.GetBuildArgs()

	if err := hallmark.ValidatePlatforms(in.GetPlatforms()); err != nil {
		return out, err
	}
	out.Platforms = in.GetPlatforms()

	if err := hallmark.ValidateTarget(in.GetTarget()); err != nil {
		return out, err
	}
	out.Target = in.GetTarget()

	for _, s := range in.GetSecrets() {
		out.Secrets = append(out.Secrets, hallmark.Secret{ID: s.GetId(), Value: s.GetValue()})
	}
	if err := hallmark.ValidateSecrets(out.Secrets); err != nil {
		return out, err
	}

	if err := hallmark.ValidateLabels(in.GetLabels()); err != nil {
		return out, err
	}
	out.Labels = in.GetLabels()
	out.NoCache = in.GetNoCache()
	return out, nil
}

// tags checks the tags (hallmark.ValidateTags) and returns their one
// repository.
func tags(ts []string) (string, error) {
	return hallmark.ValidateTags(ts, registry.TagRepository)
}

func checkPath(field, p string) error {
	if len(p) > maxPathBytes || strings.ContainsRune(p, 0) {
		return invalid(field, "path too long or contains NUL")
	}
	for _, part := range strings.Split(p, "/") {
		if part == ".." {
			return invalid(field, "%q leaves the context", hallmark.Clip(p, 100))
		}
	}
	return nil
}
