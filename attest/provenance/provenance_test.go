package provenance

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	slsav1 "github.com/in-toto/attestation/go/predicates/provenance/v1"
	attv1 "github.com/in-toto/attestation/go/v1"
	"google.golang.org/protobuf/encoding/protojson"

	hallmark "github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/internal/golden"
	"github.com/hallmark-dev/hallmark/internal/intoto"
)

const (
	contextDigest = hallmark.Digest("sha256:c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0")
	imageDigest   = hallmark.Digest("sha256:1111111111111111111111111111111111111111111111111111111111111111")
	golangDigest  = hallmark.Digest("sha256:2222222222222222222222222222222222222222222222222222222222222222")
	staticDigest  = hallmark.Digest("sha256:3333333333333333333333333333333333333333333333333333333333333333")
	dfDigest      = hallmark.Digest("sha256:4444444444444444444444444444444444444444444444444444444444444444")
	commit        = "0123456789abcdef0123456789abcdef01234567"
	bkRevision    = "89abcdef0123456789abcdef0123456789abcdef"
	builderID     = "https://hallmark.example.com/builders/prod"

	secretValue  = "machine example.com login ci password hunter2-hunter2"
	npmToken     = "npm_0123456789abcdefghij"
	accessToken  = "ghs_access0123456789token"
	idToken      = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"
	gitURLSecret = "ghp_urlcredential0123456789"
)

var (
	started = time.Date(2026, 3, 14, 15, 9, 26, 535000000, time.FixedZone("CET", 3600))
	solved  = started.Add(42*time.Second + 123*time.Millisecond)
)

// inlineDockerfile is the Dockerfile of the inline test build.
var inlineDockerfile = []byte("FROM localhost:5000/hallmark/static:v1@" + string(staticDigest) + "\nCOPY hello /hello\nUSER 65532:65532\nENTRYPOINT [\"/hello\"]\n")

func inlineDigest() hallmark.Digest {
	sum := sha256.Sum256(inlineDockerfile)
	return hallmark.Digest("sha256:" + hex.EncodeToString(sum[:]))
}

// githubIdentity is a GitHub Actions caller, with claims that must be kept
// and claims that must not reach the provenance.
func githubIdentity() hallmark.Identity {
	return hallmark.Identity{
		Issuer:  "https://token.actions.githubusercontent.com",
		Subject: "repo:acme/app:ref:refs/heads/main",
		Claims: map[string]any{
			"iss":                   "https://token.actions.githubusercontent.com",
			"sub":                   "repo:acme/app:ref:refs/heads/main",
			"aud":                   "hallmark",
			"exp":                   float64(1773497666),
			"iat":                   float64(1773497366),
			"jti":                   "4c2d8e9a-unique",
			"repository":            "acme/app",
			"repository_id":         "123456",
			"repository_owner":      "acme",
			"ref":                   "refs/heads/main",
			"ref_type":              "branch",
			"sha":                   commit,
			"workflow":              "release",
			"job_workflow_ref":      "acme/app/.github/workflows/release.yml@refs/heads/main",
			"actor":                 "octocat",
			"run_id":                "987654321",
			"run_attempt":           "1",
			"event_name":            "push",
			"runner_environment":    "github-hosted",
			"repository_visibility": "private",
			"access_token":          accessToken,
			"id_token":              idToken,
			"token":                 accessToken,
			"password":              secretValue,
			"email":                 "octocat@example.com",
		},
	}
}

