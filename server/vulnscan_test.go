package server

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"

	hallmark "github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/builder/contextstore"
	hallmarkv1 "github.com/hallmark-dev/hallmark/proto/hallmark/v1"
	"github.com/hallmark-dev/hallmark/store"
	"github.com/hallmark-dev/hallmark/vuln"
	"github.com/hallmark-dev/hallmark/vuln/osv"
)

// cryptoPURL is a Go module with a critical advisory in scanDB.
const cryptoPURL = "pkg:golang/golang.org/x/crypto@v0.30.0"

// scanAttester attests with an SBOM listing cryptoPURL and keeps the
// predicates it signs.
type scanAttester struct {
	fakeAttester
}

func newScanAttester(b *fakeBuilder) *scanAttester {
	return &scanAttester{fakeAttester{builder: b, packages: []string{cryptoPURL, "pkg:golang/stdlib@1.26.8", "not a purl"}}}
}

func (a *scanAttester) AttestPredicate(_ context.Context, res hallmark.BuildResult, pt string, pred []byte, logf func(string, ...any)) ([]hallmark.Attestation, error) {
	_, moves := a.builder.calls()
	if len(moves) != 0 {
		return nil, hallmark.ErrInvalid
	}
	a.mu.Lock()
	a.predicates = append(a.predicates, pred)
	a.mu.Unlock()
	logf("signed %s", pt)
	return []hallmark.Attestation{{PredicateType: pt, Digest: baseDigest, Subject: res.Digest, LogIndex: 9}}, nil
}

// fixedVulns is a VulnSource of one DB.
type fixedVulns struct{ db *vuln.DB }

func (f fixedVulns) DB() *vuln.DB { return f.db }

// scanDB holds GO-2024-3321 (alias CVE-2024-45337, critical via its
// alias's CVSS), fixed in v0.31.0, modified an hour ago.
func scanDB(t *testing.T) *vuln.DB {
	t.Helper()
	mod := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	var recs []osv.Record
	for _, js := range []string{
		`{"id":"GO-2024-3321","modified":"` + mod + `","aliases":["CVE-2024-45337","GHSA-v778-237x-gjrc"],"summary":"Misuse of ServerConfig.PublicKeyCallback",
		  "affected":[{"package":{"ecosystem":"Go","name":"golang.org/x/crypto"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"0.31.0"}]}]}]}`,
		`{"id":"GHSA-v778-237x-gjrc","modified":"` + mod + `","aliases":["CVE-2024-45337","GO-2024-3321"],
		  "severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:N"}],
		  "affected":[{"package":{"ecosystem":"Go","name":"golang.org/x/crypto"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"0.31.0"}]}]}]}`,
	} {
		r, _, err := osv.Parse([]byte(js))
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, r)
	}
	return vuln.New().Add(osv.ImportInfo{Source: "test", SHA256: strings.Repeat("d", 64), Records: len(recs)}, recs)
}

type scanOutcome struct {
	out  rpcOutcome
	a    *scanAttester
	b    *fakeBuilder
	db   *store.DB
	pred map[string]any
}

func runScan(t *testing.T, policy vuln.Policy, src VulnSource) scanOutcome {
	t.Helper()
	b := &fakeBuilder{}
	a := newScanAttester(b)
	db := openTestStore(t)
	opts := []Option{WithAttester(a), WithStore(db), WithVulnPolicy(policy)}
	if src != nil {
		opts = append(opts, WithVulnSource(src))
	}
	e := newTestEnv(t, b, envConfig{opts: opts})
	c := e.client(e.token)
	msgs, _, err := build(t.Context(), c, uploadedRequest(t, c))
	o := scanOutcome{out: rpcOutcome{err: err, repository: testRepo}, a: a, b: b, db: db}
	for _, m := range msgs {
		o.out.add(m.GetStatus())
		if r := m.GetResult(); r != nil {
			o.out.result = r
		}
	}
	if len(a.predicates) == 1 {
		if err := json.Unmarshal(a.predicates[0], &o.pred); err != nil {
			t.Fatal(err)
		}
	}
	return o
}

