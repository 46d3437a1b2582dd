package hallmark

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// checkValidation checks that err is nil when want is "", else that it
// wraps class and its message is want.
func checkValidation(t *testing.T, err error, class error, want string) {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Fatalf("unexpected error: %v", err)
	case want == "":
	case err == nil:
		t.Fatalf("no error, want %q", want)
	case !errors.Is(err, class):
		t.Errorf("error %v does not wrap %v", err, class)
	case err.Error() != want:
		t.Errorf("error %q, want %q", err, want)
	}
}

// repositoryOf is a stand-in for a strict reference parser: "host/repo:tag".
func repositoryOf(tag string) (string, error) {
	repo, _, ok := strings.Cut(tag, ":")
	if !ok || !strings.Contains(repo, "/") {
		return "", errors.New("want host/repository:tag")
	}
	return repo, nil
}

func TestValidateTags(t *testing.T) {
	tests := []struct {
		name     string
		tags     []string
		wantRepo string
		want     string
	}{
		{"one", []string{"reg.example/app:v1"}, "reg.example/app", ""},
		{"two of one repository", []string{"reg.example/app:v1", "reg.example/app:latest"}, "reg.example/app", ""},
		{"none", nil, "", "invalid input: tags: at least one tag is required, e.g. registry.example.com/team/app:v1"},
		{"too many", make([]string, MaxTags+1), "", "invalid input: tags: 33 entries, the limit is 32"},
		{"digest", []string{"reg.example/app:v1", "reg.example/app@sha256:abc"}, "", `invalid input: tags[1]: "reg.example/app@sha256:abc" names a digest; tags name the references to move`},
		{"unparsable", []string{"app"}, "", `invalid input: tags[0]: "app" is not registry/repository:tag: want host/repository:tag`},
		{"two repositories", []string{"reg.example/app:v1", "reg.example/other:v1"}, "", `invalid input: tags[1]: repository "reg.example/other" differs from "reg.example/app"; all tags of a build must name one repository`},
		{"long tag clipped", []string{strings.Repeat("a", 150)}, "", `invalid input: tags[0]: "` + strings.Repeat("a", 100) + `…" is not registry/repository:tag: want host/repository:tag`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			repo, err := ValidateTags(tt.tags, repositoryOf)
			checkValidation(t, err, ErrInvalid, tt.want)
			if repo != tt.wantRepo {
				t.Errorf("repository %q, want %q", repo, tt.wantRepo)
			}
		})
	}
}

