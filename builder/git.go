package builder

import (
	"context"
	"fmt"
	"path"
	"strings"

	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/client/llb"
	gateway "github.com/moby/buildkit/frontend/gateway/client"

	hallmark "github.com/hallmark-dev/hallmark"
)

// gitContext is the dockerfile frontend's "context" attribute for a git
// source: BuildKit fetches the repository itself, at the commit, and checks
// that the commit is the one named.
func gitContext(g *hallmark.GitSource) string {
	s := g.URL + "#" + g.Commit
	if g.Subdir != "" {
		s += ":" + strings.Trim(g.Subdir, "/")
	}
	return s
}

// gitOptions fetch exactly g.Commit, verified by checksum, and nothing else.
func gitOptions(g *hallmark.GitSource) []llb.GitOption {
	opts := []llb.GitOption{llb.GitRef(g.Commit), llb.GitChecksum(g.Commit)}
	if sub := strings.Trim(g.Subdir, "/"); sub != "" {
		opts = append(opts, llb.GitSubDir(sub))
	}
	return opts
}

// readGitDockerfile has BuildKit fetch the git source and returns the
// Dockerfile at rel (relative to the subdir), so that the bases can be pinned
// before the real solve. BuildKit caches the fetch by commit, so the solve
// that follows does not fetch again.
func (b *Builder) readGitDockerfile(ctx context.Context, c *client.Client, g *hallmark.GitSource, rel string) ([]byte, error) {
	var data []byte
	var missing bool
	_, err := c.Build(ctx, client.SolveOpt{}, "hallmark", func(ctx context.Context, gw gateway.Client) (*gateway.Result, error) {
		st := llb.Git(g.URL, "", gitOptions(g)...)
		def, err := st.Marshal(ctx)
		if err != nil {
			return nil, fmt.Errorf("define git fetch: %w", err)
		}
		res, err := gw.Solve(ctx, gateway.SolveRequest{Definition: def.ToPB(), Evaluate: true})
		if err != nil {
			return nil, fmt.Errorf("fetch: %w", err)
		}
		ref, err := res.SingleRef()
		if err != nil {
			return nil, err
		}
		if _, err := ref.StatFile(ctx, gateway.StatRequest{Path: rel}); err != nil {
			missing = true
			return nil, err
		}
		data, err = ref.ReadFile(ctx, gateway.ReadRequest{Filename: rel, Range: &gateway.FileRange{Length: MaxDockerfileBytes + 1}})
		if err != nil {
			return nil, fmt.Errorf("read dockerfile %q from git: %w", rel, err)
		}
		return gateway.NewResult(), nil
	}, nil)
	switch {
	case missing:
		return nil, fmt.Errorf("%w: dockerfile %q not found in %s at %s", hallmark.ErrInvalid, rel, g.URL, g.Commit)
	case err != nil && ctx.Err() != nil:
		return nil, fmt.Errorf("%w: %w", hallmark.ErrCanceled, context.Cause(ctx))
	case err != nil:
		return nil, fmt.Errorf("%w: fetch %s at %s (is the URL right and the commit pushed?): %w", hallmark.ErrNotFound, g.URL, g.Commit, err)
	}
	if len(data) > MaxDockerfileBytes {
		return nil, fmt.Errorf("%w: dockerfile %q is over %d bytes", hallmark.ErrTooLarge, rel, MaxDockerfileBytes)
	}
	return data, nil
}

// gitDockerfilePath is the Dockerfile's path inside the git context.
func gitDockerfilePath(p string) string {
	rel := path.Clean("/" + p)[1:]
	if rel == "" {
		return "Dockerfile"
	}
	return rel
}
