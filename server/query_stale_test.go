package server

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"

	"connectrpc.com/connect"

	hallmark "github.com/hallmark-dev/hallmark"
	hallmarkv1 "github.com/hallmark-dev/hallmark/proto/hallmark/v1"
)

// fakeTags answers Resolve from a map; a ref missing from it is
// unavailable. It counts calls per ref.
type fakeTags struct {
	digests map[string]hallmark.Digest
	mu      sync.Mutex
	calls   map[string]int
}

func (f *fakeTags) Resolve(_ context.Context, ref string) (hallmark.Digest, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.calls == nil {
		f.calls = map[string]int{}
	}
	f.calls[ref]++
	d, ok := f.digests[ref]
	if !ok {
		return "", fmt.Errorf("resolve %s: %w: dial tcp 10.0.0.1:443: secret-internal-host refused", ref, hallmark.ErrUnavailable)
	}
	return d, nil
}

func TestQueryStale(t *testing.T) {
	tags := &fakeTags{digests: map[string]hallmark.Digest{
		"reg.example/base:12":       fixDigest("5"), // moved: team-a's images are stale
		"reg.example/golang:1.26":   fixDigest("9"), // unchanged
		"reg.example/team-a/app:v1": fixDigest("a"), // unchanged: team-c/svc is not stale
		// reg.example/alpine:3.20 does not resolve
	}}
	e := newQueryEnv(t, WithTagResolver(tags))
	tests := []struct {
		subject    string
		want       []string
		unresolved []string
		resolved   []string
	}{
		{"team-a", []string{"reg.example/team-a/app", "reg.example/team-a/worker"},
			[]string{"reg.example/alpine:3.20: the registry could not be reached"},
			[]string{"reg.example/alpine:3.20", "reg.example/base:12", "reg.example/golang:1.26", "reg.example/team-a/app:v1"}},
		// team-c may read neither the bases of team-a's images nor alpine:
		// they are not resolved for it, and team-c/svc is current.
		{"team-c", nil, nil, []string{"reg.example/team-a/app:v1"}},
	}
	for _, tt := range tests {
		t.Run(tt.subject, func(t *testing.T) {
			tags.mu.Lock()
			tags.calls = nil
			tags.mu.Unlock()
			// Caching may have answered some of them already; a fresh
			// environment answers exactly what the caller may read.
			e := newQueryEnv(t, WithTagResolver(tags))
			c, _ := e.queryClient(tt.subject)
			for range 2 { // the second call is answered from the cache
				resp, err := c.ListImages(t.Context(), connect.NewRequest(&hallmarkv1.ListImagesRequest{Stale: true}))
				if err != nil {
					t.Fatal(err)
				}
				if got := imageRepos(resp.Msg.GetImages()); !slices.Equal(got, tt.want) {
					t.Errorf("stale images %v, want %v", got, tt.want)
				}
				if got := resp.Msg.GetUnresolvedBases(); !slices.Equal(got, tt.unresolved) {
					t.Errorf("unresolved %q, want %q", got, tt.unresolved)
				}
			}
			tags.mu.Lock()
			defer tags.mu.Unlock()
			if got := slices.Sorted(maps.Keys(tags.calls)); !slices.Equal(got, tt.resolved) {
				t.Errorf("resolved %v, want %v", got, tt.resolved)
			}
			for ref, n := range tags.calls {
				if n != 1 {
					t.Errorf("%s resolved %d times, want once (cached)", ref, n)
				}
			}
		})
	}
	t.Run("combined with a filter", func(t *testing.T) {
		c, _ := e.queryClient("team-a")
		resp, err := c.ListImages(t.Context(), connect.NewRequest(&hallmarkv1.ListImagesRequest{Stale: true, Repository: "reg.example/team-a/worker"}))
		if err != nil {
			t.Fatal(err)
		}
		if got := imageRepos(resp.Msg.GetImages()); !slices.Equal(got, []string{"reg.example/team-a/worker"}) {
			t.Errorf("images %v", got)
		}
	})
}

func TestQueryStaleNothingMoved(t *testing.T) {
	tags := &fakeTags{digests: map[string]hallmark.Digest{
		"reg.example/base:12": fixDigest("1"), "reg.example/golang:1.26": fixDigest("9"), "reg.example/alpine:3.20": fixDigest("2"),
		"reg.example/team-a/app:v1": fixDigest("a"),
	}}
	e := newQueryEnv(t, WithTagResolver(tags))
	c, _ := e.queryClient("team-a")
	resp, err := c.ListImages(t.Context(), connect.NewRequest(&hallmarkv1.ListImagesRequest{Stale: true}))
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Msg.GetImages()) != 0 || len(resp.Msg.GetUnresolvedBases()) != 0 || resp.Msg.GetNextPageToken() != "" {
		t.Errorf("response %v, want nothing stale", resp.Msg)
	}
}

func TestQueryStaleWithoutResolver(t *testing.T) {
	e := newQueryEnv(t)
	c, _ := e.queryClient("team-a")
	_, err := c.ListImages(t.Context(), connect.NewRequest(&hallmarkv1.ListImagesRequest{Stale: true}))
	if connect.CodeOf(err) != connect.CodeUnavailable {
		t.Errorf("err %v, want unavailable", err)
	}
}

// TestUnresolvedReason: a reason names the class of the failure, never
// the registry's words.
func TestUnresolvedReason(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{fmt.Errorf("resolve: %w: 404 at https://reg.example/v2/x?token=s3cret", hallmark.ErrNotFound), "the registry does not have it"},
		{fmt.Errorf("resolve: %w", hallmark.ErrPermissionDenied), "the registry refused the gateway access"},
		{fmt.Errorf("resolve: %w: dial tcp", hallmark.ErrUnavailable), "the registry could not be reached"},
		{fmt.Errorf("resolve: %w", context.DeadlineExceeded), "the registry did not answer within 10s"},
		{fmt.Errorf("resolve: %w", hallmark.ErrInvalid), "not a valid image reference"},
		{fmt.Errorf("resolve: s3cret internal cause"), "could not be resolved"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := unresolvedReason(tt.err); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}
