package server

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"

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
