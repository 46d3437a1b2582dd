package devstack

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestBuildKitVersionsMatch keeps the buildkitd the stack builds at the
// version of the BuildKit client the gateway links.
func TestBuildKitVersionsMatch(t *testing.T) {
	re := regexp.MustCompile(`(?m)^\s*github\.com/moby/buildkit (v\S+)`)
	version := func(path string) string {
		t.Helper()
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		m := re.FindSubmatch(data)
		if m == nil {
			t.Fatalf("%s does not require github.com/moby/buildkit", path)
		}
		return string(m[1])
	}
	root := filepath.Join("..", "..")
	gw, tools := version(filepath.Join(root, "go.mod")), version(filepath.Join(root, "tools", "buildkit", "go.mod"))
	if gw != tools {
		t.Fatalf("go.mod has buildkit %s but tools/buildkit/go.mod has %s; bump both", gw, tools)
	}
}

func TestToolRejectsUnknownTool(t *testing.T) {
	if _, err := Tool(t.Context(), filepath.Join("..", ".."), "buildkit", "no-such-tool", nil); err == nil {
		t.Fatal("Tool built a tool that the module does not declare")
	}
}

// TestToolPatchesApply checks that every source patch still finds its text
// in the pinned version, and that a patch which does not fails.
func TestToolPatchesApply(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	for mod, patches := range toolPatches {
		t.Run(mod, func(t *testing.T) {
			dir := t.TempDir()
			flags, err := patchModules(t.Context(), filepath.Join(root, "tools", mod), mod, dir)
			if err != nil {
				t.Fatal(err)
			}
			if len(flags) != 2 || flags[0] != "-modfile" {
				t.Fatalf("flags = %q, want -modfile FILE", flags)
			}
			gomod, err := os.ReadFile(flags[1])
			if err != nil || !strings.Contains(string(gomod), "replace "+patches[0].module+" => ") {
				t.Fatalf("go.mod %s has no replace directive for %s (%v)", flags[1], patches[0].module, err)
			}
			for _, p := range patches {
				data, err := os.ReadFile(filepath.Join(dir, "module0", filepath.FromSlash(p.file)))
				if err != nil || !strings.Contains(string(data), p.new) || strings.Contains(string(data), p.old) {
					t.Errorf("patched %s: %v; want %q in place of %q", p.file, err, p.new, p.old)
				}
			}
		})
	}
	saved := toolPatches["rekor"]
	t.Cleanup(func() { toolPatches["rekor"] = saved })
	toolPatches["rekor"] = []sourcePatch{{module: saved[0].module, file: saved[0].file, old: "no such text", new: "x"}}
	if _, err := patchModules(t.Context(), filepath.Join(root, "tools", "rekor"), "rekor", t.TempDir()); err == nil || !strings.Contains(err.Error(), "found it 0 times") {
		t.Fatalf("overlay with a stale patch: %v, want an error naming the count", err)
	}
}
