package ui

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
)

var (
	imageLinkRE = regexp.MustCompile(`<td><a href="/ui/images/([^@"]+)@`)
	nextRE      = regexp.MustCompile(`<a href="([^"]+)" rel="next" id="next">`)
)

// walk follows a list's next links from path and returns the repositories
// linked on every page.
func walk(t *testing.T, get func(path string) string, path string) []string {
	t.Helper()
	var out []string
	for range 20 {
		body := get(path)
		for _, m := range imageLinkRE.FindAllStringSubmatch(body, -1) {
			out = append(out, m[1])
		}
		m := nextRE.FindStringSubmatch(body)
		if m == nil {
			return out
		}
		path = html.UnescapeString(m[1])
	}
	t.Fatal("more than 20 pages")
	return nil
}

func TestImagesList(t *testing.T) {
	db := openStore(t)
	fixture(t, db, 0, 2)
	record(t, db, "x1", "reg.example/team-b/other", "v1", digest("b"), 2, []string{"pkg:pypi/requests@2.31.0"})
	srv := newServer(t, db, WithPageSize(1))
	getAs := func(token string) func(string) string {
		return func(path string) string {
			resp, body := get(t, srv, token, path)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("%s: status %d", path, resp.StatusCode)
			}
			return body
		}
	}
	tests := []struct {
		name, token, path string
		want              []string
	}{
		{"all, one per page", "team-a", "/ui/images", []string{baseRep, teamA}},
		{"other team", "team-b", "/ui/images", []string{"reg.example/team-b/other"}},
		{"repository", "team-a", "/ui/images?repository=" + url.QueryEscape(teamA), []string{teamA}},
		{"package name", "team-a", "/ui/images?package=requests", []string{teamA}},
		{"package name and version", "team-a", "/ui/images?package=openssl%403.0.11", []string{baseRep, teamA}},
		{"package purl", "team-a", "/ui/images?package=" + url.QueryEscape("pkg:pypi/requests@2.31.0"), []string{teamA}},
		{"unknown package", "team-a", "/ui/images?package=nope", nil},
		{"base by tag", "team-a", "/ui/images?base=" + url.QueryEscape(baseRep+":12"), []string{teamA}},
		{"base by digest", "team-a", "/ui/images?base=" + url.QueryEscape(string(digest("1"))), []string{teamA}},
		{"newest verdict denied", "team-a", "/ui/images?verdict=denied", []string{teamA}},
		{"newest verdict allowed", "team-a", "/ui/images?verdict=allowed", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := walk(t, getAs(tt.token), tt.path)
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
	t.Run("advisory", func(t *testing.T) {
		_, body := get(t, srv, "team-a", appURL)
		m := regexp.MustCompile(`<td class="advisory">(GHSA-[0-9a-f]+)`).FindStringSubmatch(body)
		if m == nil {
			t.Fatal("no advisory on the image page")
		}
		got := walk(t, getAs("team-a"), "/ui/images?advisory="+m[1])
		if !slices.Equal(got, []string{teamA}) {
			t.Errorf("got %q", got)
		}
		if got := walk(t, getAs("team-b"), "/ui/images?advisory="+m[1]); len(got) != 0 {
			t.Errorf("team-b sees %q", got)
		}
	})
	t.Run("filters survive paging", func(t *testing.T) {
		body := getAs("team-a")("/ui/images?package=openssl")
		m := nextRE.FindStringSubmatch(body)
		if m == nil || !strings.Contains(html.UnescapeString(m[1]), "package=openssl") {
			t.Errorf("next link %q", m)
		}
		if !strings.Contains(body, `name="package" value="openssl"`) {
			t.Error("the filter form lost the filter")
		}
	})
	t.Run("bad verdict", func(t *testing.T) {
		resp, _ := get(t, srv, "team-a", "/ui/images?verdict=maybe")
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("status %d", resp.StatusCode)
		}
	})
	t.Run("bad cursor", func(t *testing.T) {
		resp, _ := get(t, srv, "team-a", "/ui/images?page=garbage")
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("status %d", resp.StatusCode)
		}
	})
}

func TestBuildsAndAudit(t *testing.T) {
	db := openStore(t)
	fixture(t, db, 0, 0)
	record(t, db, "x1", "reg.example/team-b/other", "v1", digest("b"), 2, nil)
	srv := newServer(t, db)
	tests := []struct {
		name, token, path string
		want, notWant     []string
	}{
		{"builds", "team-a", "/ui/builds", []string{"<code>a1</code>", "<code>b1</code>", `<td class="took">42s</td>`, "buildkitd-0"}, []string{"<code>x1</code>"}},
		{"builds of a repository", "team-a", "/ui/builds?repository=" + teamA, []string{"<code>a1</code>"}, []string{"<code>b1</code>"}},
		{"builds of team-b", "team-b", "/ui/builds", []string{"<code>x1</code>"}, []string{"<code>a1</code>"}},
		{"audit", "team-a", "/ui/audit", []string{"<td>verify</td>", "<td>tag</td>", "<td>build</td>"}, []string{"team-b"}},
		{"audit by kind", "team-a", "/ui/audit?kind=verify", []string{"<td>verify</td>", `<option value="verify" selected>`}, []string{"<td>tag</td>"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := get(t, srv, tt.token, tt.path)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d", resp.StatusCode)
			}
			for _, w := range tt.want {
				if !strings.Contains(body, w) {
					t.Errorf("lacks %q", w)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(body, w) {
					t.Errorf("shows %q", w)
				}
			}
		})
	}
	resp, _ := get(t, srv, "team-a", "/ui/audit?kind=evil")
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("unknown kind: status %d", resp.StatusCode)
	}
}
