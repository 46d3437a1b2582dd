package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"connectrpc.com/connect"

	hallmark "github.com/hallmark-dev/hallmark"
	hallmarkv1 "github.com/hallmark-dev/hallmark/proto/hallmark/v1"
	"github.com/hallmark-dev/hallmark/proto/hallmark/v1/hallmarkv1connect"
	"github.com/hallmark-dev/hallmark/store"
	"github.com/hallmark-dev/hallmark/verify"
	"github.com/hallmark-dev/hallmark/verify/policy"
)

const impRepo = "reg.example/team-a/app"

func all(string) bool { return true }

// TestImportImages: a verified image is recorded from its verified
// statements (requester, source and bases from the provenance, packages
// from the SBOM, the verified attestations only), the importer is the
// audit actor, and QueryService finds it like a build; importing it again
// is "already recorded", by digest without verifying again.
func TestImportImages(t *testing.T) {
	ctx := t.Context()
	fv := &refVerifier{verdicts: map[string]*verify.Verdict{impRepo + ":v1": allowedVerdict(t, impRepo)}}
	e := newImportEnv(t, fv)
	got, err := e.importAll(t, "importer", &hallmarkv1.ImportImagesRequest{Images: []string{impRepo + ":v1"}})
	if err != nil || len(got) != 1 {
		t.Fatalf("%v, %v", got, err)
	}
	r := got[0]
	if r.GetOutcome() != hallmarkv1.ImportOutcome_IMPORT_OUTCOME_IMPORTED || r.GetDigest() != impDigest.String() || r.GetRepository() != impRepo ||
		r.GetBases() != 2 || r.GetPackages() != 2 || r.GetRequesterFrom() != store.RequesterFromProvenance || r.GetPolicy() != "gateway-built" ||
		!strings.HasPrefix(r.GetRecordId(), "import-"+impDigest.Hex()[:12]+"-") {
		t.Fatalf("result %v", r)
	}
	b, err := e.db.Build(ctx, r.GetRecordId())
	if err != nil {
		t.Fatal(err)
	}
	wantBases := []store.Base{
		{Ref: "reg.example/base:12", Repository: "reg.example/base", Digest: impBase, Runtime: true},
		{Ref: "index.docker.io/library/golang:1.26", Repository: "index.docker.io/library/golang", Digest: impGolang},
	}
	if b.Kind != store.KindImport || b.Requester.Subject != "repo:acme/app:ref:refs/heads/main" || b.Requester.Claims["ref"] != "refs/heads/main" ||
		b.Requester.Claims["jti"] != nil || !b.Started.Equal(impT0) || b.Source.ContextDigest != fixDigest("c") || b.Source.Frontend == "" ||
		b.Worker != "buildkitd v0.34.2" || len(b.Tags) != 1 || b.Tags[0].Tag != "v1" || !slices.Equal(b.Bases, wantBases) {
		t.Errorf("record %+v", b)
	}
	if i := b.Import; i == nil || i.By != e.issuer.url+" importer" || i.Ref != impRepo+":v1" || i.Policy != "gateway-built" ||
		i.BuildID != "b-20261001T080000-0a0b0c0d" || i.At.Before(b.Finished) {
		t.Errorf("import %+v", b.Import)
	}
	if len(b.Attestations) != 2 || b.Attestations[0].LogIndex != 7 || b.Attestations[1].Digest != fixDigest("f") {
		t.Errorf("attestations %+v: want the two that verified", b.Attestations)
	}
	byPkg, _, err := e.db.Images(ctx, store.ImageQuery{Readable: all, Package: &store.Package{Name: "openssl"}})
	if err != nil || len(byPkg) != 1 || byPkg[0].BuildID != b.ID {
		t.Errorf("images with openssl: %+v, %v", byPkg, err)
	}
	events, _, err := e.db.Audit(ctx, store.AuditQuery{Readable: all, Digest: impDigest})
	if err != nil || len(events) != 2 || events[0].Kind != store.KindImport || events[0].Actor != e.issuer.url+" importer" || events[1].Kind != store.KindTag {
		t.Errorf("audit %+v, %v", events, err)
	}

	// QueryService shows it by its base's tag.
	hc := &http.Client{Transport: bearer{base: e.srv.Client().Transport, token: e.tokens["reader"]}}
	q := hallmarkv1connect.NewQueryServiceClient(hc, e.srv.URL)
	list, err := q.ListImages(ctx, connect.NewRequest(&hallmarkv1.ListImagesRequest{Base: "reg.example/base:12"}))
	if err != nil || len(list.Msg.GetImages()) != 1 || list.Msg.GetImages()[0].GetBuildId() != b.ID {
		t.Errorf("ListImages: %v, %v", list, err)
	}
	img, err := q.GetImage(ctx, connect.NewRequest(&hallmarkv1.GetImageRequest{Image: impRepo + ":v1"}))
	if err != nil || len(img.Msg.GetBuilds()) != 1 || img.Msg.GetBuilds()[0].GetKind() != store.KindImport {
		t.Errorf("GetImage: %v, %v", img, err)
	}

	again, err := e.importAll(t, "importer", &hallmarkv1.ImportImagesRequest{Images: []string{impRepo + "@" + impDigest.String(), impRepo + ":v1"}})
	if err != nil || len(again) != 2 {
		t.Fatalf("again: %v, %v", again, err)
	}
	for _, a := range again {
		if a.GetOutcome() != hallmarkv1.ImportOutcome_IMPORT_OUTCOME_ALREADY_RECORDED || a.GetRecordId() != b.ID || a.GetDigest() != impDigest.String() {
			t.Errorf("again: %v", a)
		}
	}
	if n := fv.callCount(); n != 2 {
		t.Errorf("%d verifications; want 2: by digest a recorded image is not verified again", n)
	}
	if m := metricLines(t, e.testEnv, "hallmark_store_imports_total"); !slices.Contains(m, `hallmark_store_imports_total{outcome="already_recorded"} 2`) {
		t.Errorf("metrics %q", m)
	}
}

