package server

import (
	"errors"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/encoding/protojson"

	hallmark "github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/internal/config"
	hallmarkv1 "github.com/hallmark-dev/hallmark/proto/hallmark/v1"
	"github.com/hallmark-dev/hallmark/proto/hallmark/v1/hallmarkv1connect"
	"github.com/hallmark-dev/hallmark/store"
)

// queryRules: team-a pushes to its repositories and reads the bases; team-c
// pushes to its own and reads team-a's; a reader only reads team-a's.
var queryRules = []config.Rule{
	{Issuer: "{{issuer}}", Subject: "team-a", Repositories: []string{"reg.example/team-a/**"},
		Pull: []string{"reg.example/base", "reg.example/golang", "reg.example/alpine"}},
	{Issuer: "{{issuer}}", Subject: "team-c", Repositories: []string{"reg.example/team-c/**"}, Pull: []string{"reg.example/team-a/**"}},
	{Issuer: "{{issuer}}", Subject: "reader", Pull: []string{"reg.example/team-a/**"}},
}

// queryEnv is a gateway serving QueryService from a SQLite store holding
// queryFixture, with a token per subject.
type queryEnv struct {
	*testEnv
	db     *store.DB
	tokens map[string]string
}

func newQueryEnv(t *testing.T, opts ...Option) *queryEnv {
	t.Helper()
	db, err := store.Open(t.Context(), store.DriverSQLite, filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	queryFixture(t, db)
	e := newTestEnv(t, &fakeBuilder{}, envConfig{rules: queryRules, opts: append([]Option{WithStore(db)}, opts...)})
	q := &queryEnv{testEnv: e, db: db, tokens: map[string]string{}}
	for _, sub := range []string{"team-a", "team-c", "reader", "stranger"} {
		q.tokens[sub] = e.mint(t, sub, testAudience)
	}
	return q
}

func fixDigest(s string) hallmark.Digest {
	return hallmark.Digest("sha256:" + strings.Repeat(s, 64)[:64])
}

var queryT0 = time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)

// fixBuild is a successful build of repo:tag on bases, n minutes after
// queryT0.
func fixBuild(id, repo, tag string, d hallmark.Digest, n int, bases ...store.Base) *store.Build {
	return &store.Build{
		ID: id, Kind: store.KindBuild, Repository: repo, Digest: d, Outcome: store.OutcomeSucceeded,
		Requester:    hallmark.Identity{Issuer: "https://ci.example", Subject: "sub-" + id, Claims: map[string]any{"ref": "main", "run": 7.0}},
		Source:       store.Source{GitURL: "https://git.example/" + repo, GitCommit: strings.Repeat("c", 40), Dockerfile: "Dockerfile"},
		Bases:        bases,
		Tags:         []store.TagMove{{Tag: tag}},
		Attestations: []store.Attestation{{PredicateType: hallmark.PredicateSLSAProvenanceV1, Digest: fixDigest("e"), LogIndex: 7}},
		Started:      queryT0.Add(time.Duration(n) * time.Minute), Finished: queryT0.Add(time.Duration(n)*time.Minute + 5*time.Second),
	}
}

// queryFixture records a base image, two team-a images on it, a team-c
// image on one of those, a team-d image on alpine, and a decision.
func queryFixture(t *testing.T, db *store.DB) {
	t.Helper()
	openssl, err := store.PackageOf("pkg:deb/debian/openssl@3.0.11?arch=amd64")
	if err != nil {
		t.Fatal(err)
	}
	base12 := store.Base{Ref: "reg.example/base:12", Repository: "reg.example/base", Digest: fixDigest("1"), Runtime: true}
	base := fixBuild("b1", "reg.example/base", "12", fixDigest("1"), 0)
	base.Kind = store.KindBase
	a := fixBuild("a1", "reg.example/team-a/app", "v1", fixDigest("a"), 1, base12,
		store.Base{Ref: "reg.example/golang:1.26", Repository: "reg.example/golang", Digest: fixDigest("9")})
	a.Packages = []store.Package{openssl}
	w := fixBuild("a2", "reg.example/team-a/worker", "v1", fixDigest("b"), 2, base12)
	c := fixBuild("c1", "reg.example/team-c/svc", "v3", fixDigest("c"), 3,
		store.Base{Ref: "reg.example/team-a/app:v1", Repository: "reg.example/team-a/app", Digest: fixDigest("a"), Runtime: true})
	d := fixBuild("d1", "reg.example/team-d/tool", "latest", fixDigest("d"), 4,
		store.Base{Ref: "reg.example/alpine:3.20", Repository: "reg.example/alpine", Digest: fixDigest("2"), Runtime: true})
	for _, b := range []*store.Build{base, a, w, c, d} {
		if err := db.RecordBuild(t.Context(), b); err != nil {
			t.Fatal(err)
		}
	}
	err = db.RecordDecisions(t.Context(), []store.Decision{{Kind: store.KindVerify, At: queryT0.Add(time.Hour), Caller: "https://ci.example team-a",
		Ref: "reg.example/team-a/app:v1", Repository: "reg.example/team-a/app", Digest: fixDigest("a"), Policy: "default", Allowed: true}})
	if err != nil {
		t.Fatal(err)
	}
}

