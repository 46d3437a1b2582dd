package vuln

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/hallmark-dev/hallmark/vuln/osv"
)

// rec parses a record of one affected package with the ranges given as
// JSON, for the evaluation tests.
func rec(t testing.TB, id, eco, name, ranges string, extra ...string) osv.Record {
	t.Helper()
	more := ""
	if len(extra) > 0 {
		more = ", " + strings.Join(extra, ", ")
	}
	js := fmt.Sprintf(`{"id": %q, "modified": "2024-05-01T00:00:00Z", "summary": "s", "affected": [{"package": {"ecosystem": %q, "name": %q}, %s}]%s}`,
		id, eco, name, ranges, more)
	r, _, err := osv.Parse([]byte(js))
	if err != nil {
		t.Fatalf("%s: %v", js, err)
	}
	return r
}

// TestEvaluate checks the OSV schema's evaluation, range by range.
func TestEvaluate(t *testing.T) {
	tests := []struct {
		name, eco, ranges string
		affected, clean   []string
		fixed             string // the fix reported for the first affected version
	}{
		{"introduced fixed", "PyPI", `"ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "1.0"}, {"fixed": "1.2.post1"}]}]`,
			[]string{"1.0", "1.1", "1.2", "1.2rc1"}, []string{"0.9", "1.0rc1", "1.2.post1", "1.3", "2!0.1"}, "1.2.post1"},
		{"two intervals, events unsorted", "npm", `"ranges": [{"type": "SEMVER", "events": [{"introduced": "3.0.0"}, {"fixed": "3.2.5"}, {"introduced": "1.0.0"}, {"fixed": "1.0.2"}]}]`,
			[]string{"1.0.0", "1.0.1", "3.0.0", "3.2.4"}, []string{"0.9.0", "1.0.2", "2.0.0", "3.2.5", "4.0.0"}, "1.0.2"},
		{"last_affected", "Maven", `"ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"last_affected": "2.1.214"}]}]`,
			[]string{"1.0", "2.1.214", "2.1.214-SNAPSHOT"}, []string{"2.1.215", "2.2"}, ""},
		{"never fixed", "RubyGems", `"ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}]}]`,
			[]string{"0.0.1", "99.0"}, nil, ""},
		{"limit", "crates.io", `"ranges": [{"type": "SEMVER", "events": [{"introduced": "1.0.0"}, {"limit": "1.5.0"}]}]`,
			[]string{"1.0.0", "1.4.9"}, []string{"0.9.0", "1.5.0", "2.0.0"}, ""},
		{"limit star", "crates.io", `"ranges": [{"type": "SEMVER", "events": [{"introduced": "1.0.0"}, {"limit": "*"}]}]`,
			[]string{"1.0.0", "9.0.0"}, []string{"0.1.0"}, ""},
		{"versions list", "NuGet", `"versions": ["4.0.0-Beta", "4.0.1"]`,
			[]string{"4.0.0-Beta", "4.0.1"}, []string{"4.0.0-beta", "4.0.0"}, ""},
		{"git ranges only", "Go", `"ranges": [{"type": "GIT", "repo": "https://example.invalid/r", "events": [{"introduced": "0"}]}]`,
			nil, []string{"1.0.0"}, ""},
		{"SEMVER in an ecosystem of its own", "Packagist", `"ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "5.4.23"}]}]`,
			[]string{"5.4.22"}, []string{"5.4.23"}, "5.4.23"},
		{"one range of several", "Go", `"ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "1.1.0"}]}, {"type": "SEMVER", "events": [{"introduced": "2.0.0"}, {"fixed": "2.0.3"}]}]`,
			[]string{"1.0.9", "2.0.2", "2.0.1-0.20240101000000-abcdefabcdef"}, []string{"1.1.0", "1.9.0", "2.0.0-0.20240101000000-abcdefabcdef", "2.0.3"}, "1.1.0"},
	}
	names := map[string]string{"PyPI": "pkg", "npm": "pkg", "Maven": "g:a", "RubyGems": "pkg", "crates.io": "pkg", "NuGet": "Pkg", "Go": "example.com/m", "Packagist": "v/p"}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			db := New().Add(osv.ImportInfo{}, []osv.Record{rec(t, "TEST-1", tc.eco, names[tc.eco], tc.ranges)})
			pkgOf := func(v string) Package {
				p := Package{Version: v}
				switch tc.eco {
				case "PyPI":
					p.Type, p.Name = "pypi", "pkg"
				case "npm":
					p.Type, p.Name = "npm", "pkg"
				case "Maven":
					p.Type, p.Namespace, p.Name = "maven", "g", "a"
				case "RubyGems":
					p.Type, p.Name = "gem", "pkg"
				case "crates.io":
					p.Type, p.Name = "cargo", "pkg"
				case "NuGet":
					p.Type, p.Name = "nuget", "pkg"
				case "Go":
					p.Type, p.Namespace, p.Name = "golang", "example.com", "m"
				case "Packagist":
					p.Type, p.Namespace, p.Name = "composer", "v", "p"
				}
				p.PURL = p.Type + ":" + p.Name + "@" + v
				return p
			}
			for i, v := range tc.affected {
				fs := db.Match([]Package{pkgOf(v)})
				if len(fs) != 1 {
					t.Errorf("%s %s: %d findings, want 1", tc.eco, v, len(fs))
					continue
				}
				if i == 0 && strings.Join(fs[0].Fixed, " ") != tc.fixed {
					t.Errorf("%s %s: fixed %q, want %q", tc.eco, v, fs[0].Fixed, tc.fixed)
				}
			}
			for _, v := range tc.clean {
				if fs := db.Match([]Package{pkgOf(v)}); len(fs) != 0 {
					t.Errorf("%s %s: %+v, want none", tc.eco, v, fs)
				}
			}
		})
	}
}

