package server

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"connectrpc.com/connect"

	hallmark "github.com/hallmark-dev/hallmark"
	hallmarkv1 "github.com/hallmark-dev/hallmark/proto/hallmark/v1"
)

// fakeAttester attests builds and base builds, failing with err. It notes
// how many tags the builder had moved when it was called.
type fakeAttester struct {
	err     error
	builder *fakeBuilder
	// packages, when set, are those of an SBOM attestation the fake adds.
	packages []string

	mu          sync.Mutex
	calls       int
	movesBefore int
	predicates  [][]byte // signed for also (and AttestPredicate)
}

var (
	_ Attester     = (*fakeAttester)(nil)
	_ BaseAttester = (*fakeAttester)(nil)
)

func (a *fakeAttester) attest(ctx context.Context, res hallmark.BuildResult, logf func(string, ...any), also []hallmark.AlsoSign) ([]hallmark.Attestation, error) {
	_, moves := a.builder.calls()
	a.mu.Lock()
	a.calls++
	a.movesBefore += len(moves)
	a.mu.Unlock()
	logf("signing %s", "provenance")
	if a.err != nil {
		return nil, a.err
	}
	atts := []hallmark.Attestation{{PredicateType: hallmark.PredicateSLSAProvenanceV1, Digest: baseDigest, BundleDigest: baseDigest, LogIndex: 7}}
	if a.packages != nil {
		atts = append(atts, hallmark.Attestation{PredicateType: hallmark.PredicateSPDX, Digest: imageDigest, LogIndex: 8, Packages: a.packages})
	}
	// Like attest.Attester: what also adds is signed with the rest.
	for _, f := range also {
		if f == nil {
			continue
		}
		preds, err := f(ctx, slices.Clone(atts))
		if err != nil {
			return nil, err
		}
		for _, p := range preds {
			a.mu.Lock()
			a.predicates = append(a.predicates, p.JSON)
			a.mu.Unlock()
			logf("signed %s", p.Type)
			atts = append(atts, hallmark.Attestation{PredicateType: p.Type, Digest: baseDigest, Subject: res.Digest, LogIndex: 9})
		}
	}
	return atts, nil
}

func (a *fakeAttester) Attest(ctx context.Context, _ hallmark.BuildRequest, res hallmark.BuildResult, logf func(string, ...any), also ...hallmark.AlsoSign) ([]hallmark.Attestation, error) {
	return a.attest(ctx, res, logf, also)
}

func (a *fakeAttester) AttestBase(ctx context.Context, _ hallmark.BaseRequest, res hallmark.BaseResult, logf func(string, ...any), also ...hallmark.AlsoSign) ([]hallmark.Attestation, error) {
	return a.attest(ctx, res.Build, logf, also)
}

// rpcOutcome is what a caller of a build RPC saw.
type rpcOutcome struct {
	vertexes   []*hallmarkv1.Vertex
	logs       []string
	result     *hallmarkv1.BuildResult // nil when none arrived
	err        error
	repository string
}

// buildRPCs runs Build or BuildBase against a gateway with builder b (and a
// base builder) and attester a.
var buildRPCs = []struct {
	name string
	run  func(t *testing.T, b *fakeBuilder, a *fakeAttester) rpcOutcome
}{
	{name: "Build", run: func(t *testing.T, b *fakeBuilder, a *fakeAttester) rpcOutcome {
		e := newTestEnv(t, b, envConfig{opts: []Option{WithAttester(a)}})
		c := e.client(e.token)
		msgs, _, err := build(t.Context(), c, uploadedRequest(t, c))
		out := rpcOutcome{err: err, repository: testRepo}
		for _, m := range msgs {
			out.add(m.GetStatus())
			if r := m.GetResult(); r != nil {
				out.result = r
			}
		}
		return out
	}},
	{name: "BuildBase", run: func(t *testing.T, b *fakeBuilder, a *fakeAttester) rpcOutcome {
		e := newTestEnv(t, b, envConfig{opts: []Option{WithBaseBuilder(&fakeBase{}), WithAttester(a)}})
		msgs, err := buildBase(t.Context(), e.client(e.token), &hallmarkv1.BuildBaseRequest{
			Spec: []byte(testBaseSpec), Tags: []string{"registry.example.com/acme/static:v1"},
		})
		out := rpcOutcome{err: err, repository: "registry.example.com/acme/static"}
		for _, m := range msgs {
			out.add(m.GetStatus())
			if r := m.GetResult(); r != nil {
				out.result = r.GetBuild()
			}
		}
		return out
	}},
}

