package ui

import (
	"cmp"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/hallmark-dev/hallmark/store"
)

const (
	// packagesPerPage is the size of a page of the package table.
	packagesPerPage = 100
	// maxSearchBytes bounds a search of the package table.
	maxSearchBytes = 200
)

// packageRow is one package of an image's SBOM.
type packageRow struct {
	store.Package
	// FromBase says the runtime base image has it too.
	FromBase bool
}

// packageTable is a page of an image's packages, searched and sorted.
type packageTable struct {
	Rows []packageRow
	// Total is how many packages the image has; Matched how many the
	// search kept.
	Total, Matched int
	Q, Sort        string
	Page, Pages    int
	// PrevURL and NextURL are the neighbouring pages, if any; SortURLs
	// the table sorted by each column.
	PrevURL, NextURL string
	SortURLs         map[string]string
}

// packageSorts are the columns the table sorts by.
var packageSorts = map[string]func(a, b packageRow) int{
	"ecosystem": func(a, b packageRow) int { return cmp.Compare(a.Type, b.Type) },
	"name":      func(a, b packageRow) int { return cmp.Compare(a.Name, b.Name) },
	"version":   func(a, b packageRow) int { return cmp.Compare(a.Version, b.Version) },
	"source":    func(a, b packageRow) int { return cmp.Compare(a.Source, b.Source) },
	"base": func(a, b packageRow) int {
		return cmp.Compare(boolInt(a.FromBase), boolInt(b.FromBase))
	},
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// newPackageTable reads the purls of an image (unparsable ones are shown
// by their purl alone) and keeps the page q asks for: q searches the
// purl, sort names a column ("-name" sorts descending), page counts
// from 1.
func newPackageTable(base string, purls []string, fromBase map[string]bool, q url.Values) packageTable {
	t := packageTable{Total: len(purls), Q: clip(strings.TrimSpace(q.Get("q")), maxSearchBytes), Sort: q.Get("sort")}
	needle := strings.ToLower(t.Q)
	rows := make([]packageRow, 0, len(purls))
	for _, purl := range purls {
		if needle != "" && !strings.Contains(strings.ToLower(purl), needle) {
			continue
		}
		p, err := store.PackageOf(purl)
		if err != nil {
			p = store.Package{PURL: purl, Name: purl}
		}
		rows = append(rows, packageRow{Package: p, FromBase: fromBase[purl]})
	}
	t.Matched = len(rows)
	key, desc := strings.CutPrefix(t.Sort, "-")
	by, ok := packageSorts[key]
	if !ok {
		key, desc, t.Sort = "name", false, ""
		by = packageSorts["name"]
	}
	slices.SortFunc(rows, func(a, b packageRow) int {
		c := cmp.Or(by(a, b), cmp.Compare(a.Name, b.Name), cmp.Compare(a.Version, b.Version), cmp.Compare(a.PURL, b.PURL))
		if desc {
			return -c
		}
		return c
	})
	t.Pages = max(1, (len(rows)+packagesPerPage-1)/packagesPerPage)
	t.Page, _ = strconv.Atoi(q.Get("page"))
	t.Page = min(max(t.Page, 1), t.Pages)
	t.Rows = rows[(t.Page-1)*packagesPerPage : min(t.Page*packagesPerPage, len(rows))]
	link := func(page int, sort string) string {
		v := url.Values{"q": {t.Q}, "sort": {sort}}
		if page > 1 {
			v.Set("page", strconv.Itoa(page))
		}
		return withQuery(base, v) + "#packages"
	}
	if t.Page > 1 {
		t.PrevURL = link(t.Page-1, t.Sort)
	}
	if t.Page < t.Pages {
		t.NextURL = link(t.Page+1, t.Sort)
	}
	t.SortURLs = map[string]string{}
	for col := range packageSorts {
		s := col
		if col == key && !desc {
			s = "-" + col
		}
		t.SortURLs[col] = link(1, s)
	}
	return t
}

// clip cuts s to at most n bytes, on a rune boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }

// pkgName is a package's name as its ecosystem spells it: with its
// namespace ("@types/node", "github.com/x/y"), but without the distribution
// a Linux package's purl names as namespace.
func pkgName(p store.Package) string {
	switch p.Type {
	case "deb", "apk", "rpm", "alpm":
		return p.Name
	}
	if p.Namespace == "" {
		return p.Name
	}
	return p.Namespace + "/" + p.Name
}
