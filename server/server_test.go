package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	hallmark "github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/builder/contextstore"
	"github.com/hallmark-dev/hallmark/internal/config"
	hallmarkv1 "github.com/hallmark-dev/hallmark/proto/hallmark/v1"
	"github.com/hallmark-dev/hallmark/proto/hallmark/v1/hallmarkv1connect"
)

const (
	testSubject  = "repo:acme/app:ref:refs/heads/main"
	imageDigest  = hallmark.Digest("sha256:fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210")
	baseDigest   = hallmark.Digest("sha256:1111111111111111111111111111111111111111111111111111111111111111")
	vertexDigest = "sha256:2222222222222222222222222222222222222222222222222222222222222222"
)

var (
	testStarted = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	testBases   = []hallmark.ResolvedBase{{Ref: "alpine:3.20", Pinned: "index.docker.io/library/alpine@" + string(baseDigest), Digest: baseDigest}}
)

type moveCall struct {
	repository string
	digest     hallmark.Digest
	tags       []string
}

// fakeBuilder records its calls. Build emits an Accepted event, an empty
// event, which the server must drop, and a Status event, and then fails
// with err or succeeds. With block, it waits for its context to end.
type fakeBuilder struct {
	err     error
	moveErr error
	block   bool

	mu     sync.Mutex
	builds []hallmark.BuildRequest
	moves  []moveCall
}

var _ Builder = (*fakeBuilder)(nil)

func (b *fakeBuilder) Build(ctx context.Context, req hallmark.BuildRequest, emit func(hallmark.Event) error) (hallmark.BuildResult, error) {
	b.mu.Lock()
	b.builds = append(b.builds, req)
	b.mu.Unlock()
	for _, e := range []hallmark.Event{
		{Accepted: &hallmark.Accepted{ID: req.ID, QueuePosition: 3, Bases: testBases}},
		{},
		{Status: testStatus()},
	} {
		if err := emit(e); err != nil {
			return hallmark.BuildResult{}, err
		}
	}
	if b.block {
		<-ctx.Done()
		return hallmark.BuildResult{}, fmt.Errorf("%w: left the queue: %w", hallmark.ErrCanceled, context.Cause(ctx))
	}
	if b.err != nil {
		return hallmark.BuildResult{}, b.err
	}
	return hallmark.BuildResult{
		ID: req.ID, Digest: imageDigest, Repository: req.Repository, Tags: req.Tags,
		Pinned: req.Repository + "@" + string(imageDigest), Bases: testBases, Started: testStarted,
	}, nil
}

func (b *fakeBuilder) MoveTags(_ context.Context, repository string, digest hallmark.Digest, tags []string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.moves = append(b.moves, moveCall{repository: repository, digest: digest, tags: slices.Clone(tags)})
	return b.moveErr
}

func (b *fakeBuilder) calls() ([]hallmark.BuildRequest, []moveCall) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.builds), slices.Clone(b.moves)
}

func testStatus() *hallmark.SolveStatus {
	t1 := testStarted.Add(time.Second)
	t2 := testStarted.Add(2 * time.Second)
	return &hallmark.SolveStatus{
		Vertexes: []hallmark.Vertex{{Digest: vertexDigest, Inputs: []string{"sha256:in"}, Name: "[1/2] FROM alpine", Cached: true, Started: &t1, Completed: &t2, Error: "oops"}},
		Statuses: []hallmark.VertexStatus{{ID: "pull", Vertex: vertexDigest, Name: "pulling", Current: 5, Total: 10, Timestamp: t1, Started: &t1}},
		Logs:     []hallmark.VertexLog{{Vertex: vertexDigest, Timestamp: t2, Stream: 2, Data: []byte("hello\n")}},
		Warnings: []hallmark.VertexWarning{{Vertex: vertexDigest, Level: 1, Short: []byte("short"), Detail: [][]byte{[]byte("detail")}, URL: "https://docs.example/w"}},
	}
}

// testEnv is a Server behind an HTTP/2 TLS httptest server, with a real
// authenticator trusting a dev issuer and a real context store.
type testEnv struct {
	srv     *httptest.Server
	server  *Server
	builder *fakeBuilder
	issuer  *testIssuer
	logs    *syncBuffer
	// token is a valid token of testSubject that may push to
	// registry.example.com/acme/**.
	token string

	mu     sync.Mutex
	tokens []string // every token used, none of which may be logged
}

type envConfig struct {
	opts      []Option
	storeOpts []contextstore.Option
	// rules replace the default rule, which lets testSubject push to
	// registry.example.com/acme/**; {{issuer}} in a rule's Issuer is the
	// test issuer's URL.
	rules     []config.Rule
	authzOpts []AuthorizerOption
}

