package ui

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

var appURL = "/ui/images/" + teamA + "@" + string(digest("a"))

func TestImagePage(t *testing.T) {
	db := openStore(t)
	fixture(t, db, 3, 2)
	srv := newServer(t, db)
	resp, body := get(t, srv, "team-a", appURL)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	for _, want := range []string{
		`<span class="tag">v1</span>`,
		`<strong class="policy">production</strong>: <span class="outcome">denied</span>`,
		`<code class="rule">vulnerabilities</code>`,
		`<a class="base-link" href="/ui/images/reg.example/base@` + string(digest("1")) + `">reg.example/base:12</a>`,
		`<td class="name">requests</td><td>2.31.0</td>`,
		`<td class="name">openssl</td><td>3.0.11</td><td>openssl</td><td>base</td>`,
		`<td class="name">libc6</td><td>2.36-9</td><td>glibc</td><td>base</td>`,
		`not reachable`,
		`leaks &lt;b&gt;headers&lt;/b&gt;`,
		`https://git.example/reg.example/team-a/app at <code>cccccccccccccccccccccccccccccccccccccccc</code>`,
		`buildkitd-0`, `took 42s`, `<td>42</td>`,
		`Vulnerabilities (2 open)`,
		`Packages (7)`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("image page lacks %q", want)
		}
	}
	if strings.Contains(body, "until") {
		t.Error("an exception without expiry shows one")
	}
	if strings.Contains(body, `id="sign-out"`) {
		t.Error("a bearer-token caller is offered to sign out")
	}
	if n := strings.Count(body, `<tr class="finding">`); n != 2 {
		t.Errorf("%d findings shown, want 2", n)
	}
}

func TestImagePageEscapes(t *testing.T) {
	db := openStore(t)
	fixture(t, db, 0, 0)
	srv := newServer(t, db)
	_, body := get(t, srv, "team-a", appURL)
	if strings.Contains(body, "<script>") {
		t.Error("a package name was written as markup")
	}
	if !strings.Contains(body, `<td class="name">&lt;script&gt;alert(1)&lt;/script&gt;</td>`) {
		t.Error("the package named <script>… is not shown as text")
	}
	// A search for markup is echoed as text too.
	_, body = get(t, srv, "team-a", appURL+"?q="+url.QueryEscape(`"><script>x</script>`))
	if strings.Contains(body, "<script>") {
		t.Error("the search was written as markup")
	}
}

func TestAuthorization(t *testing.T) {
	db := openStore(t)
	fixture(t, db, 0, 0)
	srv := newServer(t, db)
	missing := "/ui/images/" + teamA + "@" + string(digest("f"))
	tests := []struct {
		name, token, path string
		want              int
	}{
		{"reader", "team-a", appURL, http.StatusOK},
		{"readable repository, unknown image", "team-a", missing, http.StatusNotFound},
		{"other team, image exists", "team-b", appURL, http.StatusForbidden},
		{"other team, image does not exist", "team-b", missing, http.StatusForbidden},
		{"other team, tag", "team-b", "/ui/images/" + teamA + ":v1", http.StatusForbidden},
		{"reads nothing, list", "nobody", "/ui/images", http.StatusForbidden},
		{"reads nothing, image", "nobody", appURL, http.StatusForbidden},
		{"no token", "", appURL, http.StatusUnauthorized},
		{"bad token", "forged", appURL, http.StatusUnauthorized},
		{"not a reference", "team-a", "/ui/images/UPPER@@x", http.StatusBadRequest},
	}
	bodies := map[int]string{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := get(t, srv, tt.token, tt.path)
			if resp.StatusCode != tt.want {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.want)
			}
			if tt.want == http.StatusForbidden && strings.Contains(tt.name, "other team") {
				if prev, ok := bodies[tt.want]; ok && prev != body {
					t.Error("the 403 page differs whether the image exists or not")
				}
				bodies[tt.want] = body
				if strings.Contains(body, "v1") || strings.Contains(body, "requests") {
					t.Error("the 403 page shows what it refuses")
				}
			}
			if tt.want == http.StatusUnauthorized && resp.Header.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
		})
	}
}

