package provenance

import (
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"

	hallmark "github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/registry"
)

// normalized is ref as a store records it.
func normalized(t *testing.T, ref string) string {
	t.Helper()
	n, err := registry.NormalizeReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestSummarizeGolden reads back what every golden build wrote: its
// bases (each distinct one once, with the reference it was written as,
// normalized) and runtime base, requester, source and times.
func TestSummarizeGolden(t *testing.T) {
	for _, tc := range goldenCases {
		t.Run(tc.name, func(t *testing.T) {
			b := tc.build()
			s, err := Summarize(predicate(t, b))
			if err != nil {
				t.Fatal(err)
			}
			want := RequesterOf(b.Request.Requester)
			if s.BuildType != BuildType || s.BuilderID != builderID || s.BuildID != b.Result.ID || !s.Started.Equal(b.Result.Started) ||
				!s.Finished.Equal(b.Result.Solved) || s.Requester.Subject != want.Subject || !maps.Equal(s.Requester.Claims, want.Claims) ||
				s.Repository != b.Request.Repository || len(s.Tags) != len(b.Request.Tags) || s.Frontend != b.Result.Frontend ||
				s.BuildKit.Version != b.Result.BuildKit.Version || s.DockerfileDigest != b.Result.DockerfileDigest {
				t.Errorf("summary %+v", s)
			}
			if (s.Source.Git != nil) != (b.Request.Git != nil) || (s.Source.Context != nil) != (b.Request.ContextDigest != "") {
				t.Errorf("source %+v", s.Source)
			}
			var wantBases []string
			for _, rb := range b.Result.Bases {
				if key := normalized(t, rb.Ref) + " " + rb.Digest.String(); !slices.Contains(wantBases, key) {
					wantBases = append(wantBases, key)
				}
			}
			var got []string
			for _, rb := range s.Bases {
				got = append(got, normalized(t, rb.Ref)+" "+rb.Digest.String())
				if repo, _, _ := strings.Cut(rb.Pinned, "@"); repo+"@"+rb.Digest.String() != rb.Pinned || repo == "" {
					t.Errorf("base %+v: pinned", rb)
				}
			}
			if !slices.Equal(got, wantBases) {
				t.Errorf("bases\n got %q\nwant %q", got, wantBases)
			}
			var wantRuntime string
			if p := b.Result.BasePolicy; p != nil {
				for _, d := range p.Bases {
					if d.Runtime {
						wantRuntime = normalized(t, d.Ref) + " " + d.Digest.String()
					}
				}
			}
			gotRuntime := ""
			if s.RuntimeBase != nil {
				gotRuntime = normalized(t, s.RuntimeBase.Ref) + " " + s.RuntimeBase.Digest.String()
			}
			if gotRuntime != wantRuntime {
				t.Errorf("runtime base %q, want %q", gotRuntime, wantRuntime)
			}
		})
	}
}

func TestSummarizeBase(t *testing.T) {
	b := baseBuildFixture()
	pred, err := BasePredicate(b)
	if err != nil {
		t.Fatal(err)
	}
	s, err := Summarize(pred)
	if err != nil || s.BuildType != BaseBuildType || s.BuildID != b.Result.Build.ID || s.Requester.Subject != b.Request.Requester.Subject ||
		s.Repository != b.Request.Repository || len(s.Bases) != 0 || s.Started.IsZero() {
		t.Errorf("summary %+v, %v", s, err)
	}
}

// TestSummarizeLenient: fields a newer gateway may add are ignored; other
// build types give what every SLSA provenance has; a malformed Hallmark
// provenance is invalid.
func TestSummarizeLenient(t *testing.T) {
	var doc map[string]any
	if err := json.Unmarshal(predicate(t, uploadBuild()), &doc); err != nil {
		t.Fatal(err)
	}
	doc["buildDefinition"].(map[string]any)["externalParameters"].(map[string]any)["futureField"] = true
	newer, _ := json.Marshal(doc)
	if s, err := Summarize(newer); err != nil || len(s.Bases) != 2 {
		t.Errorf("newer provenance: %+v, %v", s, err)
	}
	other := `{"buildDefinition":{"buildType":"https://actions.github.io/buildtypes/workflow/v1","externalParameters":{"workflow":{}},
		"resolvedDependencies":[{"uri":"git+https://github.com/acme/app@refs/heads/main"}]},"runDetails":{"builder":{"id":"https://github.com/actions/runner"}}}`
	if s, err := Summarize([]byte(other)); err != nil || s.BuilderID != "https://github.com/actions/runner" || s.Requester.Subject != "" || len(s.Bases) != 0 {
		t.Errorf("another builder's provenance: %+v, %v", s, err)
	}
	for name, mutate := range map[string]func(rd map[string]any){
		"base not a purl":  func(rd map[string]any) { rd["uri"] = "https://example.com/base" },
		"base digest hex":  func(rd map[string]any) { rd["digest"] = map[string]any{"sha256": "XYZ"} },
		"base purl broken": func(rd map[string]any) { rd["uri"] = "pkg:docker/%zz" },
	} {
		var doc map[string]any
		_ = json.Unmarshal(predicate(t, uploadBuild()), &doc)
		deps := doc["buildDefinition"].(map[string]any)["resolvedDependencies"].([]any)
		mutate(deps[2].(map[string]any)) // source, dockerfile, then the first base
		bad, _ := json.Marshal(doc)
		if _, err := Summarize(bad); !errors.Is(err, hallmark.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
	if _, err := Summarize([]byte(`[1]`)); !errors.Is(err, hallmark.ErrInvalid) {
		t.Errorf("not an object: %v", err)
	}
}
