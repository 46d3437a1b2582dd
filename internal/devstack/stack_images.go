package devstack

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/moby/buildkit/client"
)

// pushImages builds (or reads from the image cache) and pushes the golang
// base image, and records its pinned reference. The static base is built
// by the gateway once it runs (buildBases).
func (s *Stack) pushImages(ctx context.Context) error {
	tools, err := ToolsDir()
	if err != nil {
		return err
	}
	cache := filepath.Join(filepath.Dir(tools), "images")

	goroot, err := goEnv(ctx, "GOROOT")
	if err != nil {
		return err
	}
	version, err := GoVersion(goroot)
	if err != nil {
		return err
	}
	key, err := GolangImageKey(goroot, "/bin/busybox")
	if err != nil {
		return err
	}
	start := time.Now()
	golang, err := CachedImage(cache, key, func() (v1.Image, error) {
		fmt.Fprintf(s.cfg.Progress, "devstack: building %s:%s from %s (once)\n", GolangRepository, version, goroot)
		return GolangImage(goroot, "/bin/busybox")
	})
	if err != nil {
		return fmt.Errorf("build %s: %w", GolangRepository, err)
	}
	pinned, err := s.push(ctx, golang, GolangRepository+":"+version)
	if err != nil {
		return err
	}
	s.GolangImage = pinned
	fmt.Fprintf(s.cfg.Progress, "devstack: %s ready in %s: %s\n", GolangRepository, time.Since(start).Round(time.Millisecond), s.GolangImage)
	return nil
}

func (s *Stack) push(ctx context.Context, img v1.Image, repoTag string) (string, error) {
	ref, err := name.NewTag(s.Registry+"/"+repoTag, name.Insecure)
	if err != nil {
		return "", err
	}
	d, err := EnsureImage(ctx, img, ref)
	if err != nil {
		return "", err
	}
	return ref.Context().Name() + "@" + d.String(), nil
}

func goEnv(ctx context.Context, key string) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", key).Output()
	if err != nil {
		return "", fmt.Errorf("go env %s: %w", key, err)
	}
	return strings.TrimSpace(string(out)), nil
}

// pingBuildKit checks that buildkitd at addr answers and has a worker.
func pingBuildKit(ctx context.Context, addr string) error {
	c, err := client.New(ctx, addr)
	if err != nil {
		return err
	}
	defer c.Close()
	ws, err := c.ListWorkers(ctx)
	if err != nil {
		return err
	}
	if len(ws) == 0 {
		return fmt.Errorf("buildkitd at %s has no workers", addr)
	}
	return nil
}