func TestEvaluateUnevaluated(t *testing.T) {
	db := New().Add(osv.ImportInfo{}, []osv.Record{
		rec(t, "TEST-1", "PyPI", "pkg", `"ranges": [{"type": "DATE", "events": [{"introduced": "2024-01-01"}]}]`),
		rec(t, "TEST-2", "PyPI", "pkg", `"ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "not a version"}]}]`),
		rec(t, "TEST-3", "PyPI", "pkg", `"ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.0"}]}]`),
	})
	rep := db.Scan([]Package{{PURL: "pkg:pypi/pkg@1.5", Type: "pypi", Name: "pkg", Version: "1.5"}})
	var got []string
	for _, u := range rep.Unchecked {
		got = append(got, u.Advisory+": "+u.Reason)
	}
	want := []string{`TEST-1: range type "DATE" is not evaluated`, `TEST-2: fixed "not a version" does not parse as a pep440 version`}
	if !slices.Equal(got, want) || len(rep.Findings) != 0 {
		t.Errorf("unchecked = %q, want %q; findings %+v", got, want, rep.Findings)
	}
	if w := strings.Join(db.Warnings(), "\n"); !strings.Contains(w, "record TEST-2: PyPI pkg: range 0 not evaluated") {
		t.Errorf("warnings = %q", db.Warnings())
	}
}

func TestEvaluateUnorderedEcosystem(t *testing.T) {
	db := New().Add(osv.ImportInfo{}, []osv.Record{
		rec(t, "OSV-1", "OSS-Fuzz", "libfoo", `"ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}]}]`),
		rec(t, "OSV-2", "OSS-Fuzz", "libbar", `"ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}]}]`),
	})
	if w := db.Warnings(); len(w) != 1 || w[0] != `ecosystem "OSS-Fuzz" has no version ordering: 2 affected packages not matched` {
		t.Errorf("warnings = %q", w)
	}
}
