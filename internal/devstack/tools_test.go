package devstack

import (
	"os"
	"path/filepath"
	"regexp"
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
