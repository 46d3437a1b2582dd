package server

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"connectrpc.com/connect"

	hallmark "github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/builder/contextstore"
	hallmarkv1 "github.com/hallmark-dev/hallmark/proto/hallmark/v1"
	"github.com/hallmark-dev/hallmark/proto/hallmark/v1/hallmarkv1connect"
)

const testBaseSpec = "apiVersion: hallmark.dev/v1\nkind: BaseImage\nmetadata: {name: static}\nspec:\n  packages: [netbase]\n"

// fakeBase builds base images and attests them, recording the order of
// calls (with the fake builder's tag moves).
type fakeBase struct {
	buildErr, attestErr error

	mu    sync.Mutex
	calls []string
}

var (
	_ BaseBuilder  = (*fakeBase)(nil)
	_ BaseAttester = (*fakeBase)(nil)
	_ Attester     = (*fakeBase)(nil)
)

func (f *fakeBase) record(call string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, call)
}

func (f *fakeBase) BuildBase(_ context.Context, req hallmark.BaseRequest, emit func(hallmark.Event) error) (hallmark.BaseResult, error) {
	f.record("build " + req.Repository)
	if err := emit(hallmark.Event{Accepted: &hallmark.Accepted{ID: req.ID}}); err != nil {
		return hallmark.BaseResult{}, err
	}
	if err := emit(hallmark.Event{Status: testStatus()}); err != nil {
		return hallmark.BaseResult{}, err
	}
	if f.buildErr != nil {
		return hallmark.BaseResult{}, f.buildErr
	}
	return hallmark.BaseResult{
		Build: hallmark.BuildResult{ID: req.ID, Digest: imageDigest, Repository: req.Repository, Tags: req.Tags,
			Pinned: req.Repository + "@" + string(imageDigest), Started: testStarted, Warnings: []string{"generated /etc/passwd replaces the one of package x"}},
		Packages: []hallmark.DebianPackage{{Name: "netbase", Version: "6.4", Architecture: "all", URI: "http://deb.example/netbase_6.4_all.deb", SHA256: baseDigest, Size: 12800}},
	}, nil
}

func (f *fakeBase) AttestBase(_ context.Context, req hallmark.BaseRequest, res hallmark.BaseResult, logf func(string, ...any), _ ...hallmark.AlsoSign) ([]hallmark.Attestation, error) {
	f.record("attest " + string(res.Build.Digest))
	logf("signed %d packages", len(res.Packages))
	if f.attestErr != nil {
		return nil, f.attestErr
	}
	return []hallmark.Attestation{{PredicateType: hallmark.PredicateSLSAProvenanceV1, Digest: baseDigest, BundleDigest: baseDigest, LogIndex: 7}}, nil
}

func (f *fakeBase) Attest(context.Context, hallmark.BuildRequest, hallmark.BuildResult, func(string, ...any), ...hallmark.AlsoSign) ([]hallmark.Attestation, error) {
	return nil, errors.New("not a base build")
}

func buildBase(ctx context.Context, c hallmarkv1connect.BuildServiceClient, req *hallmarkv1.BuildBaseRequest) ([]*hallmarkv1.BuildBaseResponse, error) {
	stream, err := c.BuildBase(ctx, connect.NewRequest(req))
	if err != nil {
		return nil, err
	}
	defer stream.Close()
	var events []*hallmarkv1.BuildBaseResponse
	for stream.Receive() {
		events = append(events, stream.Msg())
	}
	return events, stream.Err()
}

func TestBuildBase(t *testing.T) {
	fb := &fakeBuilder{}
	base := &fakeBase{}
	e := newTestEnv(t, fb, envConfig{opts: []Option{WithBaseBuilder(base), WithAttester(base)}})
	tags := []string{"registry.example.com/acme/static:v1", "registry.example.com/acme/static:latest"}
	events, err := buildBase(t.Context(), e.client(e.token), &hallmarkv1.BuildBaseRequest{Spec: []byte(testBaseSpec), Tags: tags})
	if err != nil {
		t.Fatalf("BuildBase: %v", err)
	}
	if len(events) < 4 || events[0].GetAccepted() == nil || !strings.HasPrefix(events[0].GetAccepted().GetBuildId(), "base-") {
		t.Fatalf("events = %v, want accepted first", events)
	}
	var attestLog bool
	for _, ev := range events {
		for _, l := range ev.GetStatus().GetLogs() {
			attestLog = attestLog || string(l.GetMsg()) == "signed 1 packages\n"
		}
	}
	if !attestLog {
		t.Error("the attest step's log never reached the caller")
	}
	res := events[len(events)-1].GetResult()
	b := res.GetBuild()
	if b.GetDigest() != string(imageDigest) || b.GetPinned() != "registry.example.com/acme/static@"+string(imageDigest) ||
		len(b.GetAttestations()) != 1 || len(b.GetWarnings()) != 1 || b.GetFinished() == nil {
		t.Errorf("result = %v", res)
	}
	if p := res.GetPackages(); len(p) != 1 || p[0].GetName() != "netbase" || p[0].GetSha256() != string(baseDigest) || p[0].GetUri() == "" {
		t.Errorf("packages = %v", p)
	}
	_, moves := fb.calls()
	if len(moves) != 1 || moves[0].digest != imageDigest || len(moves[0].tags) != 2 {
		t.Errorf("tag moves = %+v", moves)
	}
	if want := []string{"build registry.example.com/acme/static", "attest " + string(imageDigest)}; fmt.Sprint(base.calls) != fmt.Sprint(want) {
		t.Errorf("calls = %v, want %v (attested before the tags moved)", base.calls, want)
	}
}

