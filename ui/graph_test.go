package ui

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/hallmark-dev/hallmark/internal/golden"
	"github.com/hallmark-dev/hallmark/store"
)

func TestGraph(t *testing.T) {
	db := openStore(t)
	fixture(t, db, 0, 0)
	record(t, db, "c1", "reg.example/team-a/svc", "v2", digest("c"), 3, nil,
		store.Base{Ref: teamA + ":v1", Repository: teamA, Digest: digest("a"), Runtime: true},
		store.Base{Ref: "reg.example/team-x/builder:1", Repository: "reg.example/team-x/builder", Digest: digest("9")})
	h, err := New(Deps{Authenticate: authenticate, Reader: reader, Store: db})
	if err != nil {
		t.Fatal(err)
	}
	hd := h.(interface{ Unwrap() *handler }).Unwrap()
	p, err := hd.imagePage(t.Context(), viewer{ID: identities["team-a"], Can: reader(identities["team-a"])}, "reg.example/team-a/svc", digest("c"), url.Values{})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := hd.pages["image"].ExecuteTemplate(&buf, "graph", p.Graph); err != nil {
		t.Fatal(err)
	}
	svg := buf.Bytes()
	golden.Check(t, "testdata/graph.svg", svg)

	// Well-formed XML, whose links are the pages of what the viewer may read.
	dec := xml.NewDecoder(bytes.NewReader(svg))
	var links []string
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("the graph is not well-formed XML: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "a" {
			for _, a := range se.Attr {
				if a.Name.Local == "href" {
					links = append(links, a.Value)
				}
			}
		}
	}
	want := []string{"/ui/builds?repository=reg.example%2Fteam-a%2Fsvc", appURL}
	slices.Sort(links)
	if !slices.Equal(links, want) {
		t.Errorf("links %q, want %q (no link to team-x, which team-a may not read)", links, want)
	}

	// The app's page links the image built on it.
	srv := newServer(t, db)
	resp, body := get(t, srv, "team-a", appURL)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `<a href="/ui/images/reg.example/team-a/svc@`+string(digest("c"))+`" class="node node-image">`) {
		t.Errorf("the app's graph lacks the image built on it")
	}
}
