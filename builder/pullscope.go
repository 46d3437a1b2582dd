package builder

import (
	"fmt"
	"strings"

	"github.com/distribution/reference"

	hallmark "github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/internal/glob"
	"github.com/hallmark-dev/hallmark/registry"
)

// checkReadable refuses every image that building the target pulls (each
// reachable stage's FROM, COPY --from and RUN --mount from= image, after
// ARG expansion) whose repository matches none of readable, the patterns
// of the repositories the requester may read (BuildRequest.Readable). The
// gateway pulls with its own credentials, so a caller must not reach
// through them into repositories it may not read. It runs before anything
// is resolved: even a tag lookup would tell the caller whether the image
// exists. Repositories are named the way the base-image policy names them
// ("alpine" is "docker.io/library/alpine"; a pattern may spell Docker Hub
// "index.docker.io" too). The error wraps hallmark.ErrPermissionDenied and
// names, for each refused image, the stage, the line and the repository.
func checkReadable(info *DockerfileInfo, readable []string) error {
	patterns, err := glob.CompileAll("readable repository pattern", readable)
	if err != nil {
		return fmt.Errorf("check readable bases: %w", err)
	}
	var problems []string
	seen := map[string]bool{}
	info.eachBase(func(s Stage, line int, ref string) {
		if seen[ref] {
			return
		}
		seen[ref] = true
		repo := ref
		if named, err := reference.ParseNormalizedNamed(ref); err == nil {
			repo = named.Name()
			if glob.MatchesAny(patterns, registry.RepositoryNames(repo)) {
				return
			}
		}
		problems = append(problems, fmt.Sprintf("%s: base image %q: you may not read repository %q",
			stageLabel(s, line), hallmark.Clip(ref, 200), hallmark.Clip(repo, 200)))
	})
	if len(problems) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %s\nthe gateway reads base images with its own credentials, so a build may use only repositories "+
		"the caller's authorization rule lets it read: ask the gateway's operator to add a pull: pattern to the rule "+
		"(or, for a rule without pull patterns, to list the repository in policy.baseImages.allow)",
		hallmark.ErrPermissionDenied, strings.Join(problems, "\n"))
}
