package server

import (
	"maps"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hallmark-dev/hallmark/builder"
	"github.com/hallmark-dev/hallmark/internal/version"
)

func TestBuildInfoMetric(t *testing.T) {
	reg := prometheus.NewRegistry()
	if _, err := NewMetrics(reg); err != nil {
		t.Fatal(err)
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	build := version.Get()
	want := map[string]string{
		"version":          build.Version,
		"revision":         build.RevisionLabel(),
		"go_version":       build.GoVersion,
		"buildkit_version": build.BuildKit,
	}
	for _, f := range families {
		if f.GetName() != "hallmark_build_info" {
			continue
		}
		if len(f.GetMetric()) != 1 {
			t.Fatalf("%d hallmark_build_info series, want 1", len(f.GetMetric()))
		}
		m := f.GetMetric()[0]
		if v := m.GetGauge().GetValue(); v != 1 {
			t.Errorf("hallmark_build_info = %v, want 1", v)
		}
		got := map[string]string{}
		for _, l := range m.GetLabel() {
			got[l.GetName()] = l.GetValue()
		}
		if len(got) != len(want) {
			t.Errorf("labels %v, want %v", got, want)
		}
		for k, v := range want {
			if got[k] != v || v == "" {
				t.Errorf("label %s = %q, want %q (non-empty)", k, got[k], v)
			}
		}
		return
	}
	t.Fatal("no hallmark_build_info metric")
}

// TestVerificationGauges: what the evaluator reports (the observer of
// verify.WithConcurrencyObserver) is what /metrics serves.
func TestVerificationGauges(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	m.ObserveVerifications(3, 16)
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range families {
		if len(f.GetMetric()) == 1 {
			got[f.GetName()] = f.GetMetric()[0].GetGauge().GetValue()
		}
	}
	if got["hallmark_verifications_waiting"] != 3 || got["hallmark_verifications_running"] != 16 {
		t.Errorf("waiting %v, running %v; want 3 and 16", got["hallmark_verifications_waiting"], got["hallmark_verifications_running"])
	}
}

func TestContextsCollectedMetric(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int64{100, 0, 23} {
		m.ObserveContextsCollected(n)
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() == "hallmark_context_collected_bytes_total" {
			if got := f.GetMetric()[0].GetCounter().GetValue(); got != 123 {
				t.Errorf("hallmark_context_collected_bytes_total = %v, want 123", got)
			}
			return
		}
	}
	t.Fatal("no hallmark_context_collected_bytes_total metric")
}

// TestWorkerMetrics: each worker's numbers are served under its address;
// the failure counter adds what the pool counted since the last report.
func TestWorkerMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	const a, b = "tcp://buildkitd-0:1234", "unix:///run/b.sock"
	for _, s := range []builder.WorkerStats{
		{Addr: a, Waiting: 1, Running: 2, Healthy: true},
		{Addr: b, Healthy: true},
		{Addr: b, Healthy: false, Failures: 1},
		{Addr: b, Healthy: false, Failures: 3},
		{Addr: b, Healthy: false, Failures: 3}, // no new failure
		{Addr: a, Waiting: 4, Running: 2, Healthy: true},
	} {
		m.ObserveWorker(s)
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range families {
		for _, s := range f.GetMetric() {
			for _, l := range s.GetLabel() {
				if l.GetName() == "worker" {
					got[f.GetName()+" "+l.GetValue()] = s.GetGauge().GetValue() + s.GetCounter().GetValue()
				}
			}
		}
	}
	want := map[string]float64{
		"hallmark_buildkit_worker_queue_depth " + a: 4, "hallmark_buildkit_worker_builds_running " + a: 2,
		"hallmark_buildkit_worker_healthy " + a: 1, "hallmark_buildkit_worker_failures_total " + a: 0,
		"hallmark_buildkit_worker_queue_depth " + b: 0, "hallmark_buildkit_worker_builds_running " + b: 0,
		"hallmark_buildkit_worker_healthy " + b: 0, "hallmark_buildkit_worker_failures_total " + b: 3,
	}
	if !maps.Equal(got, want) {
		t.Errorf("worker metrics = %v\nwant %v", got, want)
	}
}