// TestImportOutcomes: every image gets its result, in the order asked; a
// denied image and one that could not be verified record nothing.
func TestImportOutcomes(t *testing.T) {
	denied := allowedVerdict(t, impRepo)
	denied.Allowed, denied.Reasons = false, []string{`rule "builders": builder "x" is not allowed`}
	fv := &refVerifier{
		verdicts: map[string]*verify.Verdict{impRepo + ":denied": denied},
		errs: map[string]error{
			impRepo + ":down":     fmt.Errorf("list referrers: %w", hallmark.ErrUnavailable),
			impRepo + ":internal": errors.New("boom /secret/path"),
		},
	}
	e := newImportEnv(t, fv)
	images := []string{impRepo + ":denied", impRepo + ":down", impRepo + ":internal", impRepo + ":missing"}
	got, err := e.importAll(t, "importer", &hallmarkv1.ImportImagesRequest{Images: images, Policy: "strict"})
	if err != nil || len(got) != len(images) {
		t.Fatalf("%v, %v", got, err)
	}
	want := []struct {
		outcome hallmarkv1.ImportOutcome
		code    string
	}{
		{hallmarkv1.ImportOutcome_IMPORT_OUTCOME_NOT_VERIFIED, ""},
		{hallmarkv1.ImportOutcome_IMPORT_OUTCOME_ERROR, "unavailable"},
		{hallmarkv1.ImportOutcome_IMPORT_OUTCOME_ERROR, "internal"},
		{hallmarkv1.ImportOutcome_IMPORT_OUTCOME_ERROR, "not_found"},
	}
	for i, r := range got {
		if r.GetImage() != images[i] || r.GetOutcome() != want[i].outcome || r.GetErrorCode() != want[i].code || r.GetRecordId() != "" {
			t.Errorf("result %d: %v, want %v", i, r, want[i])
		}
	}
	if len(got[0].GetReasons()) != 1 || got[0].GetDigest() != impDigest.String() {
		t.Errorf("denied: %v", got[0])
	}
	if strings.Contains(got[2].GetError(), "secret") || !strings.Contains(got[2].GetError(), "request id") {
		t.Errorf("internal error told the caller %q", got[2].GetError())
	}
	for _, c := range fv.calls {
		if c.Policy != "strict" || c.VSA || c.Platform != "" {
			t.Errorf("verify request %+v", c)
		}
	}
	images2, _, _ := e.db.Images(t.Context(), store.ImageQuery{Readable: all})
	events, _, _ := e.db.Audit(t.Context(), store.AuditQuery{Readable: all})
	if len(images2) != 0 || len(events) != 0 {
		t.Errorf("recorded %+v and %+v; want nothing", images2, events)
	}
}

