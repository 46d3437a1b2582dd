package ui

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	hallmark "github.com/hallmark-dev/hallmark"
)

func TestReverify(t *testing.T) {
	db := openStore(t)
	fixture(t, db, 0, 0)
	var calls []string
	fail := false
	reverify := func(_ context.Context, id hallmark.Identity, repo string, d hallmark.Digest) ([]Verdict, error) {
		calls = append(calls, id.Subject+" "+repo+"@"+string(d))
		if fail {
			return nil, errors.New("registry down")
		}
		return []Verdict{{Policy: "production", Allowed: false, Reasons: []string{"rule <b>x</b> failed"},
			Rules: []RuleOutcome{{Name: "signers", Passed: true}, {Name: "no-critical", Passed: false, Message: "CVE-1 is critical"}}}}, nil
	}
	h, err := New(Deps{Authenticate: authenticate, Reader: reader, Store: db, Reverify: reverify})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	post := func(token, image string, origin bool) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/ui/reverify", strings.NewReader(url.Values{"image": {image}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Authorization", "Bearer "+token)
		if origin {
			req.Header.Set("Origin", srv.URL)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	image := teamA + "@" + string(digest("a"))

	if _, body := get(t, srv, "team-a", appURL); !strings.Contains(body, `<button id="reverify"`) {
		t.Error("the image page offers no re-verify button")
	}
	code, body := post("team-a", image, true)
	if code != http.StatusOK || !strings.Contains(body, `<code>no-critical</code></td><td class="outcome-denied">failed</td><td>CVE-1 is critical</td>`) ||
		!strings.Contains(body, `<code>signers</code></td><td class="outcome-allowed">passed</td>`) || !strings.Contains(body, "rule &lt;b&gt;x&lt;/b&gt; failed") {
		t.Errorf("status %d: %s", code, body)
	}
	if len(calls) != 1 || calls[0] != "team-a "+image {
		t.Errorf("calls %q", calls)
	}
	for _, tt := range []struct {
		name, token, image string
		origin             bool
		want               int
	}{
		{"cross-site", "team-a", image, false, http.StatusForbidden},
		{"other team", "team-b", image, true, http.StatusForbidden},
		{"a tag, not a digest", "team-a", teamA + ":v1", true, http.StatusBadRequest},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if code, _ := post(tt.token, tt.image, tt.origin); code != tt.want {
				t.Errorf("status %d, want %d", code, tt.want)
			}
		})
	}
	if len(calls) != 1 {
		t.Errorf("refused requests verified: %q", calls)
	}
	fail = true
	if code, body := post("team-a", image, true); code != http.StatusBadGateway || strings.Contains(body, "registry down") {
		t.Errorf("a failed verification: %d %s", code, body)
	}

	// Without Reverify there is neither button nor endpoint.
	plain := newServer(t, db)
	if _, body := get(t, plain, "team-a", appURL); strings.Contains(body, `id="reverify"`) {
		t.Error("a button without a verifier")
	}
}