func newTestEnv(t testing.TB, b *fakeBuilder, cfg envConfig) *testEnv {
	t.Helper()
	iss := startTestIssuer(t)
	logs := &syncBuffer{}
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	authn := newTestAuthenticator(t, []string{iss.url}, WithAuthLogger(logger))
	rules := []config.Rule{{Issuer: iss.url, Subject: "repo:acme/*:ref:refs/heads/*", Repositories: []string{"registry.example.com/acme/**"}}}
	if cfg.rules != nil {
		rules = slices.Clone(cfg.rules)
		for i := range rules {
			rules[i].Issuer = strings.ReplaceAll(rules[i].Issuer, "{{issuer}}", iss.url)
		}
	}
	authz, err := NewAuthorizer(rules, cfg.authzOpts...)
	if err != nil {
		t.Fatal(err)
	}
	contexts, err := contextstore.New(t.TempDir(), cfg.storeOpts...)
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(b, contexts, authn, authz, append([]Option{WithLogger(logger)}, cfg.opts...)...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	srv := httptest.NewUnstartedServer(s.Handler())
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)

	e := &testEnv{srv: srv, server: s, builder: b, issuer: iss, logs: logs}
	e.token = e.mint(t, testSubject, testAudience)
	t.Cleanup(func() { e.checkLogs(t) })
	return e
}

func (e *testEnv) mint(t testing.TB, subject, audience string) string {
	t.Helper()
	tok := e.issuer.mint(t, subject, audience, map[string]any{"repository": "acme/app", "ref": "refs/heads/main"})
	e.mu.Lock()
	e.tokens = append(e.tokens, tok)
	e.mu.Unlock()
	return tok
}

// checkLogs fails if a token or a secret value was logged.
func (e *testEnv) checkLogs(t testing.TB) {
	t.Helper()
	logs := e.logs.String()
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, tok := range e.tokens {
		if strings.Contains(logs, tok) {
			t.Errorf("logs contain a token:\n%s", logs)
		}
		// The payload and signature are unique to the token.
		for _, part := range strings.Split(tok, ".")[1:] {
			if strings.Contains(logs, part) {
				t.Errorf("logs contain part %q of a token", part)
			}
		}
	}
	if strings.Contains(logs, secretValue) {
		t.Errorf("logs contain a secret value:\n%s", logs)
	}
}

// bearer adds an Authorization header to every request.
type bearer struct {
	base  http.RoundTripper
	token string
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return b.base.RoundTrip(r)
}

// client returns an API client that sends token, or none if it is "".
func (e *testEnv) client(token string, opts ...connect.ClientOption) hallmarkv1connect.BuildServiceClient {
	hc := e.srv.Client()
	if token != "" {
		hc = &http.Client{Transport: bearer{base: hc.Transport, token: token}}
	}
	return hallmarkv1connect.NewBuildServiceClient(hc, e.srv.URL, opts...)
}

// upload sends chunks, with expected on the first message.
func upload(ctx context.Context, c hallmarkv1connect.BuildServiceClient, expected string, chunks ...[]byte) (*connect.Response[hallmarkv1.UploadContextResponse], error) {
	stream := c.UploadContext(ctx)
	if len(chunks) == 0 && expected != "" {
		chunks = [][]byte{nil}
	}
	for i, chunk := range chunks {
		msg := &hallmarkv1.UploadContextRequest{Chunk: chunk}
		if i == 0 {
			msg.ExpectedDigest = expected
		}
		if err := stream.Send(msg); err != nil {
			break // the server answered early; CloseAndReceive has its answer
		}
	}
	return stream.CloseAndReceive()
}

// build runs a build and returns every message, the response header and the
// stream's error.
func build(ctx context.Context, c hallmarkv1connect.BuildServiceClient, req *hallmarkv1.BuildRequest) ([]*hallmarkv1.BuildResponse, http.Header, error) {
	stream, err := c.Build(ctx, connect.NewRequest(req))
	if err != nil {
		return nil, nil, err
	}
	defer stream.Close()
	var msgs []*hallmarkv1.BuildResponse
	for stream.Receive() {
		msgs = append(msgs, proto.CloneOf(stream.Msg()))
	}
	return msgs, stream.ResponseHeader(), stream.Err()
}

// uploadedRequest uploads a context and returns a valid request building it.
func uploadedRequest(t *testing.T, c hallmarkv1connect.BuildServiceClient) *hallmarkv1.BuildRequest {
	t.Helper()
	res, err := upload(t.Context(), c, "", []byte("context archive "+t.Name()))
	if err != nil {
		t.Fatalf("UploadContext: %v", err)
	}
	req := validRequest()
	req.Source = &hallmarkv1.BuildRequest_ContextDigest{ContextDigest: res.Msg.GetDigest()}
	return req
}

var requestIDRE = regexp.MustCompile(`^[0-9a-f]{16}$`)

func checkRequestID(t *testing.T, h http.Header) string {
	t.Helper()
	id := h.Get("X-Request-Id")
	if !requestIDRE.MatchString(id) {
		t.Errorf("X-Request-Id = %q, want 16 hex characters", id)
	}
	return id
}

