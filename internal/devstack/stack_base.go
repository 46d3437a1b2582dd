package devstack

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"connectrpc.com/connect"

	hallmarkv1 "github.com/hallmark-dev/hallmark/proto/hallmark/v1"
	"github.com/hallmark-dev/hallmark/proto/hallmark/v1/hallmarkv1connect"
)

// StaticSpec and DebianSpec are the BaseImage specs of hallmark/static
// (for static binaries) and hallmark/base (glibc, libstdc++, OpenSSL and
// zlib for dynamically linked ones), relative to the repository.
const (
	StaticSpec = "examples/bases/static.yaml"
	DebianSpec = "examples/bases/base.yaml"
	// DebianRepository is the repository of the dynamic base image.
	DebianRepository = "hallmark/base"
)

// buildBases builds the stack's Debian base images through the running
// gateway's BuildBase, so that they are attested like every image the
// gateway makes, and records them pinned by digest. The builds are
// reproducible: with the same package versions they give the same digests
// on every run, and the .deb files come from the cache (DebCacheDir).
func (s *Stack) buildBases(ctx context.Context) error {
	var err error
	if s.BaseImage, err = s.buildBase(ctx, StaticSpec, StaticRepository+":"+StaticTag); err != nil {
		return err
	}
	s.DebianBaseImage, err = s.buildBase(ctx, DebianSpec, DebianRepository+":"+StaticTag)
	return err
}

// buildBase builds the spec at specPath (relative to the repository) as
// repoTag in the stack's registry and returns the image pinned by digest.
func (s *Stack) buildBase(ctx context.Context, specPath, repoTag string) (string, error) {
	start := time.Now()
	spec, err := os.ReadFile(filepath.Join(s.cfg.Repo, specPath))
	if err != nil {
		return "", fmt.Errorf("read %s spec: %w", repoTag, err)
	}
	tok, err := s.issuer.Mint("devstack", Audience, 10*time.Minute, nil)
	if err != nil {
		return "", fmt.Errorf("mint token: %w", err)
	}
	p := new(http.Protocols)
	p.SetUnencryptedHTTP2(true)
	c := hallmarkv1connect.NewBuildServiceClient(&http.Client{Transport: &http.Transport{Protocols: p}}, s.Gateway)
	req := connect.NewRequest(&hallmarkv1.BuildBaseRequest{Spec: spec, Tags: []string{s.Registry + "/" + repoTag}})
	req.Header().Set("Authorization", "Bearer "+tok)
	fmt.Fprintf(s.cfg.Progress, "devstack: building %s from %s through the gateway\n", repoTag, specPath)
	stream, err := c.BuildBase(ctx, req)
	if err != nil {
		return "", fmt.Errorf("build %s: %w", repoTag, err)
	}
	defer stream.Close()
	var res *hallmarkv1.BuildBaseResult
	for stream.Receive() {
		switch ev := stream.Msg().GetEvent().(type) {
		case *hallmarkv1.BuildBaseResponse_Status:
			for _, v := range ev.Status.GetVertexes() {
				if v.GetCompleted() != nil && v.GetStarted() != nil {
					fmt.Fprintf(s.cfg.Progress, "devstack:   %s (%s)\n", v.GetName(), v.GetCompleted().AsTime().Sub(v.GetStarted().AsTime()).Round(time.Millisecond))
				}
			}
		case *hallmarkv1.BuildBaseResponse_Result:
			res = ev.Result
		}
	}
	if err := stream.Err(); err != nil {
		return "", fmt.Errorf("build %s (see %s): %w", repoTag, filepath.Join(s.cfg.Dir, "logs", "hallmarkd.log"), err)
	}
	pinned := res.GetBuild().GetPinned()
	if pinned == "" {
		return "", errors.New("build " + repoTag + ": the gateway sent no result")
	}
	fmt.Fprintf(s.cfg.Progress, "devstack: %s ready in %s: %d Debian packages, attested, %s\n",
		repoTag, time.Since(start).Round(time.Millisecond), len(res.GetPackages()), pinned)
	return pinned, nil
}

// DebCacheDir is where the dev stack's gateway caches .deb files:
// ${XDG_CACHE_HOME:-~/.cache}/hallmark/debs.
func DebCacheDir() (string, error) {
	tools, err := ToolsDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(filepath.Dir(tools), "debs"), nil
}
