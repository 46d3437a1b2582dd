package server

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"connectrpc.com/connect"

	hallmark "github.com/hallmark-dev/hallmark"
	hallmarkv1 "github.com/hallmark-dev/hallmark/proto/hallmark/v1"
)

const (
	testDigest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	testCommit = "0123456789abcdef0123456789abcdef01234567"
	testRepo   = "registry.example.com/acme/app"
	// secretValue must never appear in an error message.
	secretValue = "hunter2-TOP-SECRET-value"
)

// validRequest returns a request that uses every field and is valid.
func validRequest() *hallmarkv1.BuildRequest {
	return &hallmarkv1.BuildRequest{
		Source:           &hallmarkv1.BuildRequest_ContextDigest{ContextDigest: testDigest},
		Dockerfile:       "build/Dockerfile",
		DockerfileInline: []byte("FROM scratch\n"),
		Tags:             []string{testRepo + ":v1", testRepo + ":latest"},
		BuildArgs:        map[string]string{"VERSION": "1.2.3", "_private": ""},
		Platforms:        []string{"linux/amd64", "linux/arm64/v8"},
		Target:           "final",
		Secrets: []*hallmarkv1.Secret{
			{Id: "npmrc", Value: []byte(secretValue)},
			{Id: "gh.token_2-x", Value: []byte(secretValue + "-2")},
		},
		Labels:  map[string]string{"org.opencontainers.image.source": "https://github.com/acme/app"},
		NoCache: true,
	}
}

func gitSource(url, commit, subdir string) *hallmarkv1.BuildRequest_Git {
	return &hallmarkv1.BuildRequest_Git{Git: &hallmarkv1.GitSource{Url: url, Commit: commit, Subdir: subdir}}
}

func numbered(n int, format string) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf(format, i)
	}
	return out
}

func numberedMap(n int, format, value string) map[string]string {
	out := map[string]string{}
	for i := range n {
		out[fmt.Sprintf(format, i)] = value
	}
	return out
}

func secrets(n int) []*hallmarkv1.Secret {
	out := make([]*hallmarkv1.Secret, n)
	for i := range out {
		out[i] = &hallmarkv1.Secret{Id: fmt.Sprintf("s%d", i), Value: []byte(secretValue)}
	}
	return out
}

func TestBuildRequestValid(t *testing.T) {
	got, err := buildRequest(validRequest())
	if err != nil {
		t.Fatalf("buildRequest: %v", err)
	}
	want := hallmark.BuildRequest{
		ContextDigest:    testDigest,
		Dockerfile:       "build/Dockerfile",
		DockerfileInline: []byte("FROM scratch\n"),
		Repository:       testRepo,
		Tags:             []string{testRepo + ":v1", testRepo + ":latest"},
		BuildArgs:        map[string]string{"VERSION": "1.2.3", "_private": ""},
		Platforms:        []string{"linux/amd64", "linux/arm64/v8"},
		Target:           "final",
		Secrets:          []hallmark.Secret{{ID: "npmrc", Value: []byte(secretValue)}, {ID: "gh.token_2-x", Value: []byte(secretValue + "-2")}},
		Labels:           map[string]string{"org.opencontainers.image.source": "https://github.com/acme/app"},
		NoCache:          true,
	}
	if got.ContextDigest != want.ContextDigest || got.Git != nil || got.Dockerfile != want.Dockerfile ||
		string(got.DockerfileInline) != string(want.DockerfileInline) || got.Repository != want.Repository ||
		!slices.Equal(got.Tags, want.Tags) || !maps.Equal(got.BuildArgs, want.BuildArgs) ||
		!slices.Equal(got.Platforms, want.Platforms) || got.Target != want.Target ||
		!maps.Equal(got.Labels, want.Labels) || got.NoCache != want.NoCache {
		t.Errorf("buildRequest =\n%+v\nwant\n%+v", got, want)
	}
	if !slices.EqualFunc(got.Secrets, want.Secrets, func(a, b hallmark.Secret) bool { return a.ID == b.ID && string(a.Value) == string(b.Value) }) {
		t.Errorf("Secrets = %v, want %v", got.Secrets, want.Secrets)
	}
	if got.ID != "" || got.Requester.Issuer != "" {
		t.Errorf("buildRequest set ID %q or requester %+v; the server sets them after authorization", got.ID, got.Requester)
	}
}