var protocols = []struct {
	name string
	opts []connect.ClientOption
}{
	{name: "connect"},
	{name: "grpc", opts: []connect.ClientOption{connect.WithGRPC()}},
	{name: "grpcweb", opts: []connect.ClientOption{connect.WithGRPCWeb()}},
}

func TestBuildSucceeds(t *testing.T) {
	for _, p := range protocols {
		t.Run(p.name, func(t *testing.T) {
			b := &fakeBuilder{}
			e := newTestEnv(t, b, envConfig{})
			c := e.client(e.token, p.opts...)

			content := []byte("a context archive, in two chunks")
			up, err := upload(t.Context(), c, "", content[:10], content[10:])
			if err != nil {
				t.Fatalf("UploadContext: %v", err)
			}
			if up.Msg.GetDigest() != hallmark.SHA256(content).String() || up.Msg.GetSize() != int64(len(content)) || up.Msg.GetExisted() {
				t.Fatalf("UploadContext = %v, want digest %s, size %d, not existed", up.Msg, hallmark.SHA256(content).String(), len(content))
			}
			checkRequestID(t, up.Header())

			req := validRequest()
			req.Source = &hallmarkv1.BuildRequest_ContextDigest{ContextDigest: up.Msg.GetDigest()}
			msgs, header, err := build(t.Context(), c, req)
			if err != nil {
				t.Fatalf("Build: %v", err)
			}
			checkRequestID(t, header)

			builds, moves := b.calls()
			if len(builds) != 1 {
				t.Fatalf("builder got %d builds, want 1", len(builds))
			}
			got := builds[0]
			if !strings.HasPrefix(got.ID, "b-") || got.ContextDigest != hallmark.Digest(up.Msg.GetDigest()) ||
				got.Repository != testRepo || !slices.Equal(got.Tags, req.Tags) || got.Target != "final" ||
				len(got.Secrets) != 2 || string(got.Secrets[0].Value) != secretValue || !got.NoCache {
				t.Errorf("builder got %+v", got)
			}
			// The rule names no cacheScope or network: the repository's
			// cache mounts and the default network.
			if got.CacheScope != testRepo || got.Network != hallmark.NetworkDefault || got.AllowRoot {
				t.Errorf("builder got cache scope %q, network %q, allow root %v; want %q, %q, false", got.CacheScope, got.Network, got.AllowRoot, testRepo, hallmark.NetworkDefault)
			}
			if got.Requester.Issuer != e.issuer.url || got.Requester.Subject != testSubject || got.Requester.Claims["repository"] != "acme/app" {
				t.Errorf("requester = %+v, want issuer %s, subject %s and the token's claims", got.Requester, e.issuer.url, testSubject)
			}
			wantMoves := []moveCall{{repository: testRepo, digest: imageDigest, tags: req.Tags}}
			if !slices.EqualFunc(moves, wantMoves, func(a, b moveCall) bool {
				return a.repository == b.repository && a.digest == b.digest && slices.Equal(a.tags, b.tags)
			}) {
				t.Errorf("MoveTags calls = %+v, want %+v", moves, wantMoves)
			}

			if len(msgs) != 3 {
				t.Fatalf("got %d messages, want accepted, status, result: %v", len(msgs), msgs)
			}
			wantBases := []*hallmarkv1.ResolvedBase{{Ref: "alpine:3.20", Pinned: testBases[0].Pinned, Digest: string(baseDigest)}}
			wantAccepted := &hallmarkv1.BuildAccepted{BuildId: got.ID, QueuePosition: 3, Bases: wantBases}
			if !proto.Equal(msgs[0].GetAccepted(), wantAccepted) {
				t.Errorf("message 0 = %v, want accepted %v", msgs[0], wantAccepted)
			}
			t1, t2 := timestamppb.New(testStarted.Add(time.Second)), timestamppb.New(testStarted.Add(2*time.Second))
			wantStatus := &hallmarkv1.SolveStatus{
				Vertexes: []*hallmarkv1.Vertex{{Digest: vertexDigest, Inputs: []string{"sha256:in"}, Name: "[1/2] FROM alpine", Cached: true, Started: t1, Completed: t2, Error: "oops"}},
				Statuses: []*hallmarkv1.VertexStatus{{Id: "pull", Vertex: vertexDigest, Name: "pulling", Current: 5, Total: 10, Timestamp: t1, Started: t1}},
				Logs:     []*hallmarkv1.VertexLog{{Vertex: vertexDigest, Timestamp: t2, Stream: 2, Msg: []byte("hello\n")}},
				Warnings: []*hallmarkv1.VertexWarning{{Vertex: vertexDigest, Level: 1, Short: []byte("short"), Detail: [][]byte{[]byte("detail")}, Url: "https://docs.example/w"}},
			}
			if !proto.Equal(msgs[1].GetStatus(), wantStatus) {
				t.Errorf("message 1 = %v, want status %v", msgs[1], wantStatus)
			}
			result := msgs[2].GetResult()
			if result == nil {
				t.Fatalf("message 2 = %v, want a result", msgs[2])
			}
			if f := result.GetFinished(); f == nil || f.AsTime().Before(testStarted) {
				t.Errorf("result finished = %v, want a time after the start", f)
			}
			result = proto.CloneOf(result)
			result.Finished = nil
			wantResult := &hallmarkv1.BuildResult{
				BuildId: got.ID, Digest: string(imageDigest), ImageName: testRepo, Tags: req.Tags,
				Pinned: testRepo + "@" + string(imageDigest), Bases: wantBases, Started: timestamppb.New(testStarted),
			}
			if !proto.Equal(result, wantResult) {
				t.Errorf("result = %v, want %v", result, wantResult)
			}

			logs := e.logs.String()
			for _, want := range []string{`"msg":"build accepted"`, `"msg":"build finished"`, `"build_id":"` + got.ID + `"`, `"request_id":"` + header.Get("X-Request-Id") + `"`} {
				if !strings.Contains(logs, want) {
					t.Errorf("logs lack %s:\n%s", want, logs)
				}
			}
		})
	}
}