func uploadBuild() Build {
	return Build{
		Request: hallmark.BuildRequest{
			ID:            "bld_01HZUPLOAD",
			Requester:     githubIdentity(),
			ContextDigest: contextDigest,
			Dockerfile:    "./deploy//Dockerfile.prod",
			Repository:    "registry.example.com:5000/acme/app",
			Tags:          []string{"registry.example.com:5000/acme/app:1.2.3", "registry.example.com:5000/acme/app:latest"},
			BuildArgs: map[string]string{
				"GO_VERSION":  "1.26.8",
				"APP_VERSION": "1.2.3",
				"NPM_TOKEN":   npmToken,
				"GREETING":    "<hello & welcome>",
			},
			Platforms: []string{"linux/amd64", "linux/arm64"},
			Target:    "runtime",
			Secrets: []hallmark.Secret{
				{ID: "netrc", Value: []byte(secretValue)},
				{ID: "api_key", Value: []byte("k-9f8e7d6c5b4a3210")},
			},
			Labels: map[string]string{
				"org.opencontainers.image.source":  "https://github.com/acme/app",
				"org.opencontainers.image.version": "1.2.3",
			},
		},
		Result: hallmark.BuildResult{
			ID:         "bld_01HZUPLOAD",
			Digest:     imageDigest,
			Repository: "registry.example.com:5000/acme/app",
			Pinned:     "registry.example.com:5000/acme/app@" + string(imageDigest),
			Bases: []hallmark.ResolvedBase{
				{Ref: "golang:1.26.8", Pinned: "index.docker.io/library/golang@" + string(golangDigest), Digest: golangDigest},
				{Ref: "localhost:5000/hallmark/static:v1", Pinned: "localhost:5000/hallmark/static@" + string(staticDigest), Digest: staticDigest},
			},
			Started:          started,
			Solved:           solved,
			Finished:         solved.Add(5 * time.Second),
			BuildKit:         hallmark.BuildKitInfo{Version: "v0.34.2", Revision: bkRevision},
			Frontend:         FrontendDockerfile,
			CacheScope:       "acme-shared",
			Network:          hallmark.NetworkDefault,
			DockerfileDigest: dfDigest,
			Warnings: []string{
				"HallmarkAptGetUnpinned: apt-get install without pinned versions (git); pin each as package=version for a reproducible image (line 4)",
				"SecretsUsedInArgOrEnv: Do not use ARG or ENV instructions for sensitive data (ARG \"NPM_TOKEN\")",
			},
			BasePolicy: &hallmark.BasePolicy{Mode: "pin", Bases: []hallmark.BaseDecision{
				{Ref: "golang:1.26.8", Digest: golangDigest, AllowedBy: "docker.io/library/*"},
				{Ref: "localhost:5000/hallmark/static:v1", Digest: staticDigest, AllowedBy: "localhost:5000/hallmark/*", Runtime: true},
			}},
		},
		BuilderID:       builderID,
		HallmarkVersion: "v0.3.0",
	}
}

func gitBuild() Build {
	return Build{
		Request: hallmark.BuildRequest{
			ID: "bld_01HZGIT",
			Requester: hallmark.Identity{
				Issuer:  "https://gitlab.example.com",
				Subject: "project_path:acme/app:ref_type:tag:ref:v2.0.0",
				Claims: map[string]any{
					"namespace_path":    "acme",
					"project_path":      "acme/app",
					"pipeline_id":       json.Number("4242"),
					"job_id":            float64(77),
					"ref":               "v2.0.0",
					"ref_type":          "tag",
					"ref_protected":     true,
					"user_login":        "alice",
					"user_email":        "alice@example.com",
					"ci_config_ref_uri": "gitlab.example.com/acme/app//.gitlab-ci.yml@refs/tags/v2.0.0",
				},
			},
			Git: &hallmark.GitSource{
				URL:    "https://oauth2:" + gitURLSecret + "@gitlab.example.com/acme/app.git",
				Commit: commit,
				Subdir: "/services/api/",
			},
			Repository: "registry.example.com/acme/api",
			Tags:       []string{"registry.example.com/acme/api:v2.0.0"},
		},
		Result: hallmark.BuildResult{
			ID:         "bld_01HZGIT",
			Digest:     imageDigest,
			Repository: "registry.example.com/acme/api",
			Bases: []hallmark.ResolvedBase{
				{Ref: "localhost:5000/hallmark/golang:1.26.8", Pinned: "localhost:5000/hallmark/golang@" + string(golangDigest), Digest: golangDigest},
				{Ref: "localhost:5000/hallmark/static:v1", Pinned: "localhost:5000/hallmark/static@" + string(staticDigest), Digest: staticDigest},
				{Ref: "localhost:5000/hallmark/static:v1", Pinned: "localhost:5000/hallmark/static@" + string(staticDigest), Digest: staticDigest},
			},
			Started:          started.UTC(),
			Solved:           solved.UTC(),
			BuildKit:         hallmark.BuildKitInfo{Version: "v0.34.2", Revision: bkRevision},
			Frontend:         FrontendDockerfile,
			CacheScope:       "registry.example.com/acme/api",
			Network:          hallmark.NetworkNone,
			DockerfileDigest: dfDigest,
		},
		BuilderID: builderID,
	}
}