func TestScanBlocksCriticalFinding(t *testing.T) {
	o := runScan(t, vuln.Policy{FailOn: vuln.Critical}, fixedVulns{scanDB(t)})
	if connect.CodeOf(o.out.err) != connect.CodeFailedPrecondition {
		t.Fatalf("error = %v, want FailedPrecondition", o.out.err)
	}
	msg := o.out.err.Error()
	for _, want := range []string{"GO-2024-3321", "CVE-2024-45337", "GHSA-v778-237x-gjrc", cryptoPURL, "0.30.0 → 0.31.0", "critical 9.1", "failOn: critical"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not name %q", msg, want)
		}
	}
	if _, moves := o.b.calls(); len(moves) != 0 {
		t.Errorf("tags moved: %+v", moves)
	}
	if len(o.a.predicates) != 0 || o.out.result != nil {
		t.Errorf("a blocked build was attested (%d) or got a result (%v)", len(o.a.predicates), o.out.result)
	}
	if logs := strings.Join(o.out.logs, ""); !strings.Contains(logs, "blocking: GHSA-v778-237x-gjrc (CVE-2024-45337, GO-2024-3321)") {
		t.Errorf("progress %q names no blocking finding", logs)
	}
	builds, _, err := o.db.Builds(t.Context(), store.BuildQuery{Readable: func(string) bool { return true }})
	if err != nil || len(builds) != 1 || builds[0].Outcome != store.OutcomeFailed || !strings.Contains(builds[0].Error, "CVE-2024-45337") {
		t.Errorf("recorded builds %+v, %v; want one failed naming the CVE", builds, err)
	}
}

