package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/attest/publish"
	"github.com/hallmark-dev/hallmark/internal/intoto"
	"github.com/hallmark-dev/hallmark/registry/registrytest"
)

// platformFixture is a signed multi-platform image, acme/multi:v1 (an
// index of linux/amd64 and linux/arm64, attested as Hallmark attests one:
// provenance for the index, provenance and an SBOM of its own for each
// platform manifest), and a signed linux/amd64 image, acme/single:v1.
type platformFixture struct {
	*cliFixture
	index  name.Digest
	amd64  name.Digest
	arm64  name.Digest
	single name.Digest
}

func newPlatformFixture(t *testing.T) *platformFixture {
	t.Helper()
	f := &platformFixture{cliFixture: newCLIFixture(t)}
	var pms []registrytest.PlatformManifest
	f.index, pms = f.reg.PushIndex(t, "acme/multi", "v1",
		registrytest.PlatformImage(t, "linux/amd64", map[string]string{"/amd64.txt": "amd64"}),
		registrytest.PlatformImage(t, "linux/arm64", map[string]string{"/arm64.txt": "arm64"}))
	f.amd64, f.arm64 = pms[0].Ref, pms[1].Ref
	f.attest(t, f.index, hallmark.PredicateSLSAProvenanceV1)
	for _, pm := range pms {
		f.attest(t, pm.Ref, hallmark.PredicateSLSAProvenanceV1)
		f.attestSBOM(t, pm.Ref, platformSPDX(pm.Platform, pm.Ref))
	}
	f.single, _ = f.reg.Push(t, "acme/single", "v1", registrytest.PlatformImage(t, "linux/amd64", map[string]string{"/a.txt": "a"}))
	f.attest(t, f.single, hallmark.PredicateSLSAProvenanceV1)
	f.attestSBOM(t, f.single, platformSPDX("linux/amd64", f.single))
	return f
}

// platformSPDX is the SBOM of the platform manifest ref: its name is the
// manifest, and its one package exists only on platform.
func platformSPDX(platform string, ref name.Digest) string {
	arch := platform[strings.LastIndex(platform, "/")+1:]
	return fmt.Sprintf(`{"spdxVersion":"SPDX-2.3","name":%q,"packages":[{"SPDXID":"SPDXRef-only","name":"only-on-%s","versionInfo":"1",`+
		`"externalRefs":[{"referenceType":"purl","referenceLocator":"pkg:deb/debian/only-on-%s@1"}]}]}`, ref.String(), arch, arch)
}

// attestSBOM signs and publishes an SPDX statement about subject whose
// predicate is doc.
func (f *platformFixture) attestSBOM(t *testing.T, subject name.Digest, doc string) {
	t.Helper()
	st, err := intoto.Statement(subject.Context().Name(), hallmark.Digest(subject.DigestStr()), hallmark.PredicateSPDX, json.RawMessage(doc))
	if err != nil {
		t.Fatal(err)
	}
	signed, err := f.signer.Sign(t.Context(), st)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := publish.Publish(t.Context(), subject, signed.Bundle, hallmark.PredicateSPDX); err != nil {
		t.Fatal(err)
	}
}

// TestSBOMPlatform: --platform selects an index's platform manifest, whose
// SBOM is printed and named on stderr; an index without --platform, a
// platform the index lacks and a platform an image is not are errors that
// say what there is.
func TestSBOMPlatform(t *testing.T) {
	f := newPlatformFixture(t)
	tag := f.host + "/acme/multi:v1"
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string // the whole of it
		stderr []string
	}{
		{"index, arm64", []string{"--platform", "linux/arm64", tag}, 0, platformSPDX("linux/arm64", f.arm64) + "\n",
			[]string{"hallmark sbom: the SBOM of the linux/arm64 image " + f.arm64.String() + "\n"}},
		{"index, amd64 by digest", []string{"--platform", "linux/amd64", f.index.String()}, 0, platformSPDX("linux/amd64", f.amd64) + "\n",
			[]string{"linux/amd64 image " + f.amd64.String()}},
		{"index, arm64/v8 is arm64", []string{"--platform", "linux/arm64/v8", tag}, 0, platformSPDX("linux/arm64", f.arm64) + "\n",
			[]string{"linux/arm64 image " + f.arm64.String()}},
		{"index, arm64 table", []string{"-o", "text", "--platform", "linux/arm64", tag}, 0,
			"NAME           VERSION  TYPE  PURL\nonly-on-arm64  1        deb   pkg:deb/debian/only-on-arm64@1\n", []string{"linux/arm64 image " + f.arm64.String()}},
		{"index without --platform", []string{tag}, 2, "", []string{
			"hallmark sbom: " + f.index.String() + " is a multi-platform image (an index) of linux/amd64, linux/arm64, with one SBOM per platform: choose one with --platform (e.g. --platform linux/amd64)"}},
		{"index lacks the platform", []string{"--platform", "linux/s390x", tag}, 2, "", []string{
			"hallmark sbom: resolve " + tag + ": not found: the index has no linux/s390x image; it has linux/amd64, linux/arm64"}},
		{"image, its platform", []string{"--platform", "linux/amd64", f.host + "/acme/single:v1"}, 0, platformSPDX("linux/amd64", f.single) + "\n",
			[]string{"linux/amd64 image " + f.single.String()}},
		{"image, another platform", []string{"--platform", "linux/arm64", f.host + "/acme/single:v1"}, 2, "", []string{
			f.single.String() + " is a linux/amd64 image, not linux/arm64"}},
		{"malformed platform", []string{"--platform", "linux", tag}, 2, "", []string{`parse --platform: invalid input: platform: "linux" is not os/arch[/variant]`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runVerifyCmd(t, newSBOMCommand, f.env, tt.args...)
			if r.code != tt.code || r.stdout != tt.stdout {
				t.Fatalf("exit %d, stdout:\n%s\nstderr:\n%s\nwant exit %d, stdout:\n%s", r.code, r.stdout, r.stderr, tt.code, tt.stdout)
			}
			for _, s := range tt.stderr {
				if !strings.Contains(r.stderr, s) {
					t.Errorf("stderr lacks %q:\n%s", s, r.stderr)
				}
			}
		})
	}
}