// methodRecorder records the HTTP method of every request.
type methodRecorder struct {
	base    http.RoundTripper
	mu      sync.Mutex
	methods []string
}

func (m *methodRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	m.mu.Lock()
	m.methods = append(m.methods, r.Method)
	m.mu.Unlock()
	return m.base.RoundTrip(r)
}

// queryClient returns a QueryService client for subject's token that
// calls with HTTP GET, and what records the methods it used.
func (e *queryEnv) queryClient(subject string, opts ...connect.ClientOption) (hallmarkv1connect.QueryServiceClient, *methodRecorder) {
	rec := &methodRecorder{base: bearer{base: e.srv.Client().Transport, token: e.tokens[subject]}}
	return hallmarkv1connect.NewQueryServiceClient(&http.Client{Transport: rec}, e.srv.URL, append([]connect.ClientOption{connect.WithHTTPGet()}, opts...)...), rec
}

func imageRepos(images []*hallmarkv1.Image) []string {
	var out []string
	for _, im := range images {
		out = append(out, im.GetRepository())
	}
	return out
}

func TestQueryReadScope(t *testing.T) {
	e := newQueryEnv(t)
	tests := []struct {
		subject string
		want    []string
	}{
		{"team-a", []string{"reg.example/base", "reg.example/team-a/app", "reg.example/team-a/worker"}},
		{"team-c", []string{"reg.example/team-a/app", "reg.example/team-a/worker", "reg.example/team-c/svc"}},
		{"reader", []string{"reg.example/team-a/app", "reg.example/team-a/worker"}},
	}
	for _, tt := range tests {
		t.Run(tt.subject, func(t *testing.T) {
			c, rec := e.queryClient(tt.subject)
			resp, err := c.ListImages(t.Context(), connect.NewRequest(&hallmarkv1.ListImagesRequest{}))
			if err != nil {
				t.Fatal(err)
			}
			if got := imageRepos(resp.Msg.GetImages()); !slices.Equal(got, tt.want) {
				t.Errorf("images %v, want %v", got, tt.want)
			}
			builds, err := c.ListBuilds(t.Context(), connect.NewRequest(&hallmarkv1.ListBuildsRequest{}))
			if err != nil {
				t.Fatal(err)
			}
			events, err := c.ListAudit(t.Context(), connect.NewRequest(&hallmarkv1.ListAuditRequest{}))
			if err != nil {
				t.Fatal(err)
			}
			for _, b := range builds.Msg.GetBuilds() {
				if !slices.Contains(tt.want, b.GetRepository()) {
					t.Errorf("build %s of %s is out of scope", b.GetId(), b.GetRepository())
				}
			}
			for _, ev := range events.Msg.GetEvents() {
				if !slices.Contains(tt.want, ev.GetRepository()) {
					t.Errorf("audit record %d of %s is out of scope", ev.GetId(), ev.GetRepository())
				}
			}
			if len(builds.Msg.GetBuilds()) == 0 || len(events.Msg.GetEvents()) == 0 {
				t.Errorf("%d builds, %d audit records", len(builds.Msg.GetBuilds()), len(events.Msg.GetEvents()))
			}
			if slices.ContainsFunc(rec.methods, func(m string) bool { return m != http.MethodGet }) {
				t.Errorf("methods %v, want GET only", rec.methods)
			}
		})
	}
	t.Run("no rule", func(t *testing.T) {
		c, _ := e.queryClient("stranger")
		_, err := c.ListImages(t.Context(), connect.NewRequest(&hallmarkv1.ListImagesRequest{}))
		if connect.CodeOf(err) != connect.CodePermissionDenied {
			t.Errorf("err %v, want permission_denied", err)
		}
	})
}

