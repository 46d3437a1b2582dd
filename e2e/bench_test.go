//go:build e2e

package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/hallmark-dev/hallmark/internal/devstack"
)

// BenchmarkGatewayOverhead builds examples/hello with a warm cache twice per
// iteration: once through the gateway with `hallmark build`, once with
// BuildKit's own `buildctl` and the same inputs (context, Dockerfile, build
// args, pinned bases, push by digest to the same registry). It reports both
// times and the gateway's overhead as a fraction of the direct build. The
// target is overhead <= 0.10.
func BenchmarkGatewayOverhead(b *testing.B) {
	st := env.stack.State
	ctx := b.Context()
	buildctl, err := toolBuildctl(ctx)
	if err != nil {
		b.Fatal(err)
	}
	dir := filepath.Join(env.repo, "examples", "hello")
	args := []string{"GOLANG_IMAGE=" + st.GolangImage, "BASE_IMAGE=" + st.BaseImage}
	gateway := func() {
		_, stderr, err := runCLI(b, "build", "--progress", "quiet", "-t", st.Registry+"/bench/hello:gw",
			"--build-arg", args[0], "--build-arg", args[1], dir)
		if err != nil {
			b.Fatalf("hallmark build: %v\n%s", err, stderr)
		}
	}
	direct := func() {
		cmd := exec.CommandContext(ctx, buildctl, "--addr", st.BuildKit, "build", "--progress", "quiet",
			"--frontend", "dockerfile.v0", "--local", "context="+dir, "--local", "dockerfile="+dir,
			"--opt", "build-arg:"+args[0], "--opt", "build-arg:"+args[1],
			"--output", "type=image,name="+st.Registry+"/bench/hello,push=true,push-by-digest=true,registry.insecure=true,oci-mediatypes=true")
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("buildctl build: %v\n%s", err, out)
		}
	}
	gateway() // warm both paths
	direct()
	var tg, td time.Duration
	b.ResetTimer()
	for b.Loop() {
		t0 := time.Now()
		gateway()
		t1 := time.Now()
		direct()
		tg += t1.Sub(t0)
		td += time.Since(t1)
	}
	n := float64(b.N)
	b.ReportMetric(tg.Seconds()/n, "gateway-s/op")
	b.ReportMetric(td.Seconds()/n, "direct-s/op")
	b.ReportMetric((tg.Seconds()-td.Seconds())/td.Seconds(), "overhead-ratio")
}

func toolBuildctl(ctx context.Context) (string, error) {
	return devstack.Tool(ctx, env.repo, "buildkit", "buildctl", os.Stderr)
}