func TestSecurityHeaders(t *testing.T) {
	db := openStore(t)
	fixture(t, db, 0, 0)
	srv := newServer(t, db)
	for _, path := range []string{appURL, "/ui/images", "/ui/static/style.css", "/ui/builds"} {
		for _, token := range []string{"team-a", "", "nobody"} {
			resp, _ := get(t, srv, token, path)
			h := resp.Header
			if got := h.Get("Content-Security-Policy"); got != contentSecurityPolicy {
				t.Errorf("%s (%q): Content-Security-Policy %q", path, token, got)
			}
			if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Referrer-Policy") != "no-referrer" {
				t.Errorf("%s (%q): headers %v", path, token, h)
			}
		}
	}
	if !strings.Contains(contentSecurityPolicy, "default-src 'none'") || !strings.Contains(contentSecurityPolicy, "script-src 'self';") ||
		strings.Contains(contentSecurityPolicy, "unsafe") {
		t.Errorf("policy %q", contentSecurityPolicy)
	}
}

func TestCrossSiteWriteRefused(t *testing.T) {
	db := openStore(t)
	srv := newServer(t, db)
	for _, tt := range []struct {
		name    string
		headers map[string]string
		want    int
	}{
		{"no origin", nil, http.StatusForbidden},
		{"other origin", map[string]string{"Origin": "https://evil.example"}, http.StatusForbidden},
		{"cross-site fetch", map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": srv.URL}, http.StatusForbidden},
		{"same origin", map[string]string{"Origin": srv.URL}, http.StatusMethodNotAllowed},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, srv.URL+"/ui/images", nil)
			for k, v := range tt.headers {
				req.Header.Set(k, v)
			}
			req.Header.Set("Authorization", "Bearer team-a")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.want)
			}
		})
	}
}

func TestTagRedirects(t *testing.T) {
	db := openStore(t)
	fixture(t, db, 0, 0)
	srv := newServer(t, db)
	resp, _ := get(t, srv, "team-a", "/ui/images/"+teamA+":v1?q=ssl")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != appURL+"?q=ssl" {
		t.Errorf("status %d, location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, _ = get(t, srv, "team-a", "/ui/images/"+teamA+":nope")
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown tag: status %d", resp.StatusCode)
	}
}

var packageRowRE = regexp.MustCompile(`<tr class="package"><td>[^<]*</td><td class="name">([^<]*)</td>`)

func names(body string) []string {
	var out []string
	for _, m := range packageRowRE.FindAllStringSubmatch(body, -1) {
		out = append(out, m[1])
	}
	return out
}

func TestPackageTable(t *testing.T) {
	db := openStore(t)
	fixture(t, db, 246, 0) // 250 packages
	srv := newServer(t, db)
	tests := []struct {
		name, query string
		rows        int
		first, last string
		next        bool
	}{
		{"first page", "", 100, "&lt;script&gt;alert(1)&lt;/script&gt;", "lib0098", true},
		{"last page", "?page=3", 50, "lib0199", "requests", false},
		{"page past the end is the last", "?page=99", 50, "lib0199", "requests", false},
		{"search", "?q=lib01", 100, "lib0100", "lib0199", false},
		{"search is case-blind", "?q=OPENSSL", 1, "openssl", "openssl", false},
		{"sort descending", "?sort=-name", 100, "requests", "lib0149", true},
		{"sort by source", "?sort=source&q=libc", 1, "libc6", "libc6", false},
		{"unknown sort is by name", "?sort=evil", 100, "&lt;script&gt;alert(1)&lt;/script&gt;", "lib0098", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := get(t, srv, "team-a", appURL+tt.query)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d", resp.StatusCode)
			}
			got := names(body)
			if len(got) != tt.rows || got[0] != tt.first || got[len(got)-1] != tt.last {
				t.Fatalf("%d rows, %q … %q; want %d, %q … %q", len(got), first(got), last(got), tt.rows, tt.first, tt.last)
			}
			if hasNext := strings.Contains(body, `rel="next">Next</a>`); hasNext != tt.next {
				t.Errorf("next link %v, want %v", hasNext, tt.next)
			}
		})
	}
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

func last(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[len(s)-1]
}
