package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/internal/devstack"
	hallmarkv1 "github.com/hallmark-dev/hallmark/proto/hallmark/v1"
	"github.com/hallmark-dev/hallmark/proto/hallmark/v1/hallmarkv1connect"
)

func envFunc(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func lookupFunc(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func noStack() (devstack.State, error) { return devstack.State{}, devstack.ErrNotRunning }

func TestParseBuildArgs(t *testing.T) {
	env := lookupFunc(map[string]string{"FROM_ENV": "e", "EMPTY": "", "HUGE_ENV": strings.Repeat("x", hallmark.MaxBuildArgValueBytes+1)})
	tests := []struct {
		in      []string
		want    map[string]string
		wantErr string
	}{
		{in: nil, want: map[string]string{}},
		{in: []string{"A=1", "B=", "C=x=y", "http_proxy=p", "_v1=2"}, want: map[string]string{"A": "1", "B": "", "C": "x=y", "http_proxy": "p", "_v1": "2"}},
		{in: []string{"FROM_ENV", "UNSET", "EMPTY"}, want: map[string]string{"FROM_ENV": "e", "EMPTY": ""}},
		{in: []string{"A=1", "A=2"}, want: map[string]string{"A": "2"}},
		{in: []string{"=v"}, wantErr: "not a valid ARG name"},
		{in: []string{""}, wantErr: "not a valid ARG name"},
		{in: []string{"1A=v"}, wantErr: "not a valid ARG name"},
		{in: []string{"A B=v"}, wantErr: "not a valid ARG name"},
		// The gateway's rules, checked before anything is uploaded.
		{in: []string{"v.1-a=2"}, wantErr: `parse --build-arg "v.1-a=2": invalid input: build_args: name "v.1-a" is not a valid ARG name`},
		{in: []string{"BAD.NAME"}, wantErr: "not a valid ARG name"},
		{in: []string{strings.Repeat("A", hallmark.MaxBuildArgNameBytes+1) + "=v"}, wantErr: "not a valid ARG name"},
		{in: []string{"BIG=" + strings.Repeat("x", hallmark.MaxBuildArgValueBytes+1)}, wantErr: `parse --build-arg "BIG": invalid input: build_args: value of BIG is over 32768 bytes`},
		{in: []string{"HUGE_ENV"}, wantErr: "value of HUGE_ENV is over 32768 bytes"},
		{in: manyBuildArgs(hallmark.MaxBuildArgs + 1), wantErr: "parse --build-arg: invalid input: build_args: 201 entries, the limit is 200"},
	}
	for _, tt := range tests {
		t.Run(clipName(strings.Join(tt.in, ",")), func(t *testing.T) {
			got, err := parseBuildArgs(tt.in, env)
			checkErr(t, err, tt.wantErr)
			if tt.wantErr == "" && !maps.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
	if got, err := parseBuildArgs(manyBuildArgs(hallmark.MaxBuildArgs), env); err != nil || len(got) != hallmark.MaxBuildArgs {
		t.Errorf("%d build args: got %d, %v", hallmark.MaxBuildArgs, len(got), err)
	}
}

// manyBuildArgs returns n valid K=V build arguments.
func manyBuildArgs(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("A%d=%d", i, i)
	}
	return out
}

// clipName keeps subtest names of long inputs short.
func clipName(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

func TestParseLabels(t *testing.T) {
	got, err := parseLabels([]string{"org.opencontainers.image.source=https://x", "empty", "k=a=b"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"org.opencontainers.image.source": "https://x", "empty": "", "k": "a=b"}
	if !maps.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if _, err := parseLabels([]string{"=v"}); err == nil {
		t.Error("empty key: no error")
	}
}

func TestParsePlatforms(t *testing.T) {
	tests := []struct {
		in      []string
		want    []string
		wantErr string
	}{
		{in: nil, want: nil},
		{in: []string{"linux/amd64"}, want: []string{"linux/amd64"}},
		{in: []string{"linux/amd64,linux/arm64", "linux/arm/v7"}, want: []string{"linux/amd64", "linux/arm64", "linux/arm/v7"}},
		{in: []string{"linux/amd64, linux/arm64,", "linux/amd64"}, want: []string{"linux/amd64", "linux/arm64"}},
		{in: []string{"linux/amd64/v2/extra/x"}, wantErr: "parse --platform"},
		{in: []string{"Linux/AMD 64"}, wantErr: "parse --platform"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.in, "|"), func(t *testing.T) {
			got, err := parsePlatforms(tt.in)
			checkErr(t, err, tt.wantErr)
			if tt.wantErr == "" && !slices.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestParseSecrets(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "npmrc")
	if err := os.WriteFile(file, []byte("file-secret-value"), 0o600); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big")
	if err := os.WriteFile(big, make([]byte, maxSecretBytes+1), 0o600); err != nil {
		t.Fatal(err)
	}
	env := envFunc(map[string]string{"GH_TOKEN": "env-secret-value", "mysecret": "by-id-value"})
	tests := []struct {
		name    string
		in      []string
		want    map[string]string
		wantErr string
	}{
		{name: "src", in: []string{"id=npm,src=" + file}, want: map[string]string{"npm": "file-secret-value"}},
		{name: "source and type", in: []string{"type=file,id=npm,source=" + file}, want: map[string]string{"npm": "file-secret-value"}},
		{name: "env", in: []string{"id=gh,env=GH_TOKEN"}, want: map[string]string{"gh": "env-secret-value"}},
		{name: "type env src", in: []string{"type=env,id=gh,src=GH_TOKEN"}, want: map[string]string{"gh": "env-secret-value"}},
		{name: "type env id", in: []string{"type=env,id=GH_TOKEN"}, want: map[string]string{"GH_TOKEN": "env-secret-value"}},
		{name: "id only from env", in: []string{"id=mysecret"}, want: map[string]string{"mysecret": "by-id-value"}},
		{name: "quoted csv", in: []string{`"id=npm","src=` + file + `"`}, want: map[string]string{"npm": "file-secret-value"}},
		{name: "two", in: []string{"id=gh,env=GH_TOKEN", "id=npm,src=" + file}, want: map[string]string{"gh": "env-secret-value", "npm": "file-secret-value"}},
		{name: "no id", in: []string{"src=" + file}, wantErr: "id is required"},
		{name: "no source", in: []string{"id=nothing"}, wantErr: "src=FILE or env=VAR is required"},
		{name: "both", in: []string{"id=x,src=" + file + ",env=GH_TOKEN"}, wantErr: "not both"},
		{name: "bad type", in: []string{"type=ssh,id=x"}, wantErr: "unsupported type"},
		{name: "unknown key", in: []string{"id=x,mode=0400"}, wantErr: `unknown key "mode"`},
		{name: "not key=value", in: []string{"id=x,foo"}, wantErr: "not key=value"},
		{name: "missing file", in: []string{"id=x,src=" + filepath.Join(dir, "missing")}, wantErr: "read secret file"},
		{name: "unset env", in: []string{"id=x,env=UNSET"}, wantErr: "UNSET is empty or not set"},
		{name: "too big", in: []string{"id=x,src=" + big}, wantErr: "larger than"},
		{name: "duplicate", in: []string{"id=gh,env=GH_TOKEN", "id=gh,src=" + file}, wantErr: "duplicate id"},
		{name: "file type with env", in: []string{"type=file,id=x,env=GH_TOKEN"}, wantErr: "not allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseSecrets(tt.in, env)
			checkErr(t, err, tt.wantErr)
			if err != nil {
				for _, v := range []string{"file-secret-value", "env-secret-value", "by-id-value"} {
					if strings.Contains(err.Error(), v) {
						t.Errorf("error reveals a secret value: %v", err)
					}
				}
				return
			}
			m := map[string]string{}
			for _, s := range got {
				m[s.GetId()] = string(s.GetValue())
			}
			if !maps.Equal(m, tt.want) {
				t.Errorf("got %v, want %v", m, tt.want)
			}
		})
	}
}

func TestFindDockerfile(t *testing.T) {
	ctxDir := t.TempDir()
	writeTree(t, ctxDir, map[string]string{"Dockerfile": "FROM a\n", "sub/Dockerfile.dev": "FROM b\n"})
	outside := filepath.Join(t.TempDir(), "Dockerfile.ci")
	if err := os.WriteFile(outside, []byte("FROM c\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		file       string
		stdin      string
		wantRel    string
		wantInline string
		wantErr    string
	}{
		{name: "default", file: "", wantRel: "Dockerfile"},
		{name: "inside", file: filepath.Join(ctxDir, "sub", "Dockerfile.dev"), wantRel: "sub/Dockerfile.dev"},
		{name: "outside", file: outside, wantInline: "FROM c\n"},
		{name: "stdin", file: "-", stdin: "FROM d\n", wantInline: "FROM d\n"},
		{name: "missing", file: filepath.Join(ctxDir, "nope"), wantErr: "find Dockerfile"},
		{name: "directory", file: filepath.Join(ctxDir, "sub"), wantErr: "is a directory"},
		{name: "stdin too big", file: "-", stdin: strings.Repeat("#", maxDockerfileBytes+1), wantErr: "larger than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := findDockerfile(tt.file, ctxDir, strings.NewReader(tt.stdin))
			checkErr(t, err, tt.wantErr)
			if err != nil {
				return
			}
			if got.rel != tt.wantRel || string(got.inline) != tt.wantInline {
				t.Errorf("got rel %q inline %q, want %q %q", got.rel, got.inline, tt.wantRel, tt.wantInline)
			}
		})
	}
}

func TestRequestValidation(t *testing.T) {
	ctxDir := t.TempDir()
	writeTree(t, ctxDir, map[string]string{"Dockerfile": "FROM a\n"})
	env := buildEnv{lookupEnv: lookupFunc(map[string]string{"HOME": "/root"})}
	tests := []struct {
		name    string
		flags   buildFlags
		wantErr string
	}{
		{name: "no tag", flags: buildFlags{}, wantErr: "at least one -t"},
		{name: "bad tag", flags: buildFlags{tags: []string{"a b"}}, wantErr: "parse --tag"},
		{name: "bad arg", flags: buildFlags{tags: []string{"reg.example/x:1"}, buildArgs: []string{"=x"}}, wantErr: "parse --build-arg"},
		{name: "bad platform", flags: buildFlags{tags: []string{"reg.example/x:1"}, platforms: []string{"a/b/c/d/e"}}, wantErr: "parse --platform"},
		{name: "bad secret", flags: buildFlags{tags: []string{"reg.example/x:1"}, secrets: []string{"id=x"}}, wantErr: "parse --secret"},
		{name: "ok", flags: buildFlags{tags: []string{"reg.example/x:1"}}},
		// The gateway's rules (hallmark.Validate*), with its messages.
		{name: "tag without registry", flags: buildFlags{tags: []string{"app:1"}}, wantErr: `parse --tag: invalid input: tags[0]: "app:1" is not registry/repository:tag`},
		{name: "tag without tag", flags: buildFlags{tags: []string{"reg.example/x"}}, wantErr: `tags[0]: "reg.example/x" is not registry/repository:tag`},
		{name: "tag with digest", flags: buildFlags{tags: []string{"reg.example/x@sha256:" + strings.Repeat("a", 64)}}, wantErr: "names a digest"},
		{name: "two repositories", flags: buildFlags{tags: []string{"reg.example/x:1", "reg.example/y:1"}}, wantErr: `tags[1]: repository "reg.example/y" differs from "reg.example/x"`},
		{name: "too many tags", flags: buildFlags{tags: slices.Repeat([]string{"reg.example/x:1"}, hallmark.MaxTags+1)}, wantErr: "tags: 33 entries, the limit is 32"},
		{name: "platform without os", flags: buildFlags{tags: []string{"reg.example/x:1"}, platforms: []string{"amd64"}}, wantErr: `parse --platform: invalid input: platforms: "amd64" is not os/arch[/variant]`},
		{name: "upper-case platform", flags: buildFlags{tags: []string{"reg.example/x:1"}, platforms: []string{"Linux/AMD64"}}, wantErr: "parse --platform"},
		{name: "too many platforms", flags: buildFlags{tags: []string{"reg.example/x:1"}, platforms: []string{"linux/a1,linux/a2,linux/a3,linux/a4,linux/a5,linux/a6,linux/a7,linux/a8,linux/a9"}}, wantErr: "platforms: 9 entries, the limit is 8"},
		{name: "bad target", flags: buildFlags{tags: []string{"reg.example/x:1"}, target: "1st stage"}, wantErr: `parse --target: invalid input: target: "1st stage" is not a stage name`},
		{name: "target", flags: buildFlags{tags: []string{"reg.example/x:1"}, target: "final-2.x"}},
		{name: "bad secret id", flags: buildFlags{tags: []string{"reg.example/x:1"}, secrets: []string{"id=a b,env=HOME"}}, wantErr: `parse --secret: invalid input: secrets[0].id: "a b" is not a secret id`},
		{name: "label key too long", flags: buildFlags{tags: []string{"reg.example/x:1"}, labels: []string{strings.Repeat("k", hallmark.MaxLabelKeyBytes+1) + "=v"}}, wantErr: "parse --label: invalid input: labels: key"},
		{name: "label value too long", flags: buildFlags{tags: []string{"reg.example/x:1"}, labels: []string{"k=" + strings.Repeat("v", hallmark.MaxLabelValueBytes+1)}}, wantErr: `labels: key "k": keys must be 1-256 bytes, values at most 4096`},
		{name: "too many labels", flags: buildFlags{tags: []string{"reg.example/x:1"}, labels: manyBuildArgs(hallmark.MaxLabels + 1)}, wantErr: "labels: 101 entries, the limit is 100"},
		{name: "label key with a space", flags: buildFlags{tags: []string{"reg.example/x:1"}, labels: []string{"my key=v"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := tt.flags.request(ctxDir, false, env)
			checkErr(t, err, tt.wantErr)
		})
	}
}

func TestResolveGateway(t *testing.T) {
	stack := func() (devstack.State, error) { return devstack.State{Gateway: "http://127.0.0.1:7433"}, nil }
	broken := func() (devstack.State, error) { return devstack.State{}, errors.New("parse dev stack state: bad") }
	tests := []struct {
		name    string
		flag    string
		env     map[string]string
		stack   stackLoader
		want    string
		wantErr string
	}{
		{name: "flag wins", flag: "https://gw.example", env: map[string]string{"HALLMARK_GATEWAY": "http://env"}, stack: stack, want: "https://gw.example"},
		{name: "env", env: map[string]string{"HALLMARK_GATEWAY": "http://env:1"}, stack: stack, want: "http://env:1"},
		{name: "dev stack", stack: stack, want: "http://127.0.0.1:7433"},
		{name: "none", stack: noStack, wantErr: "pass --gateway URL, set HALLMARK_GATEWAY, or start a dev stack"},
		{name: "broken state", stack: broken, wantErr: "parse dev stack state"},
		{name: "not a URL", flag: "gw.example:443", stack: noStack, wantErr: "want an http:// or https:// URL"},
		{name: "credentials", flag: "https://u:p@gw.example", stack: noStack, wantErr: "credentials in the URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := resolveGateway(tt.flag, envFunc(tt.env), tt.stack)
			checkErr(t, err, tt.wantErr)
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			if err != nil && strings.Contains(err.Error(), ":p@") {
				t.Errorf("error reveals credentials: %v", err)
			}
		})
	}
}

func TestTokenSource(t *testing.T) {
	file := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(file, []byte("  tok-1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tokens := newTokenSource(file, envFunc(map[string]string{"HALLMARK_TOKEN": "env-tok"}), noStack)
	for _, want := range []string{"tok-1", "tok-2"} {
		got, err := tokens(t.Context())
		if err != nil || got != want {
			t.Fatalf("token = %q, %v; want %q", got, err, want)
		}
		// The file is re-read: CI platforms rotate it.
		if err := os.WriteFile(file, []byte("tok-2"), 0o600); err != nil {
			t.Fatal(err)
		}
	}

	if got, err := newTokenSource("", envFunc(map[string]string{"HALLMARK_TOKEN": "env-tok\n"}), noStack)(t.Context()); err != nil || got != "env-tok" {
		t.Errorf("env token = %q, %v", got, err)
	}
	_, err := newTokenSource("", envFunc(nil), noStack)(t.Context())
	checkErr(t, err, "pass --token-file FILE, set HALLMARK_TOKEN, or start a dev stack")

	issuer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil || r.URL.Path != "/token" || r.Form.Get("subject") != devSubject {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]string{"token": "dev-tok"})
	}))
	defer issuer.Close()
	stack := func() (devstack.State, error) { return devstack.State{Issuer: issuer.URL}, nil }
	if got, err := newTokenSource("", envFunc(nil), stack)(t.Context()); err != nil || got != "dev-tok" {
		t.Errorf("dev token = %q, %v", got, err)
	}

	_, err = newTokenSource(filepath.Join(t.TempDir(), "missing"), envFunc(nil), noStack)(t.Context())
	checkErr(t, err, "read token file")
}

func TestReport(t *testing.T) {
	dir := t.TempDir()
	meta := filepath.Join(dir, "meta.json")
	iid := filepath.Join(dir, "iid")
	dgst := "sha256:" + strings.Repeat("a", 64)
	res := &hallmarkv1.BuildResult{
		BuildId:   "b-123",
		Digest:    dgst,
		ImageName: "reg.example/app",
		Tags:      []string{"reg.example/app:1", "reg.example/app:latest"},
		Pinned:    "reg.example/app@" + dgst,
		Bases:     []*hallmarkv1.ResolvedBase{{Ref: "golang:1.26", Pinned: "docker.io/library/golang@sha256:bb", Digest: "sha256:bb"}},
		Attestations: []*hallmarkv1.Attestation{{
			PredicateType: "https://slsa.dev/provenance/v1", ReferrerDigest: "sha256:cc", BundleDigest: "sha256:dd",
			SignerIdentity: "https://hallmark.dev/builders/dev", SignerIssuer: "https://issuer.example", LogIndex: 7,
		}},
	}
	var stdout bytes.Buffer
	if err := report(res, &hallmarkv1.BuildRequest{}, &buildFlags{metadataFile: meta, iidFile: iid}, &stdout); err != nil {
		t.Fatal(err)
	}
	if got := stdout.String(); got != "reg.example/app@"+dgst+"\n" {
		t.Errorf("stdout = %q", got)
	}
	got, _ := readJSONFile[map[string]any](t, meta)
	want := map[string]any{
		"buildx.build.ref":      "b-123",
		"containerimage.digest": dgst,
		"image.name":            "reg.example/app:1,reg.example/app:latest",
		"hallmark.build.id":     "b-123",
		"hallmark.image.pinned": "reg.example/app@" + dgst,
		"hallmark.bases":        []any{map[string]any{"ref": "golang:1.26", "pinned": "docker.io/library/golang@sha256:bb", "digest": "sha256:bb"}},
		"hallmark.attestations": []any{map[string]any{
			"predicateType": "https://slsa.dev/provenance/v1", "referrer": "sha256:cc", "bundleDigest": "sha256:dd",
			"signerIdentity": "https://hallmark.dev/builders/dev", "signerIssuer": "https://issuer.example", "logIndex": float64(7),
		}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("metadata =\n%v\nwant\n%v", got, want)
	}
	if b, _ := os.ReadFile(iid); string(b) != dgst {
		t.Errorf("iidfile = %q", b)
	}

	// Without tags in the result, image.name comes from the request; a
	// result without pinned is image_name@digest.
	stdout.Reset()
	res2 := &hallmarkv1.BuildResult{BuildId: "b", Digest: dgst, ImageName: "r/x"}
	if err := report(res2, &hallmarkv1.BuildRequest{Tags: []string{"reg.example/x:1"}}, &buildFlags{metadataFile: meta}, &stdout); err != nil {
		t.Fatal(err)
	}
	if stdout.String() != "r/x@"+dgst+"\n" {
		t.Errorf("stdout = %q", stdout.String())
	}
	data, _ := os.ReadFile(meta)
	if !strings.Contains(string(data), `"image.name": "reg.example/x:1"`) || !strings.Contains(string(data), `"hallmark.bases": []`) {
		t.Errorf("metadata = %s", data)
	}
}

func checkErr(t *testing.T, err error, want string) {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Fatalf("unexpected error: %v", err)
	case want != "" && err == nil:
		t.Fatalf("no error, want one containing %q", want)
	case want != "" && !strings.Contains(err.Error(), want):
		t.Fatalf("error %q does not contain %q", err, want)
	}
}

// fakeGateway is an in-process BuildService that stores uploads and answers
// builds from a script.
type fakeGateway struct {
	hallmarkv1connect.UnimplementedBuildServiceHandler

	buildErr  error         // returned after the progress, if set
	block     chan struct{} // if set, Build closes it and waits for cancellation
	cancelled chan struct{} // closed when a blocked Build sees its context end

	mu       sync.Mutex
	stored   map[string]bool
	expected []string // expected_digest of each upload
	received []int    // messages read per upload
	builds   []*hallmarkv1.BuildRequest
	auth     []string
	protos   []int
}

const testToken = "tok-very-secret-0123456789"

func (g *fakeGateway) UploadContext(ctx context.Context, s *connect.ClientStream[hallmarkv1.UploadContextRequest]) (*connect.Response[hallmarkv1.UploadContextResponse], error) {
	g.mu.Lock()
	g.auth = append(g.auth, s.RequestHeader().Get("Authorization"))
	g.mu.Unlock()
	h := sha256.New()
	var size int64
	n := 0
	expected := ""
	for s.Receive() {
		n++
		if n == 1 {
			expected = s.Msg().GetExpectedDigest()
			g.mu.Lock()
			existed := g.stored[expected]
			g.expected = append(g.expected, expected)
			g.mu.Unlock()
			if existed {
				g.mu.Lock()
				g.received = append(g.received, n)
				g.mu.Unlock()
				return connect.NewResponse(&hallmarkv1.UploadContextResponse{Digest: expected, Existed: true}), nil
			}
		}
		h.Write(s.Msg().GetChunk())
		size += int64(len(s.Msg().GetChunk()))
	}
	if err := s.Err(); err != nil {
		return nil, err
	}
	got := "sha256:" + hex.EncodeToString(h.Sum(nil))
	if expected != "" && got != expected {
		return nil, connect.NewError(connect.CodeInvalidArgument, errors.New("digest mismatch"))
	}
	g.mu.Lock()
	g.stored[got] = true
	g.received = append(g.received, n)
	g.mu.Unlock()
	return connect.NewResponse(&hallmarkv1.UploadContextResponse{Digest: got, Size: size}), nil
}

func (g *fakeGateway) Build(ctx context.Context, req *connect.Request[hallmarkv1.BuildRequest], s *connect.ServerStream[hallmarkv1.BuildResponse]) error {
	g.mu.Lock()
	g.builds = append(g.builds, req.Msg)
	g.auth = append(g.auth, req.Header().Get("Authorization"))
	known := g.stored[req.Msg.GetContextDigest()]
	g.mu.Unlock()
	if !known {
		return connect.NewError(connect.CodeNotFound, errors.New("no such context"))
	}
	base := &hallmarkv1.ResolvedBase{Ref: "golang:1.26", Pinned: "docker.io/library/golang@sha256:" + strings.Repeat("b", 64), Digest: "sha256:" + strings.Repeat("b", 64)}
	send := func(r *hallmarkv1.BuildResponse) error { return s.Send(r) }
	if err := send(&hallmarkv1.BuildResponse{Event: &hallmarkv1.BuildResponse_Accepted{Accepted: &hallmarkv1.BuildAccepted{
		BuildId: "b-42", QueuePosition: 2, Bases: []*hallmarkv1.ResolvedBase{base}}}}); err != nil {
		return err
	}
	if g.block != nil {
		close(g.block)
		<-ctx.Done()
		close(g.cancelled)
		return ctx.Err()
	}
	vd := "sha256:" + strings.Repeat("c", 64)
	v := &hallmarkv1.Vertex{Digest: vd, Name: "[2/2] RUN make", Started: nowTS()}
	if err := send(statusEvent(&hallmarkv1.SolveStatus{Vertexes: []*hallmarkv1.Vertex{v}})); err != nil {
		return err
	}
	if err := send(statusEvent(&hallmarkv1.SolveStatus{Logs: []*hallmarkv1.VertexLog{{Vertex: vd, Stream: 1, Msg: []byte("compiling\n"), Timestamp: nowTS()}}})); err != nil {
		return err
	}
	if g.buildErr != nil {
		v = proto.CloneOf(v)
		v.Completed, v.Error = nowTS(), "process \"make\" did not complete successfully: exit code: 2"
		if err := send(statusEvent(&hallmarkv1.SolveStatus{Vertexes: []*hallmarkv1.Vertex{v}})); err != nil {
			return err
		}
		return g.buildErr
	}
	v = proto.CloneOf(v)
	v.Completed = nowTS()
	if err := send(statusEvent(&hallmarkv1.SolveStatus{Vertexes: []*hallmarkv1.Vertex{v}})); err != nil {
		return err
	}
	dgst := "sha256:" + strings.Repeat("d", 64)
	return send(&hallmarkv1.BuildResponse{Event: &hallmarkv1.BuildResponse_Result{Result: &hallmarkv1.BuildResult{
		BuildId: "b-42", Digest: dgst, ImageName: "reg.example/app", Tags: req.Msg.GetTags(),
		Pinned: "reg.example/app@" + dgst, Bases: []*hallmarkv1.ResolvedBase{base}}}})
}

func nowTS() *timestamppb.Timestamp { return timestamppb.Now() }

func statusEvent(s *hallmarkv1.SolveStatus) *hallmarkv1.BuildResponse {
	return &hallmarkv1.BuildResponse{Event: &hallmarkv1.BuildResponse_Status{Status: s}}
}

// startGateway serves g with unencrypted HTTP/2 only, as hallmarkd does.
func startGateway(t *testing.T, g *fakeGateway) string {
	t.Helper()
	if g.stored == nil {
		g.stored = map[string]bool{}
	}
	path, h := hallmarkv1connect.NewBuildServiceHandler(g)
	return serveH2C(t, path, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.mu.Lock()
		g.protos = append(g.protos, r.ProtoMajor)
		g.mu.Unlock()
		h.ServeHTTP(w, r)
	}))
}

// buildContextDir writes a small context with a Dockerfile and returns it.
func buildContextDir(t *testing.T, extra map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"Dockerfile": "FROM golang:1.26\nRUN make\n", "main.go": "package main\n", "secret.env": "x"})
	writeTree(t, dir, map[string]string{".dockerignore": "*.env\n"})
	writeTree(t, dir, extra)
	return dir
}

// runCmd runs `hallmark build args...` as main would, with HALLMARK_TOKEN set.
func runCmd(ctx context.Context, t *testing.T, args ...string) runResult {
	t.Helper()
	return runGatewayCmd(ctx, t, newBuildCmd(), "", args...)
}

func TestBuildAgainstGateway(t *testing.T) {
	g := &fakeGateway{}
	gw := startGateway(t, g)
	dir := buildContextDir(t, nil)
	secretFile := filepath.Join(t.TempDir(), "npmrc")
	if err := os.WriteFile(secretFile, []byte("npm-secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	meta := filepath.Join(t.TempDir(), "meta.json")
	r := runCmd(t.Context(), t, "--gateway", gw, "-t", "reg.example/app:1", "-t", "reg.example/app:latest",
		"--build-arg", "VERSION=1.2", "--platform", "linux/amd64,linux/arm64", "--secret", "id=npm,src="+secretFile,
		"--target", "final", "--label", "team=core", "--no-cache", "--metadata-file", meta, "--progress", "plain", dir)
	if r.err != nil {
		t.Fatalf("build: %v\n%s", r.err, r.stderr)
	}
	dgst := "sha256:" + strings.Repeat("d", 64)
	if r.stdout != "reg.example/app@"+dgst+"\n" {
		t.Errorf("stdout = %q", r.stdout)
	}
	for _, want := range []string{"#0 uploading context", " done\n", "#0 build b-42 accepted", "waiting for a build slot, 2 ahead",
		"#0 pinned golang:1.26 to docker.io/library/golang@sha256:", "[2/2] RUN make", "compiling", "DONE"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}

	bc, err := newBuildContext(dir, dockerfileSpec{path: filepath.Join(dir, "Dockerfile"), rel: "Dockerfile"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	wantDigest, _ := contextDigest(t, bc)
	g.mu.Lock()
	defer g.mu.Unlock()
	if !slices.Equal(g.expected, []string{wantDigest}) {
		t.Errorf("expected_digest = %q, want %q", g.expected, wantDigest)
	}
	if !slices.Equal(g.auth, []string{"Bearer " + testToken, "Bearer " + testToken}) {
		t.Error("Authorization header missing or wrong")
	}
	for _, p := range g.protos {
		if p != 2 {
			t.Errorf("request over HTTP/%d, want HTTP/2", p)
		}
	}
	want := &hallmarkv1.BuildRequest{
		Source:     &hallmarkv1.BuildRequest_ContextDigest{ContextDigest: wantDigest},
		Dockerfile: "Dockerfile",
		Tags:       []string{"reg.example/app:1", "reg.example/app:latest"},
		BuildArgs:  map[string]string{"VERSION": "1.2"},
		Platforms:  []string{"linux/amd64", "linux/arm64"},
		Target:     "final",
		Secrets:    []*hallmarkv1.Secret{{Id: "npm", Value: []byte("npm-secret")}},
		Labels:     map[string]string{"team": "core"},
		NoCache:    true,
	}
	if len(g.builds) != 1 || !proto.Equal(g.builds[0], want) {
		t.Errorf("build request =\n%v\nwant\n%v", g.builds, want)
	}
	if strings.Contains(r.stderr, "npm-secret") {
		t.Error("the secret was printed")
	}
	m, data := readJSONFile[map[string]any](t, meta)
	if m["containerimage.digest"] != dgst || m["image.name"] != "reg.example/app:1,reg.example/app:latest" || m["buildx.build.ref"] != "b-42" {
		t.Errorf("metadata = %s", data)
	}
}

func TestBuildExistingContext(t *testing.T) {
	// A context larger than a few chunks, so that the gateway's early answer
	// arrives while chunks are still being sent.
	big := strings.Repeat("0123456789abcdef", 5<<20/16)
	dir := buildContextDir(t, map[string]string{"big.bin": big})
	bc, err := newBuildContext(dir, dockerfileSpec{path: filepath.Join(dir, "Dockerfile"), rel: "Dockerfile"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	dgst, _ := contextDigest(t, bc)
	g := &fakeGateway{stored: map[string]bool{dgst: true}}
	gw := startGateway(t, g)
	r := runCmd(t.Context(), t, "--gateway", gw, "-t", "reg.example/app:1", "--progress", "plain", dir)
	if r.err != nil {
		t.Fatalf("build: %v\n%s", r.err, r.stderr)
	}
	if !strings.Contains(r.stderr, "(cached)") {
		t.Errorf("stderr lacks (cached):\n%s", r.stderr)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if !slices.Equal(g.received, []int{1}) {
		t.Errorf("gateway read %v messages, want [1]", g.received)
	}
	if len(g.builds) != 1 || g.builds[0].GetContextDigest() != dgst {
		t.Errorf("build source = %v, want %s", g.builds, dgst)
	}
}

func TestBuildFailure(t *testing.T) {
	g := &fakeGateway{buildErr: connect.NewError(connect.CodeFailedPrecondition, errors.New("build step failed: exit code: 2"))}
	gw := startGateway(t, g)
	r := runCmd(t.Context(), t, "--gateway", gw, "-t", "reg.example/app:1", "--progress", "plain", buildContextDir(t, nil))
	if exitCodeOf(r.err) != 1 {
		t.Errorf("exit = %v, want 1", r.err)
	}
	if r.stdout != "" {
		t.Errorf("stdout = %q, want nothing", r.stdout)
	}
	const msg = "hallmark build: failed_precondition: build step failed: exit code: 2\n"
	step := strings.Index(r.stderr, "ERROR: process \"make\" did not complete successfully")
	last := strings.Index(r.stderr, msg)
	if step < 0 || last < 0 || step > last || !strings.HasSuffix(r.stderr, msg) {
		t.Errorf("stderr should show the failing step, then end with %q:\n%s", msg, r.stderr)
	}
}

func TestBuildErrorsBeforeNetwork(t *testing.T) {
	g := &fakeGateway{}
	gw := startGateway(t, g)
	dir := buildContextDir(t, nil)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{name: "no tag", args: []string{dir}, want: "hallmark build: parse --tag"},
		{name: "bad build arg", args: []string{"-t", "reg.example/x:1", "--build-arg", "=1", dir}, want: "hallmark build: parse --build-arg"},
		{name: "bad secret", args: []string{"-t", "reg.example/x:1", "--secret", "id=x,src=/nonexistent/file", dir}, want: "hallmark build: parse --secret"},
		{name: "bad platform", args: []string{"-t", "reg.example/x:1", "--platform", "a/b/c/d/e", dir}, want: "hallmark build: parse --platform"},
		{name: "bad progress", args: []string{"-t", "reg.example/x:1", "--progress", "fancy", dir}, want: "hallmark build: parse --progress"},
		{name: "missing context", args: []string{"-t", "reg.example/x:1", filepath.Join(dir, "nope")}, want: "hallmark build: find Dockerfile"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCmd(t.Context(), t, append([]string{"--gateway", gw}, tt.args...)...)
			if exitCodeOf(r.err) != 1 || !strings.HasPrefix(r.stderr, tt.want) {
				t.Errorf("err %v, stderr %q; want exit 1 and %q", r.err, r.stderr, tt.want)
			}
		})
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.protos) != 0 {
		t.Errorf("%d requests reached the gateway", len(g.protos))
	}
}

func TestBuildInterrupted(t *testing.T) {
	g := &fakeGateway{block: make(chan struct{}), cancelled: make(chan struct{})}
	gw := startGateway(t, g)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go func() {
		<-g.block // the build is running: "press Ctrl-C"
		cancel()
	}()
	r := runCmd(ctx, t, "--gateway", gw, "-t", "reg.example/app:1", "--progress", "quiet", buildContextDir(t, nil))
	if exitCodeOf(r.err) != 130 {
		t.Errorf("exit = %v, want 130", r.err)
	}
	if r.stderr != "hallmark build: interrupted\n" {
		t.Errorf("stderr = %q", r.stderr)
	}
	<-g.cancelled // the gateway saw the cancel
}

func exitCodeOf(err error) int {
	if err == nil {
		return 0
	}
	var ee exitError
	if errors.As(err, &ee) {
		return int(ee.code)
	}
	return -1
}
