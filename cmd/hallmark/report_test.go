package main

import (
	"bytes"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	hallmarkv1 "github.com/hallmark-dev/hallmark/proto/hallmark/v1"
)

func TestPrintPinnedAndImageName(t *testing.T) {
	d := "sha256:" + string(bytes.Repeat([]byte("a"), 64))
	tests := []struct {
		name       string
		res        *hallmarkv1.BuildResult
		requested  []string
		wantPinned string
		wantName   string
	}{
		{"pinned and tags from the gateway", &hallmarkv1.BuildResult{Pinned: "reg.example/app@" + d, ImageName: "reg.example/app", Digest: d, Tags: []string{"reg.example/app:1"}},
			[]string{"reg.example/app:2"}, "reg.example/app@" + d, "reg.example/app:1"},
		{"older gateway: no pinned, no tags", &hallmarkv1.BuildResult{ImageName: "reg.example/app", Digest: d},
			[]string{"reg.example/app:1", "reg.example/app:latest"}, "reg.example/app@" + d, "reg.example/app:1,reg.example/app:latest"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			got := printPinned(&out, tt.res, tt.requested)
			if got.Pinned != tt.wantPinned || out.String() != tt.wantPinned+"\n" {
				t.Errorf("printPinned = %q, printed %q; want %q", got.Pinned, out.String(), tt.wantPinned)
			}
			if got.ImageName != tt.wantName || got.Digest != d {
				t.Errorf("printPinned = %+v, want image name %q, digest %s", got, tt.wantName, d)
			}
		})
	}
}

func TestAttestationsMetadata(t *testing.T) {
	at := time.Date(2026, 3, 4, 5, 6, 7, 0, time.FixedZone("CET", 3600))
	tests := []struct {
		name string
		in   []*hallmarkv1.Attestation
		want []attestationMetadata
	}{
		{"none is an empty list, not null", nil, []attestationMetadata{}},
		{"with and without a timestamp", []*hallmarkv1.Attestation{
			{PredicateType: "https://slsa.dev/provenance/v1", ReferrerDigest: "sha256:r1", BundleDigest: "sha256:b1", SignerIdentity: "id", SignerIssuer: "iss", LogIndex: 7, Timestamp: timestamppb.New(at)},
			{PredicateType: "https://spdx.dev/Document", LogIndex: -1},
		}, []attestationMetadata{
			{PredicateType: "https://slsa.dev/provenance/v1", Referrer: "sha256:r1", BundleDigest: "sha256:b1", SignerIdentity: "id", SignerIssuer: "iss", LogIndex: 7, Timestamp: "2026-03-04T04:06:07Z"},
			{PredicateType: "https://spdx.dev/Document", LogIndex: -1},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := attestationsMetadata(tt.in); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("attestationsMetadata =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

func TestWriteMetadata(t *testing.T) {
	path := filepath.Join(t.TempDir(), "meta.json")
	if err := writeMetadata(path, baseBuildMetadata{imageMetadata: imageMetadata{Digest: "sha256:d"}, Packages: []packageMetadata{}, Attestations: []attestationMetadata{}}); err != nil {
		t.Fatal(err)
	}
	m, data := readJSONFile[map[string]any](t, path)
	if m["containerimage.digest"] != "sha256:d" || data[len(data)-1] != '\n' || !bytes.Contains(data, []byte("\n  \"")) {
		t.Errorf("metadata file:\n%s", data)
	}
	if err := writeMetadata(filepath.Join(t.TempDir(), "missing", "meta.json"), metadata{}); err == nil {
		t.Error("writing into a missing directory: no error")
	}
}

func TestReasonLines(t *testing.T) {
	tests := []struct {
		indent  string
		reasons []string
		want    []string
	}{
		{"", nil, []string{}},
		{"    ", []string{"rule a failed", "two\nlines\tand \x1b[31mred"}, []string{"    rule a failed", "    two lines and \uFFFD[31mred"}},
	}
	for _, tt := range tests {
		if got := reasonLines(tt.indent, tt.reasons); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("reasonLines(%q, %q) = %q, want %q", tt.indent, tt.reasons, got, tt.want)
		}
	}
}