// TestQueryNotFoundHidesExistence: another team's image or build is
// NOT_FOUND with the message of one that does not exist.
func TestQueryNotFoundHidesExistence(t *testing.T) {
	e := newQueryEnv(t)
	c, _ := e.queryClient("team-a")
	img := func(ref string) error {
		_, err := c.GetImage(t.Context(), connect.NewRequest(&hallmarkv1.GetImageRequest{Image: ref}))
		return err
	}
	build := func(id string) error {
		_, err := c.GetBuild(t.Context(), connect.NewRequest(&hallmarkv1.GetBuildRequest{Id: id}))
		return err
	}
	pairs := []struct {
		name            string
		hidden, missing error
		hiddenName      string
		missingName     string
	}{
		{"image by digest", img("reg.example/team-d/tool@" + string(fixDigest("d"))), img("reg.example/team-a/nope@" + string(fixDigest("d"))),
			"reg.example/team-d/tool@", "reg.example/team-a/nope@"},
		{"image by tag", img("reg.example/team-d/tool:latest"), img("reg.example/team-a/app:nope"), "reg.example/team-d/tool:latest", "reg.example/team-a/app:nope"},
		{"build", build("d1"), build("x1"), "d1", "x1"},
	}
	for _, p := range pairs {
		t.Run(p.name, func(t *testing.T) {
			if connect.CodeOf(p.hidden) != connect.CodeNotFound || connect.CodeOf(p.missing) != connect.CodeNotFound {
				t.Fatalf("hidden: %v; missing: %v; want not_found for both", p.hidden, p.missing)
			}
			if h, m := strings.Replace(p.hidden.Error(), p.hiddenName, "X", 1), strings.Replace(p.missing.Error(), p.missingName, "X", 1); h != m {
				t.Errorf("messages differ:\n%s\n%s", h, m)
			}
		})
	}
}

func TestQueryGetImage(t *testing.T) {
	e := newQueryEnv(t)
	c, _ := e.queryClient("team-a")
	for _, ref := range []string{"reg.example/team-a/app:v1", "reg.example/team-a/app@" + string(fixDigest("a"))} {
		resp, err := c.GetImage(t.Context(), connect.NewRequest(&hallmarkv1.GetImageRequest{Image: ref}))
		if err != nil {
			t.Fatal(err)
		}
		m := resp.Msg
		if m.GetImage().GetDigest() != string(fixDigest("a")) || !slices.Equal(m.GetImage().GetTags(), []string{"v1"}) ||
			len(m.GetImage().GetBases()) != 2 || !m.GetImage().GetBases()[0].GetRuntime() {
			t.Errorf("%s: image %v", ref, m.GetImage())
		}
		if len(m.GetBuilds()) != 1 || m.GetBuilds()[0].GetId() != "a1" || m.GetBuilds()[0].GetRequester().GetClaims().GetFields()["ref"].GetStringValue() != "main" {
			t.Errorf("%s: builds %v", ref, m.GetBuilds())
		}
		if len(m.GetAttestations()) != 1 || m.GetAttestations()[0].GetLogIndex() != 7 {
			t.Errorf("%s: attestations %v", ref, m.GetAttestations())
		}
		var kinds []string
		for _, ev := range m.GetEvents() {
			kinds = append(kinds, ev.GetKind())
		}
		if !slices.Equal(kinds, []string{"verify", "tag", "build"}) {
			t.Errorf("%s: events of kinds %v, want verify, tag, build (newest first)", ref, kinds)
		}
	}
}

func TestQueryFilters(t *testing.T) {
	e := newQueryEnv(t)
	c, _ := e.queryClient("team-c")
	tests := []struct {
		name string
		req  *hallmarkv1.ListImagesRequest
		want []string
	}{
		{"base tag, through a base of a base", &hallmarkv1.ListImagesRequest{Base: "reg.example/base:12"}, []string{"reg.example/team-a/app", "reg.example/team-a/worker", "reg.example/team-c/svc"}},
		{"base digest", &hallmarkv1.ListImagesRequest{Base: string(fixDigest("a"))}, []string{"reg.example/team-c/svc"}},
		{"base by digest reference", &hallmarkv1.ListImagesRequest{Base: "reg.example/x@" + string(fixDigest("9"))}, []string{"reg.example/team-a/app", "reg.example/team-c/svc"}},
		{"package name", &hallmarkv1.ListImagesRequest{Package: "openssl"}, []string{"reg.example/team-a/app"}},
		{"package name and version", &hallmarkv1.ListImagesRequest{Package: "openssl@3.0.11"}, []string{"reg.example/team-a/app"}},
		{"other version", &hallmarkv1.ListImagesRequest{Package: "openssl@1.1"}, nil},
		{"purl", &hallmarkv1.ListImagesRequest{Package: "pkg:deb/debian/openssl@3.0.11?arch=arm64"}, []string{"reg.example/team-a/app"}},
		{"repository", &hallmarkv1.ListImagesRequest{Repository: "reg.example/team-c/svc"}, []string{"reg.example/team-c/svc"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := c.ListImages(t.Context(), connect.NewRequest(tt.req))
			if err != nil {
				t.Fatal(err)
			}
			if got := imageRepos(resp.Msg.GetImages()); !slices.Equal(got, tt.want) {
				t.Errorf("images %v, want %v", got, tt.want)
			}
		})
	}
}