func TestBuildBaseRejected(t *testing.T) {
	tests := []struct {
		name     string
		base     *fakeBase
		req      *hallmarkv1.BuildBaseRequest
		code     connect.Code
		contains string
		built    bool
	}{
		{name: "unknown spec field", req: &hallmarkv1.BuildBaseRequest{Spec: []byte(testBaseSpec + "  pakages: [x]\n"), Tags: []string{"registry.example.com/acme/b:v1"}},
			code: connect.CodeInvalidArgument, contains: `spec: unknown field "pakages"`},
		{name: "bad package", req: &hallmarkv1.BuildBaseRequest{Spec: []byte(strings.Replace(testBaseSpec, "netbase", "Net_Base", 1)), Tags: []string{"registry.example.com/acme/b:v1"}},
			code: connect.CodeInvalidArgument, contains: "spec.packages[0]"},
		{name: "spec too large", req: &hallmarkv1.BuildBaseRequest{Spec: []byte(testBaseSpec + strings.Repeat("#", 64<<10)), Tags: []string{"registry.example.com/acme/b:v1"}},
			code: connect.CodeResourceExhausted, contains: "spec:"},
		{name: "no tags", req: &hallmarkv1.BuildBaseRequest{Spec: []byte(testBaseSpec)}, code: connect.CodeInvalidArgument, contains: "tags"},
		{name: "other repository", req: &hallmarkv1.BuildBaseRequest{Spec: []byte(testBaseSpec), Tags: []string{"registry.example.com/other/b:v1"}},
			code: connect.CodePermissionDenied, contains: "registry.example.com/other/b"},
		{name: "unknown package", base: &fakeBase{buildErr: fmt.Errorf("resolve packages: %w: apt-get: Unable to locate package nope", hallmark.ErrInvalid)},
			req:  &hallmarkv1.BuildBaseRequest{Spec: []byte(testBaseSpec), Tags: []string{"registry.example.com/acme/b:v1"}},
			code: connect.CodeInvalidArgument, contains: "Unable to locate package nope", built: true},
		{name: "attestation fails", base: &fakeBase{attestErr: fmt.Errorf("%w: fulcio down", hallmark.ErrUnavailable)},
			req:  &hallmarkv1.BuildBaseRequest{Spec: []byte(testBaseSpec), Tags: []string{"registry.example.com/acme/b:v1"}},
			code: connect.CodeUnavailable, contains: "fulcio down", built: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fb, base := &fakeBuilder{}, tt.base
			if base == nil {
				base = &fakeBase{}
			}
			e := newTestEnv(t, fb, envConfig{opts: []Option{WithBaseBuilder(base), WithAttester(base)}})
			_, err := buildBase(t.Context(), e.client(e.token), tt.req)
			if connect.CodeOf(err) != tt.code || !strings.Contains(err.Error(), tt.contains) {
				t.Fatalf("error = %v, want %v with %q", err, tt.code, tt.contains)
			}
			if built := len(base.calls) > 0; built != tt.built {
				t.Errorf("base builder called: %v, want %v", built, tt.built)
			}
			if _, moves := fb.calls(); len(moves) != 0 {
				t.Errorf("tags moved: %+v", moves)
			}
		})
	}
}

func TestBuildBaseUnimplemented(t *testing.T) {
	e := newTestEnv(t, &fakeBuilder{}, envConfig{})
	_, err := buildBase(t.Context(), e.client(e.token), &hallmarkv1.BuildBaseRequest{Spec: []byte(testBaseSpec), Tags: []string{"registry.example.com/acme/b:v1"}})
	if connect.CodeOf(err) != connect.CodeUnimplemented {
		t.Fatalf("error = %v, want Unimplemented", err)
	}
}

// buildOnlyAttester cannot attest base images.
type buildOnlyAttester struct{}

func (buildOnlyAttester) Attest(context.Context, hallmark.BuildRequest, hallmark.BuildResult, func(string, ...any), ...hallmark.AlsoSign) ([]hallmark.Attestation, error) {
	return nil, nil
}

func TestNewBaseBuilderNeedsBaseAttester(t *testing.T) {
	iss := startTestIssuer(t)
	authn := newTestAuthenticator(t, []string{iss.url})
	authz, err := NewAuthorizer(nil)
	if err != nil {
		t.Fatal(err)
	}
	contexts, err := contextstore.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := New(&fakeBuilder{}, contexts, authn, authz, WithBaseBuilder(&fakeBase{}), WithAttester(buildOnlyAttester{})); err == nil {
		t.Fatal("New with a base builder and an attester without AttestBase: no error")
	}
}