func (o *rpcOutcome) add(st *hallmarkv1.SolveStatus) {
	o.vertexes = append(o.vertexes, st.GetVertexes()...)
	for _, l := range st.GetLogs() {
		o.logs = append(o.logs, string(l.GetMsg()))
	}
}

// attestVertex returns the completed attest step, or nil.
func (o *rpcOutcome) attestVertex() *hallmarkv1.Vertex {
	for _, v := range o.vertexes {
		if v.GetName() == attestStep && v.GetCompleted() != nil {
			return v
		}
	}
	return nil
}

// TestAttestationBeforeTags checks, for every build RPC, that tags move only
// after attestation succeeded: a failing attestation moves no tag, and its
// internal cause reaches neither the error nor the progress.
func TestAttestationBeforeTags(t *testing.T) {
	const internal = "dial tcp 10.0.0.7:443: connect: connection refused"
	tests := []struct {
		name       string
		err        error
		wantCode   connect.Code // 0: success
		wantMsg    string       // the end of the message; "" for internal
		wantVertex string       // the attest step's error
	}{
		{name: "attested"},
		{
			name: "attestation unavailable", err: fmt.Errorf("sign: %w: fulcio down", hallmark.ErrUnavailable),
			wantCode: connect.CodeUnavailable, wantMsg: ": sign: unavailable: fulcio down", wantVertex: "sign: unavailable: fulcio down",
		},
		{
			name: "attestation unauthenticated", err: fmt.Errorf("sign: %w: fulcio refused the token", hallmark.ErrUnauthenticated),
			wantCode: connect.CodeUnauthenticated, wantMsg: ": sign: unauthenticated: fulcio refused the token", wantVertex: "sign: unauthenticated: fulcio refused the token",
		},
		{
			name: "attestation fails internally", err: fmt.Errorf("sign: %w", errors.New(internal)),
			wantCode: connect.CodeInternal, wantVertex: "failed; see the error that ends the build",
		},
	}
	for _, rpc := range buildRPCs {
		for _, tt := range tests {
			t.Run(rpc.name+"/"+tt.name, func(t *testing.T) {
				b := &fakeBuilder{}
				a := &fakeAttester{err: tt.err, builder: b}
				out := rpc.run(t, b, a)
				_, moves := b.calls()
				if a.calls != 1 || a.movesBefore != 0 {
					t.Errorf("attester called %d times, after %d tag moves; want once, before any", a.calls, a.movesBefore)
				}
				if !strings.Contains(strings.Join(out.logs, ""), "signing provenance\n") {
					t.Errorf("the attest step's log never reached the caller: %q", out.logs)
				}
				v := out.attestVertex()
				if v == nil {
					t.Fatalf("no completed attest step in %v", out.vertexes)
				}
				if v.GetError() != tt.wantVertex {
					t.Errorf("attest step error = %q, want %q", v.GetError(), tt.wantVertex)
				}

				if tt.wantCode == 0 {
					if out.err != nil {
						t.Fatalf("error = %v", out.err)
					}
					if len(moves) != 1 || moves[0].repository != out.repository || moves[0].digest != imageDigest {
						t.Errorf("tag moves = %+v, want one to %s", moves, imageDigest)
					}
					if out.result == nil || len(out.result.GetAttestations()) != 1 || out.result.GetFinished() == nil {
						t.Errorf("result = %v, want one attestation and a finish time", out.result)
					}
					return
				}
				if connect.CodeOf(out.err) != tt.wantCode {
					t.Fatalf("error = %v, want code %v", out.err, tt.wantCode)
				}
				if len(moves) != 0 {
					t.Errorf("tags moved although attestation failed: %+v", moves)
				}
				if out.result != nil {
					t.Errorf("a result arrived although attestation failed: %v", out.result)
				}
				var ce *connect.Error
				if !errors.As(out.err, &ce) {
					t.Fatalf("error %T is not a *connect.Error", out.err)
				}
				if want := "attest " + out.repository + "@" + string(imageDigest) + tt.wantMsg; tt.wantMsg != "" && ce.Message() != want {
					t.Errorf("message = %q, want %q", ce.Message(), want)
				}
				for _, s := range append([]string{ce.Message(), v.GetError()}, out.logs...) {
					if strings.Contains(s, "10.0.0.7") {
						t.Errorf("%q leaks the internal cause", s)
					}
				}
			})
		}
	}
}
