//go:build e2e

package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/hallmark-dev/hallmark/internal/devstack"
)

// BenchmarkGatewayOverhead builds examples/hello with a warm cache three ways
// per iteration, all with the same inputs (context, Dockerfile, build args,
// pinned bases, push by digest to the same registry):
//
//   - direct:   BuildKit's own `buildctl build`;
//   - gateway:  `hallmark build` through a gateway with signing disabled, so
//     the difference to direct is the gateway's own cost (auth, upload, base
//     pinning, queueing, tag move, process start of the CLI);
//   - attested: `hallmark build` through the stack's gateway, which also
//     writes the SBOM and provenance, signs both (Fulcio, Rekor v2, TSA) and
//     publishes them before moving the tag.
//
// It reports each time per build and overhead-ratio = (gateway-direct)/direct,
// whose target is <= 0.10.
func BenchmarkGatewayOverhead(b *testing.B) {
	st := env.stack.State
	ctx := b.Context()
	buildctl, err := devstack.Tool(ctx, env.repo, "buildkit", "buildctl", os.Stderr)
	if err != nil {
		b.Fatal(err)
	}
	bare := startGatewayWith(b, gatewayOpts{buildkit: st.BuildKit, registry: st.Registry, noSigning: true})
	dir := filepath.Join(env.repo, "examples", "hello")
	args := []string{"GOLANG_IMAGE=" + st.GolangImage, "BASE_IMAGE=" + st.BaseImage}
	viaGateway := func(gateway, tag string) {
		_, stderr, err := runCLI(b, "build", "--gateway", gateway, "--progress", "quiet", "-t", tag,
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
	gateway := func() { viaGateway(bare, st.Registry+"/bench/hello:gw") }
	attested := func() { viaGateway(st.Gateway, st.Registry+"/bench/hello:attested") }
	steps := []func(){direct, gateway, attested}
	for _, f := range steps { // warm every path
		f()
	}
	var times [3]time.Duration
	b.ResetTimer()
	for b.Loop() {
		for i, f := range steps {
			t0 := time.Now()
			f()
			times[i] += time.Since(t0)
		}
	}
	n := float64(b.N)
	b.ReportMetric(times[0].Seconds()/n, "direct-s/op")
	b.ReportMetric(times[1].Seconds()/n, "gateway-s/op")
	b.ReportMetric(times[2].Seconds()/n, "attested-s/op")
	b.ReportMetric((times[1]-times[0]).Seconds()/times[0].Seconds(), "overhead-ratio")
}