func TestValidateBuildArgs(t *testing.T) {
	many := map[string]string{}
	for i := range MaxBuildArgs + 1 {
		many[fmt.Sprintf("A%d", i)] = ""
	}
	tests := []struct {
		name string
		args map[string]string
		want string
	}{
		{"none", nil, ""},
		{"valid", map[string]string{"A": "1", "_b": "", "http_proxy": "x", "V2": strings.Repeat("v", MaxBuildArgValueBytes)}, ""},
		{"longest name", map[string]string{strings.Repeat("A", MaxBuildArgNameBytes): ""}, ""},
		{"name too long", map[string]string{strings.Repeat("A", MaxBuildArgNameBytes+1): ""}, `invalid input: build_args: name "` + strings.Repeat("A", 100) + `…" is not a valid ARG name (letters, digits, _; not starting with a digit)`},
		{"empty name", map[string]string{"": "v"}, `invalid input: build_args: name "" is not a valid ARG name (letters, digits, _; not starting with a digit)`},
		{"digit first", map[string]string{"1A": "v"}, `invalid input: build_args: name "1A" is not a valid ARG name (letters, digits, _; not starting with a digit)`},
		{"dot", map[string]string{"a.b": "v"}, `invalid input: build_args: name "a.b" is not a valid ARG name (letters, digits, _; not starting with a digit)`},
		{"dash", map[string]string{"a-b": "v"}, `invalid input: build_args: name "a-b" is not a valid ARG name (letters, digits, _; not starting with a digit)`},
		{"value too long", map[string]string{"BIG": strings.Repeat("v", MaxBuildArgValueBytes+1)}, "invalid input: build_args: value of BIG is over 32768 bytes"},
		{"first bad by name", map[string]string{"b-2": "", "a-1": ""}, `invalid input: build_args: name "a-1" is not a valid ARG name (letters, digits, _; not starting with a digit)`},
		{"too many", many, "invalid input: build_args: 201 entries, the limit is 200"},
		{"cache mount namespace", map[string]string{"BUILDKIT_CACHE_MOUNT_NS": "other-tenant"}, `invalid input: build_args: BUILDKIT_CACHE_MOUNT_NS is a BuildKit control argument: build args named BUILDKIT_* configure BuildKit itself (frontend image, cache-mount namespace, …) and only the gateway sets them; rename it`},
		{"syntax", map[string]string{"BUILDKIT_SYNTAX": "docker/dockerfile:1"}, `invalid input: build_args: BUILDKIT_SYNTAX is a BuildKit control argument: build args named BUILDKIT_* configure BuildKit itself (frontend image, cache-mount namespace, …) and only the gateway sets them; rename it`},
		{"keep git dir", map[string]string{"BUILDKIT_CONTEXT_KEEP_GIT_DIR": "1"}, `invalid input: build_args: BUILDKIT_CONTEXT_KEEP_GIT_DIR is a BuildKit control argument: build args named BUILDKIT_* configure BuildKit itself (frontend image, cache-mount namespace, …) and only the gateway sets them; rename it`},
		{"sbom scan", map[string]string{"BUILDKIT_SBOM_SCAN_STAGE": "true"}, `invalid input: build_args: BUILDKIT_SBOM_SCAN_STAGE is a BuildKit control argument: build args named BUILDKIT_* configure BuildKit itself (frontend image, cache-mount namespace, …) and only the gateway sets them; rename it`},
		{"multi platform", map[string]string{"BUILDKIT_MULTI_PLATFORM": "1"}, `invalid input: build_args: BUILDKIT_MULTI_PLATFORM is a BuildKit control argument: build args named BUILDKIT_* configure BuildKit itself (frontend image, cache-mount namespace, …) and only the gateway sets them; rename it`},
		{"inline cache", map[string]string{"BUILDKIT_INLINE_CACHE": "1"}, `invalid input: build_args: BUILDKIT_INLINE_CACHE is a BuildKit control argument: build args named BUILDKIT_* configure BuildKit itself (frontend image, cache-mount namespace, …) and only the gateway sets them; rename it`},
		{"any BUILDKIT_ name", map[string]string{"BUILDKIT_": ""}, `invalid input: build_args: BUILDKIT_ is a BuildKit control argument: build args named BUILDKIT_* configure BuildKit itself (frontend image, cache-mount namespace, …) and only the gateway sets them; rename it`},
		{"empty value too", map[string]string{"A": "", "BUILDKIT_X": ""}, `invalid input: build_args: BUILDKIT_X is a BuildKit control argument: build args named BUILDKIT_* configure BuildKit itself (frontend image, cache-mount namespace, …) and only the gateway sets them; rename it`},
		// BuildKit reads its control args case-sensitively: these are ARGs.
		{"lower case is an ARG", map[string]string{"buildkit_syntax": "x", "Buildkit_Cache_Mount_NS": "x"}, ""},
		{"prefix inside a name", map[string]string{"MY_BUILDKIT_SYNTAX": "x", "BUILDKITSYNTAX": "x"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkValidation(t, ValidateBuildArgs(tt.args), ErrInvalid, tt.want)
		})
	}
}

func TestValidatePlatforms(t *testing.T) {
	tests := []struct {
		name      string
		platforms []string
		want      string
	}{
		{"none", nil, ""},
		{"valid", []string{"linux/amd64", "linux/arm64", "linux/arm/v7", "windows/amd64", "linux/mips64_le"}, ""},
		{"arch only", []string{"amd64"}, `invalid input: platforms: "amd64" is not os/arch[/variant], e.g. linux/amd64`},
		{"upper case", []string{"Linux/amd64"}, `invalid input: platforms: "Linux/amd64" is not os/arch[/variant], e.g. linux/amd64`},
		{"too deep", []string{"linux/amd64/v2/x"}, `invalid input: platforms: "linux/amd64/v2/x" is not os/arch[/variant], e.g. linux/amd64`},
		{"too many", make([]string, MaxPlatforms+1), "invalid input: platforms: 9 entries, the limit is 8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkValidation(t, ValidatePlatforms(tt.platforms), ErrInvalid, tt.want)
		})
	}
}

