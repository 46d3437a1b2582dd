//go:build e2e

package e2e

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hallmark-dev/hallmark/internal/devstack"
)

// BenchmarkLargeContext builds a context of one incompressible file that a
// Dockerfile copies into the base (`FROM base`, `COPY big /big`) two ways
// per iteration, as BenchmarkGatewayOverhead does: with `buildctl build`
// (push by digest to the stack's registry) and with `hallmark build`
// through a gateway with signing disabled. Every build gets a new file of
// fresh random bytes, as a CI rebuild of changed sources does, so that no
// cache hides the work. Sizes are 10 MB and 200 MB, plus 1 GB when
// HALLMARK_BENCH_1GB is set.
//
// It reports direct-s/op, gateway-s/op, ratio = gateway/direct (target
// <= 1.5), and the gateway's own split of its time per build from its
// "build timings" and "context uploaded" log lines (upload-s/op, and
// prepare-, queue-, extract-, solve-, checks-s/op).
func BenchmarkLargeContext(b *testing.B) {
	st := env.stack.State
	ctx := b.Context()
	buildctl, err := devstack.Tool(ctx, env.repo, "buildkit", "buildctl", os.Stderr)
	if err != nil {
		b.Fatal(err)
	}
	logs := &timingLog{}
	conf := "log: {level: debug}\nlimits: {maxContextBytes: 2147483648, contextQuotaBytes: 68719476736}\n"
	if addr := os.Getenv("HALLMARK_BENCH_PPROF"); addr != "" {
		// HALLMARK_BENCH_PPROF=127.0.0.1:6061 lets `go tool pprof` profile
		// this gateway.
		conf += fmt.Sprintf("debug: {pprofListen: %q}\n", addr)
	}
	gw := startGatewayWith(b, gatewayOpts{
		buildkit: st.BuildKit, registry: st.Registry, noSigning: true, logs: logs, extraYAML: conf,
	})
	sizes := []int64{10 << 20, 200 << 20}
	if os.Getenv("HALLMARK_BENCH_1GB") != "" {
		sizes = append(sizes, 1<<30)
	}
	for _, size := range sizes {
		b.Run(fmt.Sprintf("%dMiB", size>>20), func(b *testing.B) {
			dir := b.TempDir()
			df := "FROM " + st.BaseImage + "\nCOPY big /big\n"
			if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(df), 0o644); err != nil {
				b.Fatal(err)
			}
			fresh := func() {
				if err := writeRandom(filepath.Join(dir, "big"), size); err != nil {
					b.Fatal(err)
				}
			}
			direct := func() { buildctlBuild(b, buildctl, dir, st.Registry+"/bench/large") }
			gateway := func() {
				_, stderr, err := runCLI(b, "build", "--gateway", gw, "--progress", "quiet", "-t", st.Registry+"/bench/large:gw", dir)
				if err != nil {
					b.Fatalf("hallmark build: %v\n%s", err, stderr)
				}
			}
			steps := []func(){direct, gateway}
			for _, f := range steps { // warm both paths: base image, frontend
				fresh()
				f()
			}
			logs.reset()
			var times [2]time.Duration
			b.ResetTimer()
			for b.Loop() {
				for i, f := range steps {
					b.StopTimer()
					fresh()
					b.StartTimer()
					t0 := time.Now()
					f()
					times[i] += time.Since(t0)
				}
			}
			n := float64(b.N)
			b.ReportMetric(times[0].Seconds()/n, "direct-s/op")
			b.ReportMetric(times[1].Seconds()/n, "gateway-s/op")
			b.ReportMetric(times[1].Seconds()/times[0].Seconds(), "ratio")
			for name, ms := range logs.sums() {
				b.ReportMetric(ms/1000/n, name+"-s/op")
			}
		})
	}
}

// writeRandom replaces name with size bytes from crypto/rand, synced, so
// that the disk is not still writing it while a build is timed.
func writeRandom(name string, size int64) error {
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	if _, err := io.CopyN(w, rand.Reader, size); err != nil {
		f.Close()
		return err
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// timingLog collects the gateway's JSON log lines and sums the
// millisecond fields ("<phase>_ms") of its timing lines.
type timingLog struct {
	mu  sync.Mutex
	buf []byte
	sum map[string]float64
}

func (l *timingLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, p...)
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 {
			break
		}
		l.line(l.buf[:i])
		l.buf = l.buf[i+1:]
	}
	return len(p), nil
}

func (l *timingLog) line(line []byte) {
	var m map[string]any
	if json.Unmarshal(line, &m) != nil {
		return
	}
	if msg, _ := m["msg"].(string); msg != "build timings" && msg != "context uploaded" {
		return
	}
	if l.sum == nil {
		l.sum = map[string]float64{}
	}
	for k, v := range m {
		if ms, ok := v.(float64); ok && strings.HasSuffix(k, "_ms") {
			l.sum[strings.TrimSuffix(k, "_ms")] += ms
		}
	}
}

func (l *timingLog) reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sum = nil
}

// sums returns the summed milliseconds per phase.
func (l *timingLog) sums() map[string]float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return maps.Clone(l.sum)
}
