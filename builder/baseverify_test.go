package builder

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	hallmark "github.com/hallmark-dev/hallmark"
)

type fakeBaseVerifier struct {
	mu      sync.Mutex
	seen    []string
	verdict func(pinned string) (BaseVerdict, error)
}

func (f *fakeBaseVerifier) VerifyBase(_ context.Context, pinned string) (BaseVerdict, error) {
	f.mu.Lock()
	f.seen = append(f.seen, pinned)
	f.mu.Unlock()
	return f.verdict(pinned)
}

func TestVerifyBases(t *testing.T) {
	info, err := InspectDockerfile([]byte("FROM registry.example/golang:1 AS build\nFROM registry.example/static:v1\nCOPY --from=build /x /x\n"), nil, "")
	if err != nil {
		t.Fatal(err)
	}
	bases := []hallmark.ResolvedBase{
		{Ref: "registry.example/golang:1", Pinned: "registry.example/golang@sha256:" + strings.Repeat("a", 64), Digest: hallmark.Digest("sha256:" + strings.Repeat("a", 64))},
		{Ref: "registry.example/static:v1", Pinned: "registry.example/static@sha256:" + strings.Repeat("b", 64), Digest: hallmark.Digest("sha256:" + strings.Repeat("b", 64))},
	}
	for _, tc := range []struct {
		name    string
		verdict func(string) (BaseVerdict, error)
		policy  string
		err     error
		msg     []string
	}{
		{"all attested", func(string) (BaseVerdict, error) { return BaseVerdict{Allowed: true, Policy: "bases"}, nil }, "bases", nil, nil},
		{"one unattested", func(p string) (BaseVerdict, error) {
			if strings.Contains(p, "golang") {
				return BaseVerdict{Policy: "bases", Reasons: []string{`rule "signers": the image has no attestations`}}, nil
			}
			return BaseVerdict{Allowed: true, Policy: "bases"}, nil
		}, "", hallmark.ErrInvalid, []string{`stage "build" (line 1)`, "registry.example/golang:1", `policy "bases"`, "no attestations"}},
		{"could not verify", func(string) (BaseVerdict, error) {
			return BaseVerdict{}, fmt.Errorf("list referrers: %w", hallmark.ErrUnavailable)
		}, "", hallmark.ErrUnavailable, []string{"verify base image"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeBaseVerifier{verdict: tc.verdict}
			b := &Builder{opts: options{baseVerifier: f}}
			policy, err := b.verifyBases(t.Context(), info, bases)
			if !errors.Is(err, tc.err) || (tc.err == nil && err != nil) || policy != tc.policy {
				t.Fatalf("verifyBases = %q, %v; want %q, %v", policy, err, tc.policy, tc.err)
			}
			for _, m := range tc.msg {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q lacks %q", err, m)
				}
			}
			if len(f.seen) != len(bases) {
				t.Errorf("verified %v, want every pinned base", f.seen)
			}
		})
	}
	none := &Builder{}
	if p, err := none.verifyBases(t.Context(), info, bases); p != "" || err != nil {
		t.Errorf("without a verifier: %q, %v", p, err)
	}
}
