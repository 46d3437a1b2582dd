package ui

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	hallmark "github.com/hallmark-dev/hallmark"
)

func TestBundleDownload(t *testing.T) {
	db := openStore(t)
	fixture(t, db, 0, 0)
	referrer := digest("ea1") // the fixture's attestation of build a1
	var asked []string
	fail := false
	bundle := func(_ context.Context, repo string, ref hallmark.Digest) ([]byte, error) {
		asked = append(asked, repo+"@"+string(ref))
		if fail {
			return nil, errors.New("registry down")
		}
		return []byte(`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json"}`), nil
	}
	h, err := New(Deps{Authenticate: authenticate, Reader: reader, Store: db, Bundle: bundle})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()

	_, page := get(t, srv, "team-a", appURL)
	// html/template escapes the query in lower case.
	link := `href="` + appURL + `?bundle=sha256%3a` + referrer.Hex() + `"`
	if !strings.Contains(page, link) {
		t.Fatalf("the attestations table lacks the bundle link %s", link)
	}
	resp, body := get(t, srv, "team-a", appURL+"?bundle="+string(referrer))
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != hallmark.MediaTypeBundleV03 ||
		resp.Header.Get("Content-Disposition") != `attachment; filename="`+referrer.Hex()[:12]+`.sigstore.json"` || !strings.Contains(body, "bundle.v0.3") {
		t.Errorf("status %d, headers %v: %s", resp.StatusCode, resp.Header, body)
	}
	for _, tt := range []struct {
		name, token, query string
		want               int
	}{
		{"not an attestation of the image", "team-a", "?bundle=" + string(digest("b")), http.StatusNotFound},
		{"not a digest", "team-a", "?bundle=latest", http.StatusBadRequest},
		{"other team", "team-b", "?bundle=" + string(referrer), http.StatusForbidden},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if resp, _ := get(t, srv, tt.token, appURL+tt.query); resp.StatusCode != tt.want {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.want)
			}
		})
	}
	if len(asked) != 1 || asked[0] != teamA+"@"+string(referrer) {
		t.Errorf("registry asked for %q", asked)
	}
	fail = true
	if resp, body := get(t, srv, "team-a", appURL+"?bundle="+string(referrer)); resp.StatusCode != http.StatusBadGateway || strings.Contains(body, "registry down") {
		t.Errorf("a failed fetch: %d", resp.StatusCode)
	}
	if _, page := get(t, newServer(t, db), "team-a", appURL); strings.Contains(page, `class="bundle"`) {
		t.Error("bundle links without a registry to read them from")
	}
}