func inlineBuild() Build {
	return Build{
		Request: hallmark.BuildRequest{
			ID: "bld_01HZINLINE",
			Requester: hallmark.Identity{
				Issuer:  "https://kubernetes.default.svc.cluster.local",
				Subject: "system:serviceaccount:ci:builder",
				Claims: map[string]any{
					"kubernetes.io": map[string]any{
						"namespace":      "ci",
						"serviceaccount": map[string]any{"name": "builder", "uid": "5f1b-uid"},
						"pod":            map[string]any{"name": "runner-abc", "uid": "9e3c-uid"},
						"secret":         map[string]any{"name": "should-not-appear"},
					},
				},
			},
			ContextDigest:    contextDigest,
			Dockerfile:       "ignored/Dockerfile",
			DockerfileInline: inlineDockerfile,
			Repository:       "localhost:5000/e2e/hello",
			Tags:             []string{"localhost:5000/e2e/hello:dev"},
			NoCache:          true,
		},
		Result: hallmark.BuildResult{
			ID:         "bld_01HZINLINE",
			Digest:     imageDigest,
			Repository: "localhost:5000/e2e/hello",
			Bases: []hallmark.ResolvedBase{
				{Ref: "localhost:5000/hallmark/static:v1@" + string(staticDigest), Pinned: "localhost:5000/hallmark/static@" + string(staticDigest), Digest: staticDigest},
			},
			Started:          started,
			Solved:           started, // a fully cached build
			BuildKit:         hallmark.BuildKitInfo{Version: "v0.0.0+unknown"},
			Frontend:         FrontendDockerfile,
			CacheScope:       "localhost:5000/e2e/hello",
			Network:          hallmark.NetworkDefault,
			DockerfileDigest: inlineDigest(),
			BasePolicy: &hallmark.BasePolicy{Mode: "require-digest", Bases: []hallmark.BaseDecision{
				{Ref: "localhost:5000/hallmark/static:v1@" + string(staticDigest), Digest: staticDigest, Runtime: true},
			}},
		},
		BuilderID:       builderID,
		HallmarkVersion: "(devel)",
	}
}

var goldenCases = []struct {
	name  string
	build func() Build
}{
	{"upload", uploadBuild},
	{"git", gitBuild},
	{"inline", inlineBuild},
	{"syntax", syntaxBuild},
}

func TestPredicateGolden(t *testing.T) {
	for _, tc := range goldenCases {
		t.Run(tc.name, func(t *testing.T) {
			got := predicate(t, tc.build())
			for range 5 { // maps are iterated in a new order each time
				if again := predicate(t, tc.build()); !bytes.Equal(got, again) {
					t.Fatalf("output differs between runs:\n%s\n%s", got, again)
				}
			}
			var compact bytes.Buffer
			if err := json.Compact(&compact, got); err != nil || !bytes.Equal(compact.Bytes(), got) {
				t.Fatalf("output is not compact JSON (%v)", err)
			}
			var indented bytes.Buffer
			if err := json.Indent(&indented, got, "", "  "); err != nil {
				t.Fatal(err)
			}
			indented.WriteByte('\n')
			goldenPath := filepath.Join("testdata", tc.name+".golden.json")
			golden.Check(t, goldenPath, indented.Bytes())
		})
	}
}

