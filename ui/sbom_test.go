package ui

import (
	"net/http"
	"strings"
	"testing"

	cdx "github.com/CycloneDX/cyclonedx-go"

	"github.com/hallmark-dev/hallmark/internal/golden"
)

func TestCycloneDXGolden(t *testing.T) {
	got, err := cycloneDXOf(teamA, digest("a"), []string{"pkg:pypi/requests@2.31.0", scriptPURL, "pkg:npm/%40types/node@20.1.0",
		"pkg:deb/debian/libc6@2.36-9?arch=amd64&upstream=glibc"})
	if err != nil {
		t.Fatal(err)
	}
	golden.Check(t, "testdata/image.cdx.json", got)
}

func TestCycloneDXDownload(t *testing.T) {
	db := openStore(t)
	fixture(t, db, 3, 0)
	srv := newServer(t, db)
	resp, body := get(t, srv, "team-a", appURL+"?format=cyclonedx")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/vnd.cyclonedx+json" ||
		!strings.HasPrefix(resp.Header.Get("Content-Disposition"), `attachment; filename="app-aaaaaaaaaaaa.cdx.json"`) {
		t.Fatalf("status %d, headers %v", resp.StatusCode, resp.Header)
	}
	var doc cdx.BOM
	if err := cdx.NewBOMDecoder(strings.NewReader(body), cdx.BOMFileFormatJSON).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	if doc.BOMFormat != "CycloneDX" || doc.SpecVersion != cdx.SpecVersion1_6 || doc.Components == nil || len(*doc.Components) != 7 {
		t.Errorf("format %s %s, components %v; want CycloneDX 1.6 with 7", doc.BOMFormat, doc.SpecVersion, doc.Components)
	}
	if resp, _ := get(t, srv, "team-b", appURL+"?format=cyclonedx"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("another team: status %d, want 403", resp.StatusCode)
	}
	if resp, _ := get(t, srv, "team-a", "/ui/images/"+teamA+"@"+string(digest("f"))+"?format=cyclonedx"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown image: status %d, want 404", resp.StatusCode)
	}
}