func TestBuildFails(t *testing.T) {
	const cause = "dial unix /run/buildkit/buildkitd.sock: connect: no such file"
	tests := []struct {
		name      string
		builder   *fakeBuilder
		wantCode  connect.Code
		wantMsg   string // the whole message, unless internal
		wantMoves int
	}{
		{name: "invalid", builder: &fakeBuilder{err: fmt.Errorf("%w: dockerfile line 3: unknown instruction FORM", hallmark.ErrInvalid)}, wantCode: connect.CodeInvalidArgument, wantMsg: "dockerfile line 3: unknown instruction FORM"},
		{name: "not found", builder: &fakeBuilder{err: fmt.Errorf("%w: base image alpine:9 does not exist", hallmark.ErrNotFound)}, wantCode: connect.CodeNotFound, wantMsg: "base image alpine:9 does not exist"},
		{name: "too large", builder: &fakeBuilder{err: fmt.Errorf("%w: context has too many files", hallmark.ErrTooLarge)}, wantCode: connect.CodeResourceExhausted, wantMsg: "context has too many files"},
		{name: "unauthenticated", builder: &fakeBuilder{err: fmt.Errorf("%w: registry token expired", hallmark.ErrUnauthenticated)}, wantCode: connect.CodeUnauthenticated, wantMsg: "registry token expired"},
		{name: "permission denied", builder: &fakeBuilder{err: fmt.Errorf("%w: base image not allowed", hallmark.ErrPermissionDenied)}, wantCode: connect.CodePermissionDenied, wantMsg: "base image not allowed"},
		{name: "unavailable", builder: &fakeBuilder{err: fmt.Errorf("resolve base: %w: registry down", hallmark.ErrUnavailable)}, wantCode: connect.CodeUnavailable, wantMsg: "resolve base: unavailable: registry down"},
		{name: "build failed", builder: &fakeBuilder{err: fmt.Errorf("%w: RUN make: exit code 2", hallmark.ErrBuildFailed)}, wantCode: connect.CodeFailedPrecondition, wantMsg: "RUN make: exit code 2"},
		{name: "canceled", builder: &fakeBuilder{err: fmt.Errorf("%w: solve", hallmark.ErrCanceled)}, wantCode: connect.CodeCanceled, wantMsg: "solve"},
		{name: "internal", builder: &fakeBuilder{err: fmt.Errorf("solve: %w", errors.New(cause))}, wantCode: connect.CodeInternal},
		{name: "move tags fails", builder: &fakeBuilder{moveErr: errors.New(cause)}, wantCode: connect.CodeInternal, wantMoves: 1},
		{name: "move tags unavailable", builder: &fakeBuilder{moveErr: fmt.Errorf("%w: registry down", hallmark.ErrUnavailable)}, wantCode: connect.CodeUnavailable, wantMsg: "move tags: unavailable: registry down", wantMoves: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEnv(t, tt.builder, envConfig{})
			c := e.client(e.token)
			msgs, header, err := build(t.Context(), c, uploadedRequest(t, c))
			if connect.CodeOf(err) != tt.wantCode {
				t.Fatalf("Build error = %v, want code %v", err, tt.wantCode)
			}
			id := checkRequestID(t, header)
			var ce *connect.Error
			if !errors.As(err, &ce) {
				t.Fatalf("error %T is not a *connect.Error", err)
			}
			if tt.wantCode == connect.CodeInternal {
				if strings.Contains(ce.Message(), "buildkitd.sock") {
					t.Errorf("message %q leaks the internal cause", ce.Message())
				}
				if !strings.Contains(ce.Message(), id) {
					t.Errorf("message %q does not name the request id %s", ce.Message(), id)
				}
				if !strings.Contains(e.logs.String(), cause) {
					t.Errorf("the cause is not logged:\n%s", e.logs.String())
				}
			} else if ce.Message() != tt.wantMsg {
				t.Errorf("message = %q, want %q", ce.Message(), tt.wantMsg)
			}

			// The progress before the failure arrived, the result did not.
			if len(msgs) != 2 || msgs[0].GetAccepted() == nil || msgs[1].GetStatus() == nil {
				t.Errorf("messages = %v, want accepted and status", msgs)
			}
			builds, moves := tt.builder.calls()
			if len(builds) != 1 {
				t.Errorf("builder got %d builds, want 1", len(builds))
			}
			if len(moves) != tt.wantMoves {
				t.Errorf("MoveTags was called %d times, want %d", len(moves), tt.wantMoves)
			}
		})
	}
}