// TestPredicateInTotoBindings reads every golden build with the in-toto Go
// bindings, strictly, and runs their validation, alone and in a statement.
func TestPredicateInTotoBindings(t *testing.T) {
	strict := protojson.UnmarshalOptions{DiscardUnknown: false}
	for _, tc := range goldenCases {
		t.Run(tc.name, func(t *testing.T) {
			b := tc.build()
			got := predicate(t, b)
			var p slsav1.Provenance
			if err := strict.Unmarshal(got, &p); err != nil {
				t.Fatalf("protojson: %v", err)
			}
			if err := p.Validate(); err != nil {
				t.Fatalf("in-toto validate: %v", err)
			}
			if p.GetBuildDefinition().GetBuildType() != BuildType || p.GetRunDetails().GetBuilder().GetId() != builderID ||
				p.GetRunDetails().GetMetadata().GetInvocationId() != b.Result.ID ||
				!p.GetRunDetails().GetMetadata().GetStartedOn().AsTime().Equal(b.Result.Started) ||
				!p.GetRunDetails().GetMetadata().GetFinishedOn().AsTime().Equal(b.Result.Solved) {
				t.Fatalf("unexpected provenance %v", &p)
			}

			st, err := intoto.Statement(b.Result.Repository, b.Result.Digest, hallmark.PredicateSLSAProvenanceV1, json.RawMessage(got))
			if err != nil {
				t.Fatal(err)
			}
			var s attv1.Statement
			if err := strict.Unmarshal(st, &s); err != nil {
				t.Fatalf("protojson statement: %v", err)
			}
			if err := s.Validate(); err != nil {
				t.Fatalf("in-toto validate statement: %v", err)
			}
		})
	}
}

// TestNoSecretsOrTokens checks that no secret value, token or credential in
// the inputs reaches the provenance, and that no field is named like one.
func TestNoSecretsOrTokens(t *testing.T) {
	forbiddenValues := []string{
		secretValue, "k-9f8e7d6c5b4a3210", npmToken, accessToken, idToken, gitURLSecret,
		"oauth2", "octocat@example.com", "alice@example.com", "should-not-appear", "4c2d8e9a-unique",
	}
	forbiddenKey := regexp.MustCompile(`(?i)token|passw|credential|email|^aud$|^exp$|^iat$|^jti$`)
	for _, tc := range goldenCases {
		t.Run(tc.name, func(t *testing.T) {
			got := predicate(t, tc.build())
			for _, v := range forbiddenValues {
				if bytes.Contains(got, []byte(v)) {
					t.Errorf("output contains %q", v)
				}
			}
			var doc any
			if err := json.Unmarshal(got, &doc); err != nil {
				t.Fatal(err)
			}
			walkKeys(doc, func(k string) {
				if forbiddenKey.MatchString(k) {
					t.Errorf("output has a field named %q", k)
				}
			})
		})
	}
}

func walkKeys(v any, f func(string)) {
	switch v := v.(type) {
	case map[string]any:
		for k, child := range v {
			f(k)
			walkKeys(child, f)
		}
	case []any:
		for _, child := range v {
			walkKeys(child, f)
		}
	}
}

func TestPredicateRefusesLeakedSecret(t *testing.T) {
	tests := []struct {
		name string
		edit func(b *Build)
	}{
		{"secret in a build arg", func(b *Build) { b.Request.BuildArgs["NETRC_CONTENT"] = secretValue }},
		{"secret inside a label", func(b *Build) { b.Request.Labels["note"] = "creds: " + secretValue }},
		{"redacted arg under another name", func(b *Build) { b.Request.BuildArgs["NPM"] = npmToken }},
		{"secret needing JSON escapes", func(b *Build) {
			v := "line1\n\"quoted\" <tag>"
			b.Request.Secrets = append(b.Request.Secrets, hallmark.Secret{ID: "multi", Value: []byte(v)})
			b.Request.Labels["x"] = v
		}},
		{"secret in a warning", func(b *Build) { b.Result.Warnings = append(b.Result.Warnings, "ARG NETRC="+secretValue) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := uploadBuild()
			tt.edit(&b)
			out, err := Predicate(b)
			if !errors.Is(err, hallmark.ErrInvalid) {
				t.Fatalf("Predicate: %v; want ErrInvalid", err)
			}
			if out != nil || strings.Contains(err.Error(), secretValue) || strings.Contains(err.Error(), npmToken) {
				t.Fatalf("error or output reveals the secret: %v", err)
			}
		})
	}

	t.Run("short secrets are not scanned", func(t *testing.T) {
		b := uploadBuild()
		b.Request.Secrets = append(b.Request.Secrets, hallmark.Secret{ID: "pin", Value: []byte("1.2.3")})
		if _, err := Predicate(b); err != nil {
			t.Fatal(err)
		}
	})
}