func TestQueryPagination(t *testing.T) {
	e := newQueryEnv(t)
	c, _ := e.queryClient("team-c")
	var got []string
	token, pages := "", 0
	for {
		resp, err := c.ListImages(t.Context(), connect.NewRequest(&hallmarkv1.ListImagesRequest{PageSize: 1, PageToken: token}))
		if err != nil {
			t.Fatal(err)
		}
		pages++
		got = append(got, imageRepos(resp.Msg.GetImages())...)
		if token = resp.Msg.GetNextPageToken(); token == "" || pages > 10 {
			break
		}
	}
	if want := []string{"reg.example/team-a/app", "reg.example/team-a/worker", "reg.example/team-c/svc"}; !slices.Equal(got, want) {
		t.Errorf("paged images %v, want %v", got, want)
	}
	var ids []int64
	for token, pages = "", 0; pages == 0 || token != ""; pages++ {
		resp, err := c.ListAudit(t.Context(), connect.NewRequest(&hallmarkv1.ListAuditRequest{PageSize: 2, PageToken: token, Kinds: []string{"build", "tag"}}))
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range resp.Msg.GetEvents() {
			ids = append(ids, ev.GetId())
		}
		token = resp.Msg.GetNextPageToken()
	}
	if len(ids) != 6 || !slices.IsSorted(ids) {
		t.Errorf("paged audit ids %v, want 6 in order (3 builds, 3 tags)", ids)
	}
}

// TestQueryRawGET: a plain HTTP GET with a JSON message works, as a proxy
// or curl would send it.
func TestQueryRawGET(t *testing.T) {
	e := newQueryEnv(t)
	q := url.Values{"encoding": {"json"}, "message": {`{"repository":"reg.example/team-a/app"}`}}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, e.srv.URL+hallmarkv1connect.QueryServiceListImagesProcedure+"?"+q.Encode(), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+e.tokens["team-a"])
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body hallmarkv1.ListImagesResponse
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if err := protojson.Unmarshal(data, &body); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d, %v: %s", resp.StatusCode, err, data)
	}
	if got := imageRepos(body.GetImages()); !slices.Equal(got, []string{"reg.example/team-a/app"}) {
		t.Errorf("images %v", got)
	}
}

func TestQueryVerifyAudit(t *testing.T) {
	e := newQueryEnv(t)
	c, _ := e.queryClient("team-a")
	resp, err := c.VerifyAudit(t.Context(), connect.NewRequest(&hallmarkv1.VerifyAuditRequest{}))
	if err != nil {
		t.Fatal(err)
	}
	ch := resp.Msg.GetCheck()
	if ch.GetRecords() != 11 || len(ch.GetProblems()) != 0 || len(ch.GetChains()) != 2 || ch.GetChains()[0].GetName() != "decisions" {
		t.Errorf("check %v, want 11 records (5 builds, 5 tags, 1 decision) in 2 chains, no problems", ch)
	}
	reader, _ := e.queryClient("reader")
	_, err = reader.VerifyAudit(t.Context(), connect.NewRequest(&hallmarkv1.VerifyAuditRequest{}))
	if connect.CodeOf(err) != connect.CodePermissionDenied {
		t.Errorf("a read-only caller: %v, want permission_denied", err)
	}
}

// TestQueryServiceNeedsStore: without a store, QueryService is not served.
func TestQueryServiceNeedsStore(t *testing.T) {
	e := newTestEnv(t, &fakeBuilder{}, envConfig{})
	c := hallmarkv1connect.NewQueryServiceClient(&http.Client{Transport: bearer{base: e.srv.Client().Transport, token: e.token}}, e.srv.URL)
	_, err := c.ListImages(t.Context(), connect.NewRequest(&hallmarkv1.ListImagesRequest{}))
	var ce *connect.Error
	if !errors.As(err, &ce) || ce.Code() != connect.CodeUnimplemented {
		t.Errorf("err %v, want unimplemented", err)
	}
}