func TestBuildTimeout(t *testing.T) {
	b := &fakeBuilder{block: true}
	e := newTestEnv(t, b, envConfig{opts: []Option{WithBuildTimeout(50 * time.Millisecond)}})
	c := e.client(e.token)
	msgs, _, err := build(t.Context(), c, uploadedRequest(t, c))
	if connect.CodeOf(err) != connect.CodeDeadlineExceeded {
		t.Fatalf("Build error = %v, want code deadline_exceeded", err)
	}
	if !strings.Contains(err.Error(), "gateway's limit of 50ms") {
		t.Errorf("error %q does not name the limit", err)
	}
	if len(msgs) != 2 {
		t.Errorf("messages = %v, want accepted and status", msgs)
	}
	if _, moves := b.calls(); len(moves) != 0 {
		t.Errorf("MoveTags was called: %+v", moves)
	}
}

func TestBuildRejected(t *testing.T) {
	b := &fakeBuilder{}
	e := newTestEnv(t, b, envConfig{opts: []Option{WithMaxMessageBytes(1 << 20)}})
	c := e.client(e.token)
	req := uploadedRequest(t, c)
	with := func(mutate func(r *hallmarkv1.BuildRequest)) *hallmarkv1.BuildRequest {
		r := proto.CloneOf(req)
		mutate(r)
		return r
	}

	tests := []struct {
		name     string
		token    string
		req      *hallmarkv1.BuildRequest
		wantCode connect.Code
		wantMsg  string // a part of the message
	}{
		{
			name: "unknown context digest", token: e.token, wantCode: connect.CodeNotFound, wantMsg: "context " + testDigest + " was not uploaded",
			req: with(func(r *hallmarkv1.BuildRequest) {
				r.Source = &hallmarkv1.BuildRequest_ContextDigest{ContextDigest: testDigest}
			}),
		},
		{
			name: "repository not allowed", token: e.token, wantCode: connect.CodePermissionDenied, wantMsg: `may not push to "registry.example.com/other/app"`,
			req: with(func(r *hallmarkv1.BuildRequest) { r.Tags = []string{"registry.example.com/other/app:v1"} }),
		},
		{
			name: "subject not allowed", token: e.mint(t, "repo:other/app:ref:refs/heads/main", testAudience), wantCode: connect.CodePermissionDenied,
			wantMsg: `subject "repo:other/app:ref:refs/heads/main"`, req: req,
		},
		{
			name: "permission is checked before the context", token: e.token, wantCode: connect.CodePermissionDenied,
			req: with(func(r *hallmarkv1.BuildRequest) {
				r.Source = &hallmarkv1.BuildRequest_ContextDigest{ContextDigest: testDigest}
				r.Tags = []string{"registry.example.com/other/app:v1"}
			}),
		},
		{name: "no token", req: req, wantCode: connect.CodeUnauthenticated, wantMsg: "missing Authorization header"},
		{name: "malformed token", token: "not-a-jwt", req: req, wantCode: connect.CodeUnauthenticated, wantMsg: "malformed token"},
		{name: "wrong audience", token: e.mint(t, testSubject, "other"), req: req, wantCode: connect.CodeUnauthenticated, wantMsg: "audience"},
		{
			name: "invalid request", token: e.token, wantCode: connect.CodeInvalidArgument, wantMsg: "tags[0]: ",
			req: with(func(r *hallmarkv1.BuildRequest) { r.Tags = []string{"registry.example.com/acme/app"} }),
		},
		{
			name: "message over the limit", token: e.token, wantCode: connect.CodeResourceExhausted,
			req: with(func(r *hallmarkv1.BuildRequest) { r.DockerfileInline = make([]byte, 1<<20) }),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msgs, header, err := build(t.Context(), e.client(tt.token), tt.req)
			if connect.CodeOf(err) != tt.wantCode {
				t.Fatalf("Build error = %v, want code %v", err, tt.wantCode)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q does not contain %q", err, tt.wantMsg)
			}
			if strings.Contains(err.Error(), "invalid input:") || strings.Contains(err.Error(), "permission denied:") || strings.Contains(err.Error(), "not found:") {
				t.Errorf("error %q repeats its class", err)
			}
			checkNoTokenMaterial(t, err, tt.token)
			checkRequestID(t, header)
			if len(msgs) != 0 {
				t.Errorf("got messages %v", msgs)
			}
		})
	}
	if builds, moves := b.calls(); len(builds) != 0 || len(moves) != 0 {
		t.Errorf("builder was called: %d builds, %d tag moves", len(builds), len(moves))
	}
}