func TestPredicateErrors(t *testing.T) {
	tests := []struct {
		name string
		base func() Build
		edit func(b *Build)
	}{
		{"no builder id", uploadBuild, func(b *Build) { b.BuilderID = "" }},
		{"relative builder id", uploadBuild, func(b *Build) { b.BuilderID = "builders/prod" }},
		{"builder id with space", uploadBuild, func(b *Build) { b.BuilderID = "https://x.dev/a b" }},
		{"no build id", uploadBuild, func(b *Build) { b.Result.ID = "" }},
		{"ids differ", uploadBuild, func(b *Build) { b.Result.ID = "other" }},
		{"no start time", uploadBuild, func(b *Build) { b.Result.Started = time.Time{} }},
		{"no solve time", uploadBuild, func(b *Build) { b.Result.Solved = time.Time{} }},
		{"solved before start", uploadBuild, func(b *Build) { b.Result.Solved = b.Result.Started.Add(-time.Second) }},
		{"other frontend", uploadBuild, func(b *Build) { b.Result.Frontend = "gateway.v0" }},
		{"no frontend", uploadBuild, func(b *Build) { b.Result.Frontend = "" }},
		{"bad dockerfile digest", uploadBuild, func(b *Build) { b.Result.DockerfileDigest = "sha256:abc" }},
		{"inline digest mismatch", inlineBuild, func(b *Build) { b.Result.DockerfileDigest = dfDigest }},
		{"no source", uploadBuild, func(b *Build) { b.Request.ContextDigest = "" }},
		{"both sources", gitBuild, func(b *Build) { b.Request.ContextDigest = contextDigest }},
		{"short commit", gitBuild, func(b *Build) { b.Request.Git.Commit = "0123456" }},
		{"branch commit", gitBuild, func(b *Build) { b.Request.Git.Commit = "main" }},
		{"ftp git url", gitBuild, func(b *Build) { b.Request.Git.URL = "ftp://example.com/a.git" }},
		{"git url with query", gitBuild, func(b *Build) { b.Request.Git.URL = "https://example.com/a.git?token=x" }},
		{"git url with fragment", gitBuild, func(b *Build) { b.Request.Git.URL = "https://example.com/a.git#main" }},
		{"relative git url", gitBuild, func(b *Build) { b.Request.Git.URL = "a/b.git" }},
		{"subdir with fragment", gitBuild, func(b *Build) { b.Request.Git.Subdir = "a#b" }},
		{"bad base digest", uploadBuild, func(b *Build) { b.Result.Bases[0].Digest = "sha256:xyz" }},
		{"bad base ref", uploadBuild, func(b *Build) { b.Result.Bases[0].Ref = "UPPER/Case:!" }},
		{"bad base policy mode", uploadBuild, func(b *Build) { b.Result.BasePolicy.Mode = "trust-me" }},
		{"base policy digest not pinned", uploadBuild, func(b *Build) { b.Result.BasePolicy.Bases[0].Digest = imageDigest }},
		{"base policy base not built", uploadBuild, func(b *Build) { b.Result.BasePolicy.Bases[0].Ref = "golang:1.27" }},
		{"base policy bad digest", uploadBuild, func(b *Build) { b.Result.BasePolicy.Bases[0].Digest = "sha256:xyz" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := tt.base()
			tt.edit(&b)
			out, err := Predicate(b)
			if err == nil {
				t.Fatalf("Predicate succeeded:\n%s", out)
			}
			if strings.Contains(err.Error(), gitURLSecret) {
				t.Fatalf("error reveals the git credential: %v", err)
			}
		})
	}
}

