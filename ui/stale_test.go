package ui

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hallmark-dev/hallmark/store"
)

func TestStaleFilter(t *testing.T) {
	db := openStore(t)
	fixture(t, db, 0, 0)
	var moved []store.Base
	stale := func(_ context.Context, can func(string) bool) ([]store.Base, []string, error) {
		if can == nil || can("reg.example/team-b/x") {
			t.Error("the stale filter got another read scope than the viewer's")
		}
		return moved, []string{"reg.example/gone:1: not found"}, nil
	}
	h, err := New(Deps{Authenticate: authenticate, Reader: reader, Store: db, Stale: stale})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()

	resp, body := get(t, srv, "team-a", "/ui/images?stale=1")
	if resp.StatusCode != http.StatusOK || strings.Contains(body, "<td><a href=") || !strings.Contains(body, "reg.example/gone:1: not found") {
		t.Errorf("no base moved: status %d, want an empty list and the unresolved reference", resp.StatusCode)
	}
	if !strings.Contains(body, `name="stale" value="1" checked`) {
		t.Error("the stale box is not checked")
	}
	moved = []store.Base{{Ref: baseRep + ":12", Digest: digest("5")}}
	_, body = get(t, srv, "team-a", "/ui/images?stale=1")
	if got := imageLinkRE.FindAllStringSubmatch(body, -1); len(got) != 1 || got[0][1] != teamA {
		t.Errorf("stale images %q, want %s", got, teamA)
	}
	if _, body := get(t, newServer(t, db), "team-a", "/ui/images"); strings.Contains(body, `name="stale"`) {
		t.Error("a stale filter without a resolver")
	}
}