func TestUploadContext(t *testing.T) {
	e := newTestEnv(t, &fakeBuilder{}, envConfig{
		opts:      []Option{WithMaxMessageBytes(1 << 20)},
		storeOpts: []contextstore.Option{contextstore.WithMaxArchiveBytes(3 << 20)},
	})
	c := e.client(e.token)
	stored := []byte("stored context")
	if _, err := upload(t.Context(), c, "", stored); err != nil {
		t.Fatalf("UploadContext: %v", err)
	}
	big := make([]byte, 512<<10)

	tests := []struct {
		name     string
		token    string
		expected string
		chunks   [][]byte
		want     *hallmarkv1.UploadContextResponse
		wantCode connect.Code
		wantMsg  string
	}{
		{name: "new", token: e.token, chunks: [][]byte{[]byte("new "), []byte("context")}, want: &hallmarkv1.UploadContextResponse{Digest: hallmark.SHA256([]byte("new context")).String(), Size: 11}},
		{name: "new with expected digest", token: e.token, expected: hallmark.SHA256([]byte("other")).String(), chunks: [][]byte{[]byte("oth"), []byte("er")}, want: &hallmarkv1.UploadContextResponse{Digest: hallmark.SHA256([]byte("other")).String(), Size: 5}},
		{name: "again", token: e.token, chunks: [][]byte{stored}, want: &hallmarkv1.UploadContextResponse{Digest: hallmark.SHA256(stored).String(), Size: int64(len(stored)), Existed: true}},
		{name: "expected digest already stored", token: e.token, expected: hallmark.SHA256(stored).String(), want: &hallmarkv1.UploadContextResponse{Digest: hallmark.SHA256(stored).String(), Existed: true}},
		{name: "expected digest already stored, with content", token: e.token, expected: hallmark.SHA256(stored).String(), chunks: [][]byte{stored}, want: &hallmarkv1.UploadContextResponse{Digest: hallmark.SHA256(stored).String(), Existed: true}},
		{name: "many chunks, each under the message limit", token: e.token, chunks: [][]byte{big, big, big}, want: &hallmarkv1.UploadContextResponse{Digest: hallmark.SHA256(slices.Concat(big, big, big)).String(), Size: 3 * int64(len(big))}},
		{name: "expected digest mismatch", token: e.token, expected: hallmark.SHA256([]byte("something else")).String(), chunks: [][]byte{[]byte("content")}, wantCode: connect.CodeInvalidArgument, wantMsg: "invalid_argument: store context: invalid input: content has digest " + hallmark.SHA256([]byte("content")).String() + ", not the expected " + hallmark.SHA256([]byte("something else")).String()},
		{name: "malformed expected digest", token: e.token, expected: "sha256:xyz", chunks: [][]byte{[]byte("content")}, wantCode: connect.CodeInvalidArgument, wantMsg: "expected_digest"},
		{name: "empty", token: e.token, wantCode: connect.CodeInvalidArgument, wantMsg: "upload is empty"},
		{name: "chunk over the message limit", token: e.token, chunks: [][]byte{make([]byte, 1<<20+1)}, wantCode: connect.CodeResourceExhausted},
		{name: "context over the store limit", token: e.token, chunks: [][]byte{big, big, big, big, big, big, big}, wantCode: connect.CodeResourceExhausted, wantMsg: "resource_exhausted: store context: too large: context archive is larger than the limit"},
		{name: "no token", chunks: [][]byte{[]byte("content")}, wantCode: connect.CodeUnauthenticated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := upload(t.Context(), e.client(tt.token), tt.expected, tt.chunks...)
			if tt.wantCode != 0 {
				if connect.CodeOf(err) != tt.wantCode {
					t.Fatalf("UploadContext error = %v, want code %v", err, tt.wantCode)
				}
				if !strings.Contains(err.Error(), tt.wantMsg) {
					t.Errorf("error %q does not contain %q", err, tt.wantMsg)
				}
				if strings.Count(err.Error(), "store context") > 1 {
					t.Errorf("error %q repeats its prefix", err)
				}
				var ce *connect.Error
				if errors.As(err, &ce) {
					checkRequestID(t, ce.Meta())
				}
				return
			}
			if err != nil {
				t.Fatalf("UploadContext: %v", err)
			}
			if !proto.Equal(res.Msg, tt.want) {
				t.Errorf("UploadContext = %v, want %v", res.Msg, tt.want)
			}
			checkRequestID(t, res.Header())
		})
	}

	t.Run("expected digest only in the first message", func(t *testing.T) {
		stream := c.UploadContext(t.Context())
		_ = stream.Send(&hallmarkv1.UploadContextRequest{Chunk: []byte("a")})
		_ = stream.Send(&hallmarkv1.UploadContextRequest{Chunk: []byte("b"), ExpectedDigest: hallmark.SHA256([]byte("ab")).String()})
		_, err := stream.CloseAndReceive()
		if connect.CodeOf(err) != connect.CodeInvalidArgument || !strings.Contains(err.Error(), "only read from the first message") {
			t.Errorf("UploadContext error = %v, want invalid argument about the first message", err)
		}
	})

	t.Run("uploaded context builds", func(t *testing.T) {
		req := validRequest()
		req.Source = &hallmarkv1.BuildRequest_ContextDigest{ContextDigest: hallmark.SHA256(stored).String()}
		if _, _, err := build(t.Context(), c, req); err != nil {
			t.Errorf("Build: %v", err)
		}
	})
}