func TestValidatePlatform(t *testing.T) {
	for _, tt := range []struct{ platform, want string }{
		{"", ""},
		{"linux/arm64", ""},
		{"linux/arm/v7", ""},
		{"arm64", `invalid input: platform: "arm64" is not os/arch[/variant], e.g. linux/arm64`},
		{"linux/arm64,linux/amd64", `invalid input: platform: "linux/arm64,linux/amd64" is not os/arch[/variant], e.g. linux/arm64`},
	} {
		t.Run(tt.platform, func(t *testing.T) {
			checkValidation(t, ValidatePlatform(tt.platform), ErrInvalid, tt.want)
		})
	}
}

func TestValidateTarget(t *testing.T) {
	tests := []struct {
		target string
		want   string
	}{
		{"", ""},
		{"final", ""},
		{"build-2.x_y", ""},
		{strings.Repeat("s", 128), ""},
		{strings.Repeat("s", 129), `invalid input: target: "` + strings.Repeat("s", 100) + `…" is not a stage name`},
		{"2nd", `invalid input: target: "2nd" is not a stage name`},
		{"a b", `invalid input: target: "a b" is not a stage name`},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			checkValidation(t, ValidateTarget(tt.target), ErrInvalid, tt.want)
		})
	}
}

func TestValidateSecrets(t *testing.T) {
	tests := []struct {
		name    string
		secrets []Secret
		class   error
		want    string
	}{
		{"none", nil, nil, ""},
		{"valid", []Secret{{ID: "npm"}, {ID: "a.b_c-1", Value: make([]byte, MaxSecretBytes)}}, nil, ""},
		{"bad id", []Secret{{ID: "ok"}, {ID: "a b", Value: []byte("hunter2")}}, ErrInvalid, `invalid input: secrets[1].id: "a b" is not a secret id (letters, digits, . _ -)`},
		{"empty id", []Secret{{ID: ""}}, ErrInvalid, `invalid input: secrets[0].id: "" is not a secret id (letters, digits, . _ -)`},
		{"twice", []Secret{{ID: "x"}, {ID: "x"}}, ErrInvalid, `invalid input: secrets[1].id: "x" is given twice`},
		{"too large", []Secret{{ID: "big", Value: make([]byte, MaxSecretBytes+1)}}, ErrTooLarge, "too large: secrets[0] (big): value over 524288 bytes"},
		{"too many", make([]Secret, MaxSecrets+1), ErrInvalid, "invalid input: secrets: 33 entries, the limit is 32"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateSecrets(tt.secrets)
			checkValidation(t, err, tt.class, tt.want)
			if err != nil && strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error shows a secret value: %v", err)
			}
		})
	}
}

func TestValidateLabels(t *testing.T) {
	many := map[string]string{}
	for i := range MaxLabels + 1 {
		many[fmt.Sprint(i)] = ""
	}
	tests := []struct {
		name   string
		labels map[string]string
		want   string
	}{
		{"none", nil, ""},
		{"valid", map[string]string{"org.opencontainers.image.source": "https://x", "empty": "", "with space": "v"}, ""},
		{"empty key", map[string]string{"": "v"}, `invalid input: labels: key "": keys must be 1-256 bytes, values at most 4096`},
		{"key too long", map[string]string{strings.Repeat("k", MaxLabelKeyBytes+1): ""}, `invalid input: labels: key "` + strings.Repeat("k", 100) + `…": keys must be 1-256 bytes, values at most 4096`},
		{"value too long", map[string]string{"k": strings.Repeat("v", MaxLabelValueBytes+1)}, `invalid input: labels: key "k": keys must be 1-256 bytes, values at most 4096`},
		{"too many", many, "invalid input: labels: 101 entries, the limit is 100"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkValidation(t, ValidateLabels(tt.labels), ErrInvalid, tt.want)
		})
	}
}
