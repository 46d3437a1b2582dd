//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	hallmark "github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/builder"
	"github.com/hallmark-dev/hallmark/builder/pool"
	"github.com/hallmark-dev/hallmark/internal/devstack"
	hallmarkv1 "github.com/hallmark-dev/hallmark/proto/hallmark/v1"
)

// Shape of one BenchmarkWorkerPool iteration.
const (
	poolBuilds  = 40
	poolClients = 8
)

// BenchmarkWorkerPool runs 40 small builds from 8 concurrent clients (one
// repository each, 5 builds apiece; the repositories hash 4 to each worker
// of the pool of two) through a gateway on one BuildKit
// worker, then on two (2 builds at a time per worker, signing off so that
// BuildKit and placement are what is measured). Each build is the
// examples' two-stage shape on the stack's golang and static images, with
// a build arg unique to the build, so its RUN step and everything after it
// are never cached. The workers keep their state across runs (warm, like a
// pool's), and every repository is built once before timing.
//
// It reports builds/s, the p50 and p99 build latency (request to result)
// and queue-hwm, the most builds that waited for one worker's slots at
// once (the largest queue position a build was accepted with).
func BenchmarkWorkerPool(b *testing.B) {
	st := env.stack.State
	tools, err := devstack.ToolsDir()
	if err != nil {
		b.Fatal(err)
	}
	var workers []string
	for i := range 2 {
		root := filepath.Join(filepath.Dir(tools), fmt.Sprintf("e2e-buildkit-pool-%d", i))
		workers = append(workers, startWorker(b, fmt.Sprintf("bench-%d", i), root).addr)
	}
	// The clients' repositories, 4 placed on each worker of the pool of
	// two: an even spread, so the runs measure the pool rather than how
	// eight names happen to hash onto these (temporary) addresses.
	repos := balancedRepos(b, workers, st.Registry+"/bench/pool", poolClients)
	dockerfile := "FROM " + st.GolangImage + " AS build\nARG NONCE\nRUN echo \"$NONCE\" > /nonce\n" +
		"FROM " + st.BaseImage + "\nCOPY --from=build /nonce /nonce\nUSER 65532\n"
	for _, n := range []int{1, 2} {
		b.Run(fmt.Sprintf("workers=%d", n), func(b *testing.B) {
			gw := startGatewayWith(b, gatewayOpts{registry: st.Registry, workers: workers[:n], maxParallel: 2, noSigning: true})
			c := hallmarkv1connectClient(gw, token(b, "bench-pool"))
			dgst, err := upload(b.Context(), c, makeTar(b, tarEntry{name: "Dockerfile", body: dockerfile}))
			if err != nil {
				b.Fatal(err)
			}
			var seq int
			req := func(client int) *hallmarkv1.BuildRequest {
				seq++
				return &hallmarkv1.BuildRequest{
					Source:    &hallmarkv1.BuildRequest_ContextDigest{ContextDigest: dgst},
					Tags:      []string{repos[client] + ":latest"},
					BuildArgs: map[string]string{"NONCE": strconv.FormatInt(time.Now().UnixNano(), 36) + "-" + strconv.Itoa(seq)},
				}
			}
			for i := range poolClients { // warm: every repository once
				if _, _, err := build(b.Context(), c, req(i)); err != nil {
					b.Fatalf("warm-up build: %v", err)
				}
			}
			var (
				latencies []time.Duration
				hwm       int32
				elapsed   time.Duration
			)
			b.ResetTimer()
			for b.Loop() {
				reqs := make([][]*hallmarkv1.BuildRequest, poolClients)
				for i := range poolBuilds {
					reqs[i%poolClients] = append(reqs[i%poolClients], req(i%poolClients))
				}
				var mu sync.Mutex
				var wg sync.WaitGroup
				start := time.Now()
				for _, mine := range reqs {
					wg.Go(func() {
						for _, r := range mine {
							t0 := time.Now()
							_, events, err := build(b.Context(), c, r)
							took := time.Since(t0)
							if err != nil {
								b.Errorf("build: %v", err)
								return
							}
							mu.Lock()
							latencies = append(latencies, took)
							for _, e := range events {
								hwm = max(hwm, e.GetAccepted().GetQueuePosition())
							}
							mu.Unlock()
						}
					})
				}
				wg.Wait()
				elapsed += time.Since(start)
			}
			if len(latencies) == 0 {
				b.Fatal("no build finished")
			}
			slices.Sort(latencies)
			pct := func(p float64) time.Duration { return latencies[min(len(latencies)-1, int(p*float64(len(latencies))))] }
			b.ReportMetric(float64(len(latencies))/elapsed.Seconds(), "builds/s")
			b.ReportMetric(pct(0.50).Seconds(), "p50-s")
			b.ReportMetric(pct(0.99).Seconds(), "p99-s")
			b.ReportMetric(float64(hwm), "queue-hwm")
			b.ReportMetric(0, "ns/op") // one op is a whole batch: builds/s says more
		})
	}
}

// balancedRepos returns n repositories under prefix that the gateway's
// placement spreads evenly over workers.
func balancedRepos(b *testing.B, workers []string, prefix string, n int) []string {
	b.Helper()
	var members []pool.Member
	for _, w := range workers {
		members = append(members, pool.Member{Addr: w, Pinger: pool.PingFunc(func(context.Context) error { return nil })})
	}
	p, err := pool.New(members)
	if err != nil {
		b.Fatal(err)
	}
	per := map[string]int{}
	var repos []string
	for i := 0; len(repos) < n; i++ {
		if i > 1000 {
			b.Fatalf("no even spread of %d repositories under %s", n, prefix)
		}
		repo := fmt.Sprintf("%s-%d", prefix, i)
		w := p.Order(builder.PlacementKey(hallmark.BuildRequest{Repository: repo}))[0].Addr()
		if per[w] < n/len(workers) {
			per[w]++
			repos = append(repos, repo)
		}
	}
	return repos
}