// TestContextOwnership: an uploaded context belongs to the identities that
// uploaded it; naming its digest gives another identity nothing.
func TestContextOwnership(t *testing.T) {
	e := newTestEnv(t, &fakeBuilder{}, envConfig{
		storeOpts: []contextstore.Option{contextstore.WithQuotaBytes(64), contextstore.WithMaxArchiveBytes(64)},
	})
	alice := e.client(e.token)
	bob := e.client(e.mint(t, "repo:acme/other:ref:refs/heads/main", testAudience))
	content := []byte("alice's context")
	d := hallmark.SHA256(content).String()
	if _, err := upload(t.Context(), alice, "", content); err != nil {
		t.Fatalf("UploadContext: %v", err)
	}
	buildFrom := func(c hallmarkv1connect.BuildServiceClient, digest string) error {
		req := validRequest()
		req.Source = &hallmarkv1.BuildRequest_ContextDigest{ContextDigest: digest}
		_, _, err := build(t.Context(), c, req)
		return err
	}

	t.Run("another identity's context reads as missing", func(t *testing.T) {
		errOwned, errMissing := buildFrom(bob, d), buildFrom(bob, testDigest)
		if connect.CodeOf(errOwned) != connect.CodeNotFound {
			t.Fatalf("Build = %v, want NotFound", errOwned)
		}
		if strings.ReplaceAll(errOwned.Error(), d, "D") != strings.ReplaceAll(errMissing.Error(), testDigest, "D") {
			t.Errorf("the answers differ:\n%v\n%v", errOwned, errMissing)
		}
	})
	t.Run("naming another identity's digest does not skip the upload", func(t *testing.T) {
		res, err := upload(t.Context(), bob, d)
		if err == nil && res.Msg.GetExisted() {
			t.Fatal("UploadContext answered Existed for another identity's context")
		}
		if connect.CodeOf(err) != connect.CodeInvalidArgument {
			t.Errorf("UploadContext without content = %v, want InvalidArgument (empty content has another digest)", err)
		}
	})
	t.Run("sending the bytes makes it co-owned", func(t *testing.T) {
		res, err := upload(t.Context(), bob, d, content)
		if err != nil || res.Msg.GetExisted() || res.Msg.GetSize() != int64(len(content)) {
			t.Fatalf("UploadContext = %v, %v; want received, not existed", res, err)
		}
		if err := buildFrom(bob, d); err != nil {
			t.Errorf("Build by the co-owner: %v", err)
		}
		if err := buildFrom(alice, d); err != nil {
			t.Errorf("Build by the first owner: %v", err)
		}
		if res, err := upload(t.Context(), alice, d); err != nil || !res.Msg.GetExisted() {
			t.Errorf("UploadContext by the owner = %v, %v; want Existed", res, err)
		}
	})
	t.Run("an identity no rule matches may not upload", func(t *testing.T) {
		_, err := upload(t.Context(), e.client(e.mint(t, "repo:evil/app:ref:refs/heads/main", testAudience)), "", content)
		if connect.CodeOf(err) != connect.CodePermissionDenied || !strings.Contains(err.Error(), "matches no authorization rule") {
			t.Errorf("UploadContext = %v, want PermissionDenied", err)
		}
	})
	t.Run("over the quota", func(t *testing.T) {
		_, err := upload(t.Context(), alice, "", make([]byte, 60))
		if connect.CodeOf(err) != connect.CodeResourceExhausted || !strings.Contains(err.Error(), "quota of 64 bytes") ||
			!strings.Contains(err.Error(), fmt.Sprintf("use %d bytes", len(content))) {
			t.Errorf("UploadContext = %v, want ResourceExhausted naming the quota and the usage", err)
		}
		if err := buildFrom(alice, d); err != nil {
			t.Errorf("a refused upload lost the earlier one: %v", err)
		}
	})
}

// metricLines returns the lines of /metrics that start with prefix.
func metricLines(t *testing.T, e *testEnv, prefix string) []string {
	t.Helper()
	resp, err := e.srv.Client().Get(e.srv.URL + "/metrics")
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %s", resp.Status)
	}
	checkRequestID(t, resp.Header)
	var out []string
	for line := range strings.Lines(string(body)) {
		if strings.HasPrefix(line, prefix) {
			out = append(out, strings.TrimSpace(line))
		}
	}
	return out
}