// TestImportRefused: a bad request, and a caller that may not push to
// every image's repository, fail the call before anything is verified.
func TestImportRefused(t *testing.T) {
	fv := &refVerifier{verdicts: map[string]*verify.Verdict{impRepo + ":v1": allowedVerdict(t, impRepo)}}
	e := newImportEnv(t, fv)
	many := make([]string, maxImportImages+1)
	for i := range many {
		many[i] = fmt.Sprintf("%s:v%d", impRepo, i)
	}
	for _, tc := range []struct {
		name, subject string
		images        []string
		policy        string
		code          connect.Code
	}{
		{"reader", "reader", []string{impRepo + ":v1"}, "", connect.CodePermissionDenied},
		{"stranger", "stranger", []string{impRepo + ":v1"}, "", connect.CodePermissionDenied},
		{"one repository not pushable", "importer", []string{impRepo + ":v1", "reg.example/team-b/app:v1"}, "", connect.CodePermissionDenied},
		{"no images", "importer", nil, "", connect.CodeInvalidArgument},
		{"over 100", "importer", many, "", connect.CodeInvalidArgument},
		{"malformed", "importer", []string{impRepo + ":v1", "UPPER/Case::x"}, "", connect.CodeInvalidArgument},
		{"control characters", "importer", []string{impRepo + ":v1\n"}, "", connect.CodeInvalidArgument},
		{"policy too long", "importer", []string{impRepo + ":v1"}, strings.Repeat("p", 254), connect.CodeInvalidArgument},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := e.importAll(t, tc.subject, &hallmarkv1.ImportImagesRequest{Images: tc.images, Policy: tc.policy})
			if connect.CodeOf(err) != tc.code || len(got) != 0 {
				t.Errorf("%v, %v; want %v", got, err, tc.code)
			}
		})
	}
	if n := fv.callCount(); n != 0 {
		t.Errorf("%d verifications", n)
	}
}

// TestImportOtherBuilder: an image whose provenance Hallmark did not write
// (or that has none) is recorded with what is known: its SBOM's packages,
// every platform's for an index, and the importer as its requester.
func TestImportOtherBuilder(t *testing.T) {
	v := allowedVerdict(t, impRepo)
	v.Input = policy.Input{Provenance: map[string]any{"buildDefinition": map[string]any{"buildType": "https://actions.github.io/buildtypes/workflow/v1"}}}
	v.Platforms = []verify.PlatformVerdict{
		{Platform: "linux/amd64", Allowed: true, Input: policy.Input{SBOM: spdx(impPackages[0])}},
		{Platform: "linux/arm64", Allowed: true, Input: policy.Input{SBOM: spdx(impPackages...)}},
	}
	e := newImportEnv(t, &refVerifier{verdicts: map[string]*verify.Verdict{impRepo + ":v2": v}})
	got, err := e.importAll(t, "importer", &hallmarkv1.ImportImagesRequest{Images: []string{impRepo + ":v2", impRepo + ":v2"}})
	if err != nil || len(got) != 2 {
		t.Fatalf("%v, %v", got, err)
	}
	var outcomes []hallmarkv1.ImportOutcome
	for _, r := range got {
		outcomes = append(outcomes, r.GetOutcome())
	}
	slices.Sort(outcomes) // one image named twice is imported once, either time
	if !slices.Equal(outcomes, []hallmarkv1.ImportOutcome{hallmarkv1.ImportOutcome_IMPORT_OUTCOME_IMPORTED, hallmarkv1.ImportOutcome_IMPORT_OUTCOME_ALREADY_RECORDED}) {
		t.Fatalf("outcomes %v", outcomes)
	}
	builds, _, err := e.db.Builds(t.Context(), store.BuildQuery{Readable: all})
	if err != nil || len(builds) != 1 {
		t.Fatalf("builds %+v, %v", builds, err)
	}
	b := builds[0]
	if b.Requester.Subject != "importer" || b.Import.RequesterFrom != store.RequesterFromImporter || len(b.Bases) != 0 ||
		b.Import.BuildType != "https://actions.github.io/buildtypes/workflow/v1" || b.Source != (store.Source{}) {
		t.Errorf("record %+v", b)
	}
	for _, p := range []string{"openssl", "stdlib"} {
		if im, _, err := e.db.Images(t.Context(), store.ImageQuery{Readable: all, Package: &store.Package{Name: p}}); err != nil || len(im) != 1 {
			t.Errorf("images with %s: %+v, %v", p, im, err)
		}
	}
}

// TestImportNeedsVerifier: without a verifier, StoreService is not served.
func TestImportNeedsVerifier(t *testing.T) {
	e := newTestEnv(t, &fakeBuilder{}, envConfig{opts: []Option{WithStore(openTestStore(t))}})
	hc := &http.Client{Transport: bearer{base: e.srv.Client().Transport, token: e.token}}
	stream, err := hallmarkv1connect.NewStoreServiceClient(hc, e.srv.URL).ImportImages(context.Background(),
		connect.NewRequest(&hallmarkv1.ImportImagesRequest{Images: []string{testRepo + ":v1"}}))
	if err == nil {
		for stream.Receive() {
		}
		err = stream.Err()
	}
	if connect.CodeOf(err) != connect.CodeUnimplemented {
		t.Errorf("%v, want unimplemented", err)
	}
}