// TestInspectPlatform: without --platform an index shows its own
// attestations and lists its platforms; --platform shows a platform
// manifest's, naming it.
func TestInspectPlatform(t *testing.T) {
	f := newPlatformFixture(t)
	tag := f.host + "/acme/multi:v1"
	t.Run("index json", func(t *testing.T) {
		rep := inspectJSON(t, f, 0, tag)
		want := []platformReport{{"linux/amd64", f.amd64.DigestStr()}, {"linux/arm64", f.arm64.DigestStr()}}
		if rep.Digest != f.index.DigestStr() || rep.Platform != "" || rep.PlatformDigest != "" || fmt.Sprint(rep.Platforms) != fmt.Sprint(want) {
			t.Errorf("digest %s platform %q %q platforms %v; want the index %s and platforms %v", rep.Digest, rep.Platform, rep.PlatformDigest, rep.Platforms, f.index.DigestStr(), want)
		}
		if len(rep.Attestations) != 1 || rep.Provenance == nil || rep.SBOM != nil || !strings.Contains(strings.Join(rep.Notes, "\n"), "an index has no SBOM of its own") {
			t.Errorf("report = %+v, want the index's provenance only", rep)
		}
	})
	t.Run("index, arm64 json", func(t *testing.T) {
		rep := inspectJSON(t, f, 0, "--platform", "linux/arm64", tag)
		if rep.Digest != f.index.DigestStr() || rep.Pinned != f.index.String() || rep.Platform != "linux/arm64" || rep.PlatformDigest != f.arm64.DigestStr() || len(rep.Platforms) != 2 {
			t.Errorf("report = %+v, want the index's digest and linux/arm64's manifest %s", rep, f.arm64.DigestStr())
		}
		if len(rep.Attestations) != 2 || rep.SBOM == nil || rep.SBOM.Name != f.arm64.String() || rep.SBOM.Packages != 1 || len(rep.Notes) != 0 {
			t.Errorf("report = %+v, want the arm64 manifest's provenance and SBOM", rep)
		}
	})
	t.Run("image, its platform json", func(t *testing.T) {
		rep := inspectJSON(t, f, 0, "--platform", "linux/amd64", f.single.String())
		if rep.Platform != "linux/amd64" || rep.PlatformDigest != f.single.DigestStr() || rep.Platforms != nil || rep.SBOM == nil {
			t.Errorf("report = %+v", rep)
		}
	})

	tests := []struct {
		name   string
		args   []string
		code   int
		stdout []string
		stderr string
	}{
		{"index text", []string{tag}, 0, []string{"\ndigest           " + f.index.DigestStr() + "\n",
			"Attestations: 1, 1 verified\n", "\nPlatforms: 2 (show one with --platform)\n  linux/amd64    " + f.amd64.DigestStr() + "\n  linux/arm64    " + f.arm64.DigestStr() + "\n"}, ""},
		{"index, arm64 text", []string{"--platform", "linux/arm64", tag}, 0, []string{"\ndigest           " + f.index.DigestStr() + "\n",
			"\nplatform         linux/arm64\nmanifest         " + f.arm64.DigestStr() + "\n", "Attestations: 2, 2 verified\n",
			"\n  document       SPDX-2.3 " + f.arm64.String() + "\n"}, ""},
		{"index lacks the platform", []string{"--platform", "windows/amd64", tag}, 2, nil, "the index has no windows/amd64 image; it has linux/amd64, linux/arm64"},
		{"image, another platform", []string{"--platform", "linux/arm64", f.single.String()}, 2, nil, "is a linux/amd64 image, not linux/arm64"},
		{"malformed platform", []string{"--platform", "linux/arm64/", tag}, 2, nil, "parse --platform"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runVerifyCmd(t, newInspectCommand, f.env, tt.args...)
			if r.code != tt.code || !strings.Contains(r.stderr, tt.stderr) || (tt.code == 2) != (r.stdout == "") {
				t.Fatalf("exit %d, stdout:\n%s\nstderr:\n%s\nwant exit %d and %q", r.code, r.stdout, r.stderr, tt.code, tt.stderr)
			}
			for _, s := range tt.stdout {
				if !strings.Contains(r.stdout, s) {
					t.Errorf("stdout lacks %q:\n%s", s, r.stdout)
				}
			}
		})
	}
}

// inspectJSON runs `hallmark inspect -o json args`, checks its exit code
// and decodes the report strictly.
func inspectJSON(t *testing.T, f *platformFixture, code int, args ...string) inspectReport {
	t.Helper()
	r := runVerifyCmd(t, newInspectCommand, f.env, append([]string{"-o", "json"}, args...)...)
	if r.code != code {
		t.Fatalf("exit %d, want %d: %s", r.code, code, r.stderr)
	}
	var rep inspectReport
	dec := json.NewDecoder(strings.NewReader(r.stdout))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rep); err != nil {
		t.Fatalf("decode: %v\n%s", err, r.stdout)
	}
	return rep
}
