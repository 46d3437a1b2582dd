package ui

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	hallmark "github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/store"
)

// fakeBundle is a Sigstore bundle whose DSSE envelope carries statement.
func fakeBundle(payloadType, statement string) []byte {
	return []byte(`{"mediaType":"` + hallmark.MediaTypeBundleV03 + `","dsseEnvelope":{"payloadType":"` + payloadType +
		`","payload":"` + base64.StdEncoding.EncodeToString([]byte(statement)) + `","signatures":[]}}`)
}

func TestSPDXDownload(t *testing.T) {
	db := openStore(t)
	fixture(t, db, 0, 0)
	sbomRef := digest("5d")
	b := &store.Build{
		ID: "s1", Kind: store.KindBuild, Repository: "reg.example/team-a/sbom", Digest: digest("5"), Outcome: store.OutcomeSucceeded,
		Requester: hallmark.Identity{Issuer: "https://ci.example", Subject: "s"}, Tags: []store.TagMove{{Tag: "v1"}},
		Attestations: []store.Attestation{{PredicateType: hallmark.PredicateSPDX, Digest: sbomRef, LogIndex: -1}},
		Started:      t0, Finished: t0.Add(time.Second),
	}
	if err := db.RecordBuild(t.Context(), b); err != nil {
		t.Fatal(err)
	}
	statement := `{"_type":"https://in-toto.io/Statement/v1","predicateType":"https://spdx.dev/Document","predicate":{"spdxVersion":"SPDX-2.3","name":"sbom"}}`
	bundle := fakeBundle(hallmark.PayloadTypeInToto, statement)
	h, err := New(Deps{Authenticate: authenticate, Reader: reader, Store: db, Bundle: func(_ context.Context, repo string, ref hallmark.Digest) ([]byte, error) {
		if ref != sbomRef {
			t.Errorf("asked for %s, want the SBOM's referrer", ref)
		}
		return bundle, nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	sbomURL := "/ui/images/reg.example/team-a/sbom@" + string(digest("5"))

	if _, page := get(t, srv, "team-a", sbomURL); !strings.Contains(page, `id="sbom-spdx"`) {
		t.Error("no SPDX download link")
	}
	resp, body := get(t, srv, "team-a", sbomURL+"?format=spdx")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/spdx+json" || body != `{"spdxVersion":"SPDX-2.3","name":"sbom"}` {
		t.Errorf("status %d, type %q: %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	if resp, _ := get(t, srv, "team-a", appURL+"?format=spdx"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("an image without an SBOM attestation: %d, want 404", resp.StatusCode)
	}
	if resp, _ := get(t, srv, "team-b", sbomURL+"?format=spdx"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("another team: %d, want 403", resp.StatusCode)
	}
	bundle = fakeBundle(hallmark.PayloadTypeInToto, `{"predicateType":"https://slsa.dev/provenance/v1","predicate":{}}`)
	if resp, _ := get(t, srv, "team-a", sbomURL+"?format=spdx"); resp.StatusCode != http.StatusBadGateway {
		t.Errorf("a bundle of another predicate: %d, want 502", resp.StatusCode)
	}
}

func TestSPDXOf(t *testing.T) {
	for _, tt := range []struct {
		name   string
		bundle []byte
	}{
		{"not JSON", []byte("{")},
		{"not in-toto", fakeBundle("text/plain", `{"predicateType":"https://spdx.dev/Document","predicate":{}}`)},
		{"payload not base64", []byte(`{"dsseEnvelope":{"payloadType":"application/vnd.in-toto+json","payload":"!!"}}`)},
		{"no predicate", fakeBundle(hallmark.PayloadTypeInToto, `{"predicateType":"https://spdx.dev/Document"}`)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := spdxOf(tt.bundle); err == nil {
				t.Error("accepted")
			}
		})
	}
}