func TestGitURL(t *testing.T) {
	tests := []struct {
		raw, shown, uri string
	}{
		{"https://github.com/acme/app.git", "https://github.com/acme/app.git", "https://github.com/acme/app.git"},
		{"https://x-access-token:ghs_x@github.com/acme/app", "https://github.com/acme/app", "https://github.com/acme/app"},
		{"https://ghp_only@github.com/acme/app", "https://github.com/acme/app", "https://github.com/acme/app"},
		{"http://git.internal:8080/acme/app.git", "http://git.internal:8080/acme/app.git", "http://git.internal:8080/acme/app.git"},
		{"git@github.com:acme/app.git", "git@github.com:acme/app.git", "ssh://git@github.com/acme/app.git"},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			shown, uri, err := gitURL(tt.raw)
			if err != nil {
				t.Fatal(err)
			}
			if shown != tt.shown || uri != tt.uri {
				t.Fatalf("gitURL(%q) = %q, %q; want %q, %q", tt.raw, shown, uri, tt.shown, tt.uri)
			}
		})
	}
}

func TestSHA256GitCommit(t *testing.T) {
	b := gitBuild()
	b.Request.Git.Commit = strings.Repeat("ab", 32)
	p, err := Parse(predicate(t, b))
	if err != nil {
		t.Fatal(err)
	}
	src := p.BuildDefinition.ResolvedDependencies[0]
	if src.Digest["gitCommit"] != b.Request.Git.Commit || !strings.HasSuffix(src.URI, "@"+b.Request.Git.Commit+"#services/api") {
		t.Fatalf("source %+v", src)
	}
}

func TestBaseURIs(t *testing.T) {
	tests := []struct {
		ref, want string
	}{
		// docker buildx (BuildKit's provenance) writes exactly these.
		{"alpine:3.20", "pkg:docker/alpine@3.20"},
		{"docker.io/library/alpine", "pkg:docker/alpine@latest"},
		{"localhost:5000/hallmark/static:v1", "pkg:docker/localhost:5000/hallmark/static@v1"},
		{"ghcr.io/acme/base:1@" + string(staticDigest), "pkg:docker/ghcr.io/acme/base@1?digest=" + string(staticDigest)},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			deps, err := baseDependencies([]hallmark.ResolvedBase{{Ref: tt.ref, Digest: staticDigest}})
			if err != nil {
				t.Fatal(err)
			}
			if len(deps) != 1 || deps[0].URI != tt.want || deps[0].Digest["sha256"] != staticDigest.Hex() || deps[0].Name != "" {
				t.Fatalf("got %+v; want uri %q", deps, tt.want)
			}
		})
	}
}

func TestFrontendDependency(t *testing.T) {
	tests := []struct {
		bk   hallmark.BuildKitInfo
		want ResourceDescriptor
	}{
		{hallmark.BuildKitInfo{Version: "v0.34.2", Revision: bkRevision}, ResourceDescriptor{Name: "frontend", URI: "pkg:golang/github.com/moby/buildkit@v0.34.2#frontend/dockerfile", Digest: map[string]string{"gitCommit": bkRevision}}},
		{hallmark.BuildKitInfo{Version: "v0.35.0-rc1"}, ResourceDescriptor{Name: "frontend", URI: "pkg:golang/github.com/moby/buildkit@v0.35.0-rc1#frontend/dockerfile"}},
		{hallmark.BuildKitInfo{Version: "v0.0.0+unknown", Revision: "unknown"}, ResourceDescriptor{Name: "frontend", URI: "pkg:golang/github.com/moby/buildkit#frontend/dockerfile"}},
		{hallmark.BuildKitInfo{}, ResourceDescriptor{Name: "frontend", URI: "pkg:golang/github.com/moby/buildkit#frontend/dockerfile"}},
	}
	for _, tt := range tests {
		t.Run(tt.bk.Version, func(t *testing.T) {
			got := builtinFrontendDependency(tt.bk)
			g, _ := json.Marshal(got)
			w, _ := json.Marshal(tt.want)
			if !bytes.Equal(g, w) {
				t.Fatalf("got %s; want %s", g, w)
			}
		})
	}
}

