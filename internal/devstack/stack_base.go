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

// StaticSpec is the BaseImage spec of hallmark/static, relative to the
// repository.
const StaticSpec = "examples/bases/static.yaml"

// buildStatic builds hallmark/static through the running gateway's
// BuildBase from StaticSpec, so that it is attested like every image the
// gateway makes, and records it pinned by digest. The build is
// reproducible: with the same package versions it gives the same digest on
// every run, and the .deb files come from the cache (DebCacheDir).
func (s *Stack) buildStatic(ctx context.Context) error {
	start := time.Now()
	spec, err := os.ReadFile(filepath.Join(s.cfg.Repo, StaticSpec))
	if err != nil {
		return fmt.Errorf("read %s spec: %w", StaticRepository, err)
	}
	tok, err := s.issuer.Mint("devstack", Audience, 10*time.Minute, nil)
	if err != nil {
		return fmt.Errorf("mint token: %w", err)
	}
	p := new(http.Protocols)
	p.SetUnencryptedHTTP2(true)
	c := hallmarkv1connect.NewBuildServiceClient(&http.Client{Transport: &http.Transport{Protocols: p}}, s.Gateway)
	req := connect.NewRequest(&hallmarkv1.BuildBaseRequest{Spec: spec, Tags: []string{s.Registry + "/" + StaticRepository + ":" + StaticTag}})
	req.Header().Set("Authorization", "Bearer "+tok)
	fmt.Fprintf(s.cfg.Progress, "devstack: building %s:%s from %s through the gateway\n", StaticRepository, StaticTag, StaticSpec)
	stream, err := c.BuildBase(ctx, req)
	if err != nil {
		return fmt.Errorf("build %s: %w", StaticRepository, err)
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
		return fmt.Errorf("build %s (see %s): %w", StaticRepository, filepath.Join(s.cfg.Dir, "logs", "hallmarkd.log"), err)
	}
	if res.GetBuild().GetPinned() == "" {
		return errors.New("build " + StaticRepository + ": the gateway sent no result")
	}
	s.BaseImage = res.GetBuild().GetPinned()
	fmt.Fprintf(s.cfg.Progress, "devstack: %s ready in %s: %d Debian packages, attested, %s\n",
		StaticRepository, time.Since(start).Round(time.Millisecond), len(res.GetPackages()), s.BaseImage)
	return nil
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