func TestBuildRequestAccepts(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(r *hallmarkv1.BuildRequest)
		check  func(t *testing.T, got hallmark.BuildRequest)
	}{
		{
			name: "git source",
			mutate: func(r *hallmarkv1.BuildRequest) {
				r.Source = gitSource("https://github.com/acme/app.git", testCommit, "services/api")
			},
			check: func(t *testing.T, got hallmark.BuildRequest) {
				if got.Git == nil || *got.Git != (hallmark.GitSource{URL: "https://github.com/acme/app.git", Commit: testCommit, Subdir: "services/api"}) || got.ContextDigest != "" {
					t.Errorf("Git = %+v, ContextDigest = %q", got.Git, got.ContextDigest)
				}
			},
		},
		{name: "git http url", mutate: func(r *hallmarkv1.BuildRequest) {
			r.Source = gitSource("http://git.internal.example/acme/app", testCommit, "")
		}},
		{name: "git ssh url", mutate: func(r *hallmarkv1.BuildRequest) { r.Source = gitSource("git@github.com:acme/app.git", testCommit, "") }},
		{name: "git sha256 commit", mutate: func(r *hallmarkv1.BuildRequest) {
			r.Source = gitSource("https://x.example/r", strings.Repeat("ab", 32), "")
		}},
		{name: "dockerfile with dots that do not leave", mutate: func(r *hallmarkv1.BuildRequest) { r.Dockerfile = "a/..b/.../Dockerfile..x" }},
		{name: "no dockerfile path", mutate: func(r *hallmarkv1.BuildRequest) { r.Dockerfile = "" }},
		{name: "inline dockerfile of exactly 1 MiB", mutate: func(r *hallmarkv1.BuildRequest) { r.DockerfileInline = make([]byte, 1<<20) }},
		{name: "one tag", mutate: func(r *hallmarkv1.BuildRequest) { r.Tags = []string{testRepo + ":v1"} }},
		{name: "32 tags", mutate: func(r *hallmarkv1.BuildRequest) { r.Tags = numbered(32, testRepo+":v%d") }},
		{name: "registry with port", mutate: func(r *hallmarkv1.BuildRequest) { r.Tags = []string{"127.0.0.1:5000/team/app:v1"} }, check: func(t *testing.T, got hallmark.BuildRequest) {
			if got.Repository != "127.0.0.1:5000/team/app" {
				t.Errorf("Repository = %q", got.Repository)
			}
		}},
		{name: "200 build args", mutate: func(r *hallmarkv1.BuildRequest) { r.BuildArgs = numberedMap(200, "A%d", "v") }},
		{name: "build arg value at the limit", mutate: func(r *hallmarkv1.BuildRequest) { r.BuildArgs = map[string]string{"A": strings.Repeat("v", 32<<10)} }},
		{name: "8 platforms", mutate: func(r *hallmarkv1.BuildRequest) { r.Platforms = numbered(8, "linux/arch%d") }},
		{name: "no target", mutate: func(r *hallmarkv1.BuildRequest) { r.Target = "" }},
		{name: "32 secrets", mutate: func(r *hallmarkv1.BuildRequest) { r.Secrets = secrets(32) }},
		{name: "secret at the limit", mutate: func(r *hallmarkv1.BuildRequest) { r.Secrets[0].Value = make([]byte, 512<<10) }},
		{name: "100 labels", mutate: func(r *hallmarkv1.BuildRequest) { r.Labels = numberedMap(100, "l%d", "v") }},
		{name: "label value at the limit", mutate: func(r *hallmarkv1.BuildRequest) { r.Labels = map[string]string{"k": strings.Repeat("v", 4<<10)} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := validRequest()
			tt.mutate(r)
			got, err := buildRequest(r)
			if err != nil {
				t.Fatalf("buildRequest: %v", err)
			}
			if tt.check != nil {
				tt.check(t, got)
			}
		})
	}
}

