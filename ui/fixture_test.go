package ui

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	hallmark "github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/store"
	"github.com/hallmark-dev/hallmark/vuln"
)

const (
	teamA   = "reg.example/team-a/app"
	baseRep = "reg.example/base"
	// scriptPURL is a package whose name is markup.
	scriptPURL = "pkg:generic/%3Cscript%3Ealert%281%29%3C%2Fscript%3E@1.0"
)

var t0 = time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)

func digest(s string) hallmark.Digest {
	return hallmark.Digest("sha256:" + strings.Repeat(s, 64)[:64])
}

// identities are the tokens the test authenticator knows.
var identities = map[string]hallmark.Identity{
	"team-a": {Issuer: "https://ci.example", Subject: "team-a"},
	"team-b": {Issuer: "https://ci.example", Subject: "team-b"},
	"nobody": {Issuer: "https://ci.example", Subject: "nobody"},
}

// reader gives team-a the base and team-a repositories, team-b its own,
// and nobody nothing.
func reader(id hallmark.Identity) func(string) bool {
	switch id.Subject {
	case "team-a":
		return func(r string) bool { return r == baseRep || strings.HasPrefix(r, "reg.example/team-a/") }
	case "team-b":
		return func(r string) bool { return strings.HasPrefix(r, "reg.example/team-b/") }
	}
	return nil
}

func authenticate(_ context.Context, token string) (hallmark.Identity, error) {
	id, ok := identities[token]
	if !ok {
		return hallmark.Identity{}, errors.New("unknown token")
	}
	return id, nil
}

// openStore opens an empty SQLite store in a temp dir.
func openStore(t testing.TB) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), store.DriverSQLite, filepath.Join(t.TempDir(), "store.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func packages(t testing.TB, purls ...string) []store.Package {
	t.Helper()
	var out []store.Package
	for _, p := range purls {
		pkg, err := store.PackageOf(p)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, pkg)
	}
	return out
}

// manyPackages are n generated package URLs.
func manyPackages(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("pkg:deb/debian/lib%04d@1.%d-1?arch=amd64&upstream=src%03d", i, i%7, i/10)
	}
	return out
}

func record(t testing.TB, db *store.DB, id, repo, tag string, d hallmark.Digest, n int, purls []string, bases ...store.Base) {
	t.Helper()
	b := &store.Build{
		ID: id, Kind: store.KindBuild, Repository: repo, Digest: d, Outcome: store.OutcomeSucceeded,
		Requester: hallmark.Identity{Issuer: "https://ci.example", Subject: "repo:" + repo},
		Source:    store.Source{GitURL: "https://git.example/" + repo, GitCommit: strings.Repeat("c", 40), Dockerfile: "Dockerfile"},
		Bases:     bases, Tags: []store.TagMove{{Tag: tag}}, Worker: "buildkitd-0",
		Attestations: []store.Attestation{{PredicateType: hallmark.PredicateSLSAProvenanceV1, Digest: digest("e" + id), Signer: "https://hallmark.dev/builders/dev", Issuer: "https://issuer.example", LogIndex: 42, SignedAt: t0}},
		Packages:     packages(t, purls...),
		Started:      t0.Add(time.Duration(n) * time.Minute), Finished: t0.Add(time.Duration(n)*time.Minute + 42*time.Second),
	}
	if err := db.RecordBuild(context.Background(), b); err != nil {
		t.Fatal(err)
	}
}

// fixture records a base image, an image of team-a on it with extra
// packages (one named like markup), a finding on each extra package
// ("GHSA-…" with an alias) and a verdict.
func fixture(t testing.TB, db *store.DB, extra, findings int) {
	t.Helper()
	ctx := context.Background()
	basePkgs := []string{"pkg:deb/debian/openssl@3.0.11?arch=amd64", "pkg:deb/debian/libc6@2.36-9?arch=amd64&upstream=glibc"}
	record(t, db, "b1", baseRep, "12", digest("1"), 0, basePkgs)
	app := append(append([]string{scriptPURL, "pkg:pypi/requests@2.31.0"}, basePkgs...), manyPackages(extra)...)
	record(t, db, "a1", teamA, "v1", digest("a"), 1, app,
		store.Base{Ref: baseRep + ":12", Repository: baseRep, Digest: digest("1"), Runtime: true})
	vulnerable := map[string]bool{"pkg:pypi/requests@2.31.0": true}
	for _, p := range manyPackages(extra)[:max(0, min(findings-1, extra))] {
		vulnerable[p] = true
	}
	_, err := db.SyncFindings(ctx, 0, func(_ context.Context, purls []string) (map[string][]store.FindingData, error) {
		out := map[string][]store.FindingData{}
		for _, p := range purls {
			if !vulnerable[p] {
				continue
			}
			id := "GHSA-" + strings.ToLower(string(hallmark.SHA256([]byte(p)))[7:19])
			detail, _ := json.Marshal(findingDetail{
				Finding:  vuln.Finding{ID: id, Package: p, Installed: "2.31.0", Fixed: []string{"2.32.0"}, Summary: "leaks <b>headers</b>"},
				Excepted: &vuln.Exception{Advisory: id, Reason: "not reachable", By: vuln.ByPolicy},
			})
			out[p] = append(out[p], store.FindingData{Advisory: id, Aliases: []string{"CVE-2024-" + id[5:9]}, Severity: "high", Excepted: true, Detail: detail})
		}
		return out, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = db.RecordDecisions(ctx, []store.Decision{{
		Kind: store.KindVerify, At: t0.Add(time.Hour), Caller: "https://ci.example release", Ref: teamA + ":v1", Repository: teamA, Digest: digest("a"),
		Policy: "production", Allowed: false, FailedRules: []string{"vulnerabilities"}, Reasons: []string{"1 high finding"},
	}})
	if err != nil {
		t.Fatal(err)
	}
}

// newServer serves the web view over db.
func newServer(t testing.TB, db *store.DB, opts ...Option) *httptest.Server {
	t.Helper()
	h, err := New(Deps{Authenticate: authenticate, Reader: reader, Store: db}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// reply is the status and headers of a response whose body was read.
type reply struct {
	StatusCode int
	Header     http.Header
}

// get fetches path with token (none if empty), not following redirects.
func get(t testing.TB, srv *httptest.Server, token, path string) (reply, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var sb strings.Builder
	if _, err := io.Copy(&sb, resp.Body); err != nil {
		t.Fatal(err)
	}
	return reply{StatusCode: resp.StatusCode, Header: resp.Header}, sb.String()
}