func TestMetrics(t *testing.T) {
	b := &fakeBuilder{}
	e := newTestEnv(t, b, envConfig{})
	c := e.client(e.token)
	req := uploadedRequest(t, c)

	if _, _, err := build(t.Context(), c, req); err != nil {
		t.Fatalf("Build: %v", err)
	}
	b.mu.Lock()
	b.err = fmt.Errorf("%w: RUN false: exit code 1", hallmark.ErrBuildFailed)
	b.mu.Unlock()
	if _, _, err := build(t.Context(), c, req); connect.CodeOf(err) != connect.CodeFailedPrecondition {
		t.Fatalf("Build error = %v, want failed precondition", err)
	}
	b.mu.Lock()
	b.err = errors.New("something internal")
	b.mu.Unlock()
	if _, _, err := build(t.Context(), c, req); connect.CodeOf(err) != connect.CodeInternal {
		t.Fatalf("Build error = %v, want internal", err)
	}
	// Rejected before the build starts: not counted.
	if _, _, err := build(t.Context(), e.client(""), req); connect.CodeOf(err) != connect.CodeUnauthenticated {
		t.Fatalf("Build error = %v, want unauthenticated", err)
	}

	tests := []struct {
		prefix string
		want   []string
	}{
		{prefix: "hallmark_builds_started_total", want: []string{"hallmark_builds_started_total 3"}},
		{prefix: "hallmark_builds_finished_total", want: []string{
			`hallmark_builds_finished_total{code="failed_precondition",result="failed"} 1`,
			`hallmark_builds_finished_total{code="internal",result="failed"} 1`,
			`hallmark_builds_finished_total{code="ok",result="succeeded"} 1`,
		}},
		{prefix: "hallmark_build_duration_seconds_count", want: []string{
			`hallmark_build_duration_seconds_count{result="failed"} 2`,
			`hallmark_build_duration_seconds_count{result="succeeded"} 1`,
		}},
		{prefix: "hallmark_context_upload_bytes_total", want: []string{fmt.Sprintf("hallmark_context_upload_bytes_total %d", len("context archive "+t.Name()))}},
	}
	for _, tt := range tests {
		if got := metricLines(t, e, tt.prefix); !slices.Equal(got, tt.want) {
			t.Errorf("/metrics %s lines =\n%s\nwant\n%s", tt.prefix, strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
		}
	}
}

func TestRequestIDs(t *testing.T) {
	e := newTestEnv(t, &fakeBuilder{}, envConfig{})
	seen := map[string]bool{}
	for _, path := range []string{"/metrics", "/nothing-here", "/" + hallmarkv1connect.BuildServiceName + "/Unknown", hallmarkv1connect.BuildServiceBuildProcedure} {
		for range 2 {
			resp, err := e.srv.Client().Get(e.srv.URL + path)
			if err != nil {
				t.Fatalf("GET %s: %v", path, err)
			}
			resp.Body.Close()
			id := checkRequestID(t, resp.Header)
			if seen[id] {
				t.Errorf("GET %s: request id %s was used before", path, id)
			}
			seen[id] = true
		}
	}
}

func TestNew(t *testing.T) {
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
	b := &fakeBuilder{}
	tests := []struct {
		name     string
		b        Builder
		contexts ContextStore
		authn    *Authenticator
		authz    *Authorizer
		opts     []Option
		wantErr  string
	}{
		{name: "defaults", b: b, contexts: contexts, authn: authn, authz: authz},
		{name: "all options", b: b, contexts: contexts, authn: authn, authz: authz, opts: []Option{
			WithLogger(slog.New(slog.DiscardHandler)), WithMaxMessageBytes(8 << 20), WithBuildTimeout(time.Minute),
		}},
		{name: "no builder", contexts: contexts, authn: authn, authz: authz, wantErr: "required"},
		{name: "no context store", b: b, authn: authn, authz: authz, wantErr: "required"},
		{name: "no authenticator", b: b, contexts: contexts, authz: authz, wantErr: "required"},
		{name: "no authorizer", b: b, contexts: contexts, authn: authn, wantErr: "required"},
		{name: "nil logger", b: b, contexts: contexts, authn: authn, authz: authz, opts: []Option{WithLogger(nil)}, wantErr: "logger"},
		{name: "tiny message limit", b: b, contexts: contexts, authn: authn, authz: authz, opts: []Option{WithMaxMessageBytes(1 << 10)}, wantErr: "1 MiB"},
		{name: "zero timeout", b: b, contexts: contexts, authn: authn, authz: authz, opts: []Option{WithBuildTimeout(0)}, wantErr: "timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := New(tt.b, tt.contexts, tt.authn, tt.authz, tt.opts...)
			if tt.wantErr == "" {
				if err != nil || s == nil {
					t.Fatalf("New = %v, %v", s, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("New error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}
