package builder

import (
	"context"
	"fmt"
	"strings"

	hallmark "github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/registry"
)

// WithRootAllowed lets final images run as root. Dangerous: a container
// that runs as root turns most escapes into host compromises. The default
// is to refuse images whose config User is empty, "root", "0" or root's
// group forms ("0:0", "root:root").
func WithRootAllowed() Option {
	return func(o *options) error { o.allowRoot = true; return nil }
}

// isRoot reports whether an image config User runs as root: empty (the
// default user), "root", or uid 0, with any group.
func isRoot(user string) bool {
	u, _, _ := strings.Cut(strings.TrimSpace(user), ":")
	return u == "" || u == "root" || strings.Trim(u, "0") == "" // "0", "00"
}

// rootAllowed reports whether the gateway, or the request (the caller's
// authorization rule), lets final images run as root.
func (b *Builder) rootAllowed(allowRoot bool) bool { return b.opts.allowRoot || allowRoot }

// users returns the config User of each of the image's platform images.
func (p *pushedImage) users(ctx context.Context) ([]string, error) {
	imgs, err := p.platforms(ctx)
	if err != nil {
		return nil, fmt.Errorf("read pushed image config: %w", err)
	}
	users := make([]string, 0, len(imgs))
	for _, img := range imgs {
		cfg, err := img.ConfigFile()
		if err != nil {
			return nil, fmt.Errorf("read pushed image config: %w", registry.Error(ctx, err))
		}
		users = append(users, cfg.Config.User)
	}
	return users, nil
}

// refuseRoot refuses an image whose platform images' config users include
// one that runs as root, naming the final stage.
func refuseRoot(users []string, info *DockerfileInfo) error {
	for _, u := range users {
		if isRoot(u) {
			return fmt.Errorf("%w: the final image would run as root (USER %q); add a non-root USER to %s, e.g. USER 65532:65532", hallmark.ErrInvalid, u, info.finalStageLabel())
		}
	}
	return nil
}

// finalStageLabel names the target stage for error messages.
func (info *DockerfileInfo) finalStageLabel() string {
	if info.Target < 0 || info.Target >= len(info.Stages) {
		return "the final stage"
	}
	st := info.Stages[info.Target]
	if st.Name != "" {
		return fmt.Sprintf("stage %q (FROM at line %d)", st.Name, st.Line)
	}
	return fmt.Sprintf("the final stage (FROM at line %d)", st.Line)
}