func TestBuildRequestRejects(t *testing.T) {
	long := strings.Repeat("x", 5000)
	tests := []struct {
		name   string
		mutate func(r *hallmarkv1.BuildRequest)
		class  error
		// field is what the message starts with once the class is cut off.
		field string
	}{
		// source
		{name: "no source", mutate: func(r *hallmarkv1.BuildRequest) { r.Source = nil }, field: "source:"},
		{name: "digest without algorithm", mutate: func(r *hallmarkv1.BuildRequest) {
			r.Source = &hallmarkv1.BuildRequest_ContextDigest{ContextDigest: strings.TrimPrefix(testDigest, "sha256:")}
		}, field: "context_digest:"},
		{name: "digest too short", mutate: func(r *hallmarkv1.BuildRequest) {
			r.Source = &hallmarkv1.BuildRequest_ContextDigest{ContextDigest: "sha256:abc"}
		}, field: "context_digest:"},
		{name: "digest upper case", mutate: func(r *hallmarkv1.BuildRequest) {
			r.Source = &hallmarkv1.BuildRequest_ContextDigest{ContextDigest: strings.ToUpper(testDigest)}
		}, field: "context_digest:"},
		{name: "digest sha512", mutate: func(r *hallmarkv1.BuildRequest) {
			r.Source = &hallmarkv1.BuildRequest_ContextDigest{ContextDigest: "sha512:" + strings.Repeat("a", 128)}
		}, field: "context_digest:"},
		{name: "empty digest", mutate: func(r *hallmarkv1.BuildRequest) {
			r.Source = &hallmarkv1.BuildRequest_ContextDigest{}
		}, field: "context_digest:"},
		{name: "git ssh scheme url", mutate: func(r *hallmarkv1.BuildRequest) {
			r.Source = gitSource("ssh://git@github.com/acme/app", testCommit, "")
		}, field: "git.url:"},
		{name: "git url with fragment", mutate: func(r *hallmarkv1.BuildRequest) {
			r.Source = gitSource("https://github.com/acme/app#main", testCommit, "")
		}, field: "git.url:"},
		{name: "git url with query", mutate: func(r *hallmarkv1.BuildRequest) {
			r.Source = gitSource("https://github.com/acme/app?ref=x", testCommit, "")
		}, field: "git.url:"},
		{name: "git url with space", mutate: func(r *hallmarkv1.BuildRequest) { r.Source = gitSource("git@github.com:acme/a pp", testCommit, "") }, field: "git.url:"},
		{name: "git file url", mutate: func(r *hallmarkv1.BuildRequest) { r.Source = gitSource("file:///etc", testCommit, "") }, field: "git.url:"},
		{name: "git empty url", mutate: func(r *hallmarkv1.BuildRequest) { r.Source = gitSource("", testCommit, "") }, field: "git.url:"},
		{name: "git url too long", mutate: func(r *hallmarkv1.BuildRequest) { r.Source = gitSource("https://x.example/"+long, testCommit, "") }, field: "git.url:"},
		{name: "git branch", mutate: func(r *hallmarkv1.BuildRequest) { r.Source = gitSource("https://x.example/r", "main", "") }, field: "git.commit:"},
		{name: "git short commit", mutate: func(r *hallmarkv1.BuildRequest) { r.Source = gitSource("https://x.example/r", testCommit[:12], "") }, field: "git.commit:"},
		{name: "git upper case commit", mutate: func(r *hallmarkv1.BuildRequest) {
			r.Source = gitSource("https://x.example/r", strings.ToUpper(testCommit), "")
		}, field: "git.commit:"},
		{name: "git subdir with colon", mutate: func(r *hallmarkv1.BuildRequest) { r.Source = gitSource("https://x.example/r", testCommit, "a:b") }, field: "git.subdir:"},
		{name: "git subdir with fragment", mutate: func(r *hallmarkv1.BuildRequest) { r.Source = gitSource("https://x.example/r", testCommit, "a#b") }, field: "git.subdir:"},
		{name: "git subdir leaves", mutate: func(r *hallmarkv1.BuildRequest) { r.Source = gitSource("https://x.example/r", testCommit, "a/../../b") }, field: "git.subdir:"},
		// dockerfile
		{name: "dockerfile parent", mutate: func(r *hallmarkv1.BuildRequest) { r.Dockerfile = "../Dockerfile" }, field: "dockerfile:"},
		{name: "dockerfile parent in the middle", mutate: func(r *hallmarkv1.BuildRequest) { r.Dockerfile = "a/../../Dockerfile" }, field: "dockerfile:"},
		{name: "dockerfile is parent", mutate: func(r *hallmarkv1.BuildRequest) { r.Dockerfile = ".." }, field: "dockerfile:"},
		{name: "dockerfile with NUL", mutate: func(r *hallmarkv1.BuildRequest) { r.Dockerfile = "Docker\x00file" }, field: "dockerfile:"},
		{name: "dockerfile path too long", mutate: func(r *hallmarkv1.BuildRequest) { r.Dockerfile = long }, field: "dockerfile:"},
		{name: "inline dockerfile over 1 MiB", mutate: func(r *hallmarkv1.BuildRequest) { r.DockerfileInline = make([]byte, 1<<20+1) }, class: hallmark.ErrTooLarge, field: "dockerfile_inline:"},
		// tags
		{name: "no tags", mutate: func(r *hallmarkv1.BuildRequest) { r.Tags = nil }, field: "tags:"},
		{name: "too many tags", mutate: func(r *hallmarkv1.BuildRequest) { r.Tags = numbered(33, testRepo+":v%d") }, field: "tags:"},
		{name: "tag with digest", mutate: func(r *hallmarkv1.BuildRequest) { r.Tags = []string{testRepo + ":v1", testRepo + "@" + testDigest} }, field: "tags[1]:"},
		{name: "tag and digest", mutate: func(r *hallmarkv1.BuildRequest) { r.Tags = []string{testRepo + ":v1@" + testDigest} }, field: "tags[0]:"},
		{name: "tag missing", mutate: func(r *hallmarkv1.BuildRequest) { r.Tags = []string{testRepo} }, field: "tags[0]:"},
		{name: "bad tag", mutate: func(r *hallmarkv1.BuildRequest) { r.Tags = []string{testRepo + ":v1", testRepo + ":bad tag"} }, field: "tags[1]:"},
		{name: "upper case repository", mutate: func(r *hallmarkv1.BuildRequest) { r.Tags = []string{"registry.example.com/ACME/app:v1"} }, field: "tags[0]:"},
		{name: "empty tag", mutate: func(r *hallmarkv1.BuildRequest) { r.Tags = []string{""} }, field: "tags[0]:"},
		{name: "tags of two repositories", mutate: func(r *hallmarkv1.BuildRequest) {
			r.Tags = []string{testRepo + ":v1", testRepo + ":v2", "registry.example.com/acme/other:v1"}
		}, field: "tags[2]:"},
		{name: "tags of two registries", mutate: func(r *hallmarkv1.BuildRequest) {
			r.Tags = []string{testRepo + ":v1", "mirror.example.com/acme/app:v1"}
		}, field: "tags[1]:"},
		// build args
		{name: "too many build args", mutate: func(r *hallmarkv1.BuildRequest) { r.BuildArgs = numberedMap(201, "A%d", "v") }, field: "build_args:"},
		{name: "build arg starts with digit", mutate: func(r *hallmarkv1.BuildRequest) { r.BuildArgs = map[string]string{"1A": "v"} }, field: "build_args:"},
		{name: "build arg with dash", mutate: func(r *hallmarkv1.BuildRequest) { r.BuildArgs = map[string]string{"A-B": "v"} }, field: "build_args:"},
		{name: "build arg empty name", mutate: func(r *hallmarkv1.BuildRequest) { r.BuildArgs = map[string]string{"": "v"} }, field: "build_args:"},
		{name: "build arg name too long", mutate: func(r *hallmarkv1.BuildRequest) { r.BuildArgs = map[string]string{strings.Repeat("A", 257): "v"} }, field: "build_args:"},
		{name: "cache mount namespace build arg", mutate: func(r *hallmarkv1.BuildRequest) { r.BuildArgs["BUILDKIT_CACHE_MOUNT_NS"] = "tenant-b" }, field: "build_args: BUILDKIT_CACHE_MOUNT_NS is a BuildKit control argument"},
		{name: "syntax build arg", mutate: func(r *hallmarkv1.BuildRequest) { r.BuildArgs["BUILDKIT_SYNTAX"] = "evil/frontend" }, field: "build_args: BUILDKIT_SYNTAX is a BuildKit control argument"},
		{name: "any BUILDKIT_ build arg", mutate: func(r *hallmarkv1.BuildRequest) { r.BuildArgs["BUILDKIT_CONTEXT_KEEP_GIT_DIR"] = "" }, field: "build_args: BUILDKIT_CONTEXT_KEEP_GIT_DIR is a BuildKit control argument"},
		{name: "build arg value too large", mutate: func(r *hallmarkv1.BuildRequest) {
			r.BuildArgs = map[string]string{"A": strings.Repeat("v", 32<<10+1)}
		}, field: "build_args:"},
		// platforms
		{name: "too many platforms", mutate: func(r *hallmarkv1.BuildRequest) { r.Platforms = numbered(9, "linux/arch%d") }, field: "platforms:"},
		{name: "platform without arch", mutate: func(r *hallmarkv1.BuildRequest) { r.Platforms = []string{"linux"} }, field: "platforms:"},
		{name: "platform upper case", mutate: func(r *hallmarkv1.BuildRequest) { r.Platforms = []string{"Linux/amd64"} }, field: "platforms:"},
		{name: "platform too many parts", mutate: func(r *hallmarkv1.BuildRequest) { r.Platforms = []string{"linux/arm/v7/x"} }, field: "platforms:"},
		{name: "empty platform", mutate: func(r *hallmarkv1.BuildRequest) { r.Platforms = []string{"linux/amd64", ""} }, field: "platforms:"},
		// target
		{name: "target starts with digit", mutate: func(r *hallmarkv1.BuildRequest) { r.Target = "1stage" }, field: "target:"},
		{name: "target with space", mutate: func(r *hallmarkv1.BuildRequest) { r.Target = "my stage" }, field: "target:"},
		{name: "target too long", mutate: func(r *hallmarkv1.BuildRequest) { r.Target = "a" + strings.Repeat("b", 128) }, field: "target:"},
		// secrets
		{name: "too many secrets", mutate: func(r *hallmarkv1.BuildRequest) { r.Secrets = secrets(33) }, field: "secrets:"},
		{name: "empty secret id", mutate: func(r *hallmarkv1.BuildRequest) { r.Secrets[1].Id = "" }, field: "secrets[1].id:"},
		{name: "secret id with slash", mutate: func(r *hallmarkv1.BuildRequest) { r.Secrets[0].Id = "../etc" }, field: "secrets[0].id:"},
		{name: "secret id too long", mutate: func(r *hallmarkv1.BuildRequest) { r.Secrets[0].Id = strings.Repeat("a", 129) }, field: "secrets[0].id:"},
		{name: "duplicate secret id", mutate: func(r *hallmarkv1.BuildRequest) { r.Secrets[1].Id = r.Secrets[0].Id }, field: "secrets[1].id:"},
		{name: "secret value too large", mutate: func(r *hallmarkv1.BuildRequest) {
			r.Secrets[1].Value = []byte(strings.Repeat(secretValue, 512<<10/len(secretValue)+1))
		}, class: hallmark.ErrTooLarge, field: "secrets[1] (gh.token_2-x):"},
		// labels
		{name: "too many labels", mutate: func(r *hallmarkv1.BuildRequest) { r.Labels = numberedMap(101, "l%d", "v") }, field: "labels:"},
		{name: "empty label key", mutate: func(r *hallmarkv1.BuildRequest) { r.Labels = map[string]string{"": "v"} }, field: "labels:"},
		{name: "label key too long", mutate: func(r *hallmarkv1.BuildRequest) { r.Labels = map[string]string{strings.Repeat("k", 257): "v"} }, field: "labels:"},
		{name: "label value too large", mutate: func(r *hallmarkv1.BuildRequest) { r.Labels = map[string]string{"k": strings.Repeat("v", 4<<10+1)} }, field: "labels:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			class := tt.class
			if class == nil {
				class = hallmark.ErrInvalid
			}
			r := validRequest()
			tt.mutate(r)
			_, err := buildRequest(r)
			if !errors.Is(err, class) {
				t.Fatalf("buildRequest error = %v, want one wrapping %q", err, class)
			}
			msg := err.Error()
			if rest, ok := strings.CutPrefix(msg, class.Error()+": "); !ok || !strings.HasPrefix(rest, tt.field) {
				t.Errorf("error %q does not start with %q and then %q", msg, class.Error()+": ", tt.field)
			}
			if strings.Contains(msg, secretValue) {
				t.Errorf("error %q contains a secret value", msg)
			}
			// Caller-supplied strings are clipped, never echoed whole.
			if len(msg) > 600 {
				t.Errorf("error is %d bytes long: %.200q…", len(msg), msg)
			}
			// The public message, as the caller sees it, names the field.
			if ce := publicError(connectCodeOf(t, err), err); !strings.HasPrefix(ce.Message(), tt.field) {
				t.Errorf("public message %q does not start with %q", ce.Message(), tt.field)
			}
		})
	}
}

// connectCodeOf returns the code err is classified as, failing if it is not.
func connectCodeOf(t *testing.T, err error) connect.Code {
	t.Helper()
	code, ok := classify(err)
	if !ok {
		t.Fatalf("error %q is not classified", err)
	}
	return code
}
