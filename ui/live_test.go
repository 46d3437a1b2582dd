package ui

import (
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	hallmark "github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/store"
)

// startRunning records build id of repo as running since t0, building.
func startRunning(t *testing.T, db *store.DB, id, repo string) *store.Build {
	t.Helper()
	b := &store.Build{
		ID: id, Kind: store.KindBuild, Repository: repo, Outcome: store.OutcomeRunning,
		Requester: hallmark.Identity{Issuer: "https://ci.example", Subject: "repo:" + repo},
		Started:   t0, Progress: &store.Progress{Phase: store.PhaseBuilding, Step: "[2/3] RUN <make>", Done: 5, Total: 9, Updated: t0},
	}
	if err := db.StartBuild(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	return b
}

// scriptTags are the <script> elements of a page.
var scriptTags = regexp.MustCompile(`<script[^>]*>`)

// TestBuildsLive: a running build's row names its phase and steps and the
// page loads the one script that redraws it; GET /ui/builds/status gives
// its row until it ends and then the finished row; nobody sees another
// team's build there.
func TestBuildsLive(t *testing.T) {
	db := openStore(t)
	fixture(t, db, 0, 0)
	srv := newServer(t, db)
	if _, body := get(t, srv, "team-a", "/ui/builds"); strings.Contains(body, "<script") || strings.Contains(body, "data-running") {
		t.Fatalf("a list with no running build loads a script:\n%s", body)
	}
	startRunning(t, db, "r1", teamA)
	startRunning(t, db, "rb", "reg.example/team-b/other")
	_, body := get(t, srv, "team-a", "/ui/builds")
	for _, w := range []string{`<tr id="build-r1" data-running="r1">`, `running: building 5/9 · [2/3] RUN &lt;make&gt;`, `<script src="/ui/static/live.js" defer></script>`, `<noscript><meta http-equiv="refresh" content="5"></noscript>`} {
		if !strings.Contains(body, w) {
			t.Errorf("list lacks %q", w)
		}
	}
	if tags := scriptTags.FindAllString(body, -1); len(tags) != 1 {
		t.Errorf("scripts %q, want live.js alone", tags)
	}
	if strings.Contains(body, `data-running="rb"`) {
		t.Errorf("team-a sees team-b's running build")
	}
	if resp, body := get(t, srv, "team-a", "/ui/builds?outcome=running"); resp.StatusCode != http.StatusOK ||
		!strings.Contains(body, `data-running="r1"`) || strings.Contains(body, "<code>a1</code>") || !strings.Contains(body, `<option value="running" selected>`) {
		t.Errorf("running builds only: %d", resp.StatusCode)
	}
	if resp, _ := get(t, srv, "team-a", "/ui/builds?outcome=maybe"); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("unknown outcome: %d, want 400", resp.StatusCode)
	}
	if resp, js := get(t, srv, "team-a", "/ui/static/live.js"); resp.StatusCode != http.StatusOK || !strings.Contains(js, "/ui/builds/status") || strings.Contains(js, "innerHTML") {
		t.Errorf("live.js: %d, %d bytes", resp.StatusCode, len(js))
	}

	status := func(token, query string) (int, []buildRow) {
		t.Helper()
		resp, body := get(t, srv, token, "/ui/builds/status?"+query)
		var rows []buildRow
		if resp.StatusCode == http.StatusOK {
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("content type %q", ct)
			}
			if err := json.Unmarshal([]byte(body), &rows); err != nil {
				t.Fatalf("status body %q: %v", body, err)
			}
		}
		return resp.StatusCode, rows
	}
	code, rows := status("team-a", "id=r1&id=rb&id=a1")
	if code != http.StatusOK || len(rows) != 2 {
		t.Fatalf("status: %d %+v; want r1 and a1", code, rows)
	}
	for _, r := range rows {
		switch r.ID {
		case "r1":
			if !r.Running || r.Outcome != store.OutcomeRunning || r.ImageURL != "" || r.Took == "" || !strings.Contains(r.Status, "RUN <make>") {
				t.Errorf("running row %+v", r)
			}
		case "a1":
			if r.Running || r.Outcome != store.OutcomeSucceeded || r.ImageURL != imageURL(teamA, digest("a")) || r.Took != "42s" {
				t.Errorf("finished row %+v", r)
			}
		default:
			t.Errorf("row of %s", r.ID)
		}
	}
	if code, rows := status("team-b", "id=r1"); code != http.StatusOK || len(rows) != 0 {
		t.Errorf("team-b asking for team-a's build: %d %+v", code, rows)
	}

	// It ends: the same request now gives the finished row.
	record(t, db, "r1", teamA, "v2", digest("f"), 0, nil)
	if _, rows := status("team-a", "id=r1"); len(rows) != 1 || rows[0].Running || rows[0].Outcome != store.OutcomeSucceeded || rows[0].Image != teamA+"@"+shortDigest(digest("f")) {
		t.Errorf("ended row %+v", rows)
	}

	tooMany := strings.Repeat("id=x&", maxLiveBuilds+1)
	for _, c := range []struct {
		token, query string
		want         int
	}{
		{"team-a", "", http.StatusBadRequest},
		{"team-a", tooMany, http.StatusBadRequest},
		{"team-a", "id=" + strings.Repeat("x", maxFilterBytes+1), http.StatusBadRequest},
		{"", "id=r1", http.StatusUnauthorized},
	} {
		if code, _ := status(c.token, c.query); code != c.want {
			t.Errorf("%q %.40q: %d, want %d", c.token, c.query, code, c.want)
		}
	}
}

func TestRowOf(t *testing.T) {
	now := t0.Add(75 * time.Second)
	for _, c := range []struct {
		b                  store.Build
		status, took, link string
	}{
		{store.Build{ID: "q", Repository: teamA, Outcome: store.OutcomeRunning, Started: t0, Progress: &store.Progress{Phase: store.PhaseQueued, Queue: 2}},
			"running: queued, 2 ahead", "1m15s", ""},
		{store.Build{ID: "a", Repository: teamA, Outcome: store.OutcomeRunning, Started: t0, Progress: &store.Progress{Phase: store.PhaseAttesting}},
			"running: attesting", "1m15s", ""},
		{store.Build{ID: "f", Repository: teamA, Outcome: store.OutcomeFailed, Error: "invalid_argument: no FROM", Started: t0, Finished: t0.Add(3 * time.Second)},
			"failed: invalid_argument: no FROM", "3s", ""},
		{store.Build{ID: "s", Repository: teamA, Digest: digest("a"), Outcome: store.OutcomeSucceeded, Started: t0, Finished: t0.Add(time.Second)},
			"succeeded", "1s", imageURL(teamA, digest("a"))},
	} {
		r := rowOf(c.b, now)
		if r.Status != c.status || r.Took != c.took || r.ImageURL != c.link || r.Running != (c.b.Outcome == store.OutcomeRunning) {
			t.Errorf("%s: %+v; want %q %q %q", c.b.ID, r, c.status, c.took, c.link)
		}
	}
}