func TestLooksSecret(t *testing.T) {
	for name, want := range map[string]bool{
		"NPM_TOKEN": true, "api_key": true, "PASSWORD": true, "AUTH": true, "DB_PASSWD": true, "aws_secret_access": true,
		"GO_VERSION": false, "APP_VERSION": false, "TOKENIZER": false, "KEYBOARD": false, "PUBLIC_KEY": false, "KEY_FILE": false,
	} {
		if got := looksSecret(name); got != want {
			t.Errorf("looksSecret(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestParse(t *testing.T) {
	b := gitBuild()
	p, err := Parse(predicate(t, b))
	if err != nil {
		t.Fatal(err)
	}
	ext := p.BuildDefinition.ExternalParameters
	if ext.Source.Git == nil || ext.Source.Git.URL != "https://gitlab.example.com/acme/app.git" || ext.Source.Git.Commit != commit || ext.Source.Git.Subdir != "services/api" {
		t.Fatalf("git source %+v", ext.Source.Git)
	}
	if ext.Requester.Subject != b.Request.Requester.Subject || ext.Requester.Claims["pipeline_id"] != "4242" || ext.Requester.Claims["job_id"] != "77" || ext.Requester.Claims["ref_protected"] != "true" {
		t.Fatalf("requester %+v", ext.Requester)
	}
	deps := p.BuildDefinition.ResolvedDependencies
	if len(deps) != 5 { // source, dockerfile, two distinct bases, frontend
		t.Fatalf("%d resolved dependencies, want 5: %+v", len(deps), deps)
	}
	if !p.RunDetails.Metadata.StartedOn.Equal(b.Result.Started) || p.RunDetails.Metadata.InvocationID != b.Result.ID {
		t.Fatalf("metadata %+v", p.RunDetails.Metadata)
	}

	bad := []struct {
		name string
		data string
	}{
		{"not json", `{`},
		{"unknown field", `{"buildDefinition":{"buildType":"` + BuildType + `","extra":1},"runDetails":{}}`},
		{"other build type", `{"buildDefinition":{"buildType":"https://mobyproject.org/buildkit@v1"},"runDetails":{}}`},
		{"trailing data", `{"buildDefinition":{"buildType":"` + BuildType + `"},"runDetails":{}} {}`},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Parse([]byte(tt.data)); !errors.Is(err, hallmark.ErrInvalid) {
				t.Fatalf("Parse: %v; want ErrInvalid", err)
			}
		})
	}
}

func predicate(t *testing.T, b Build) []byte {
	t.Helper()
	out, err := Predicate(b)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestParseBasePolicy reads the base-image policy decision back.
func TestParseBasePolicy(t *testing.T) {
	b := uploadBuild()
	p, err := Parse(predicate(t, b))
	if err != nil {
		t.Fatal(err)
	}
	got := p.BuildDefinition.InternalParameters.BasePolicy
	if got == nil || got.Mode != "pin" || len(got.Bases) != 2 {
		t.Fatalf("basePolicy = %+v", got)
	}
	want := BaseDecision{Ref: "localhost:5000/hallmark/static:v1", Digest: staticDigest, AllowedBy: "localhost:5000/hallmark/*", Runtime: true}
	if got.Bases[1] != want {
		t.Errorf("bases[1] = %+v, want %+v", got.Bases[1], want)
	}
	if g, err := Parse(predicate(t, gitBuild())); err != nil || g.BuildDefinition.InternalParameters.BasePolicy != nil {
		t.Errorf("a build without a policy decision: basePolicy = %+v, %v; want none", g.BuildDefinition.InternalParameters.BasePolicy, err)
	}
}