func TestScanPolicies(t *testing.T) {
	tomorrow := time.Now().Add(24 * time.Hour)
	exception := vuln.Exception{Advisory: "CVE-2024-45337", Package: "pkg:golang/golang.org/x/crypto", Reason: "no ssh server", Expires: tomorrow, By: vuln.ByPolicy}
	expired := exception
	expired.Expires = time.Now().Add(-time.Hour)
	vex, _, err := vuln.ParseOpenVEX("ssh.vex.json", []byte(`{"@context":"https://openvex.dev/ns/v0.2.0","@id":"x","author":"a","timestamp":"2026-01-01T00:00:00Z","version":1,
	  "statements":[{"vulnerability":{"name":"GHSA-v778-237x-gjrc"},"products":[{"@id":"pkg:oci/app","subcomponents":[{"@id":"pkg:golang/golang.org/x/crypto@v0.30.0"}]}],
	  "status":"not_affected","justification":"vulnerable_code_not_in_execute_path"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name         string
		policy       vuln.Policy
		wantBlocked  bool
		wantExcepted string // the excepted finding's "by", or ""
		wantWarning  string
	}{
		{name: "exception", policy: vuln.Policy{FailOn: vuln.Critical, Exceptions: []vuln.Exception{exception}}, wantExcepted: vuln.ByPolicy},
		{name: "expired exception", policy: vuln.Policy{FailOn: vuln.Critical, Exceptions: []vuln.Exception{expired}}, wantBlocked: true},
		{name: "vex", policy: vuln.Policy{FailOn: vuln.High, Exceptions: vex}, wantExcepted: vuln.ByVEX},
		{name: "fail on none", policy: vuln.Policy{FailOn: vuln.None}},
		{name: "only fixed", policy: vuln.Policy{FailOn: vuln.Low, OnlyFixed: true}, wantBlocked: true},
		{name: "young database", policy: vuln.Policy{MaxDatabaseAge: 2 * time.Hour}},
		{name: "old database", policy: vuln.Policy{MaxDatabaseAge: time.Minute}, wantBlocked: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := runScan(t, tt.policy, fixedVulns{scanDB(t)})
			if tt.wantBlocked {
				if connect.CodeOf(o.out.err) != connect.CodeFailedPrecondition {
					t.Fatalf("error = %v, want FailedPrecondition", o.out.err)
				}
				if tt.name == "expired exception" && !strings.Contains(strings.Join(o.out.logs, ""), "expired on") {
					t.Errorf("no warning about the expired exception in %q", o.out.logs)
				}
				return
			}
			if o.out.err != nil {
				t.Fatal(o.out.err)
			}
			if _, moves := o.b.calls(); len(moves) != 1 {
				t.Errorf("tag moves %+v, want one", moves)
			}
			atts := o.out.result.GetAttestations()
			if len(atts) != 3 || atts[2].GetPredicateType() != vuln.PredicateType {
				t.Fatalf("attestations %v, want the scan's third", atts)
			}
			if rec, err := o.db.Build(t.Context(), o.out.result.GetBuildId()); err != nil || len(rec.Attestations) != 3 {
				t.Errorf("record %+v, %v; want the scan's attestation recorded", rec, err)
			}
			result := o.pred["scanner"].(map[string]any)["result"].([]any)
			if len(result) != 1 {
				t.Fatalf("result %v, want one finding", result)
			}
			ex, _ := result[0].(map[string]any)["excepted"].(map[string]any)
			if by, _ := ex["by"].(string); by != tt.wantExcepted {
				t.Errorf("excepted %v, want by %q", ex, tt.wantExcepted)
			}
			summary := o.pred["summary"].(map[string]any)
			if crit := summary["critical"].(float64); (tt.wantExcepted == "") != (crit == 1) {
				t.Errorf("summary %v", summary)
			}
		})
	}
}

func TestScanWithoutAdvisories(t *testing.T) {
	for _, src := range []VulnSource{nil, fixedVulns{}, fixedVulns{vuln.New()}} {
		o := runScan(t, vuln.Policy{FailOn: vuln.Critical}, src)
		if o.out.err != nil {
			t.Fatal(o.out.err)
		}
		if w := o.out.result.GetWarnings(); !strings.Contains(strings.Join(w, "\n"), noAdvisoryData) {
			t.Errorf("warnings %q, want %q", w, noAdvisoryData)
		}
		if len(o.a.predicates) != 0 {
			t.Error("an unscanned image was attested as scanned")
		}

		o = runScan(t, vuln.Policy{FailOn: vuln.Critical, MaxDatabaseAge: time.Hour}, src)
		if connect.CodeOf(o.out.err) != connect.CodeFailedPrecondition || !strings.Contains(o.out.err.Error(), "maxDatabaseAge") {
			t.Errorf("error = %v, want FailedPrecondition naming maxDatabaseAge", o.out.err)
		}
		if _, moves := o.b.calls(); len(moves) != 0 {
			t.Errorf("tags moved: %+v", moves)
		}
	}
}

func TestVulnPolicyNeedsPredicateAttester(t *testing.T) {
	b := &fakeBuilder{}
	contexts, err := contextstore.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	_, err = New(b, contexts, &Authenticator{}, &Authorizer{}, WithAttester(&fakeAttester{builder: b}), WithVulnPolicy(vuln.Policy{}))
	if err == nil || !strings.Contains(err.Error(), "PredicateAttester") {
		t.Errorf("New = %v, want an error naming PredicateAttester", err)
	}
}

// TestScanBaseBuild: base builds go through the same pipeline and are
// scanned and attested alike.
func TestScanBaseBuild(t *testing.T) {
	b := &fakeBuilder{}
	a := &scanAttester{fakeAttester{builder: b}} // no SBOM packages: nothing to block
	e := newTestEnv(t, b, envConfig{opts: []Option{WithBaseBuilder(&fakeBase{}), WithAttester(a), WithVulnPolicy(vuln.Policy{FailOn: vuln.Critical}), WithVulnSource(fixedVulns{scanDB(t)})}})
	msgs, err := buildBase(t.Context(), e.client(e.token), &hallmarkv1.BuildBaseRequest{
		Spec: []byte(testBaseSpec), Tags: []string{"registry.example.com/acme/static:v1"},
	})
	if err != nil {
		t.Fatal(err)
	}
	res := msgs[len(msgs)-1].GetResult().GetBuild()
	if atts := res.GetAttestations(); len(atts) != 2 || atts[1].GetPredicateType() != vuln.PredicateType || len(a.predicates) != 1 {
		t.Errorf("attestations %v, want provenance and the scan", atts)
	}
}
