package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestGCTunedBeforeInit: the CLI's collector is tuned (internal/gctune)
// before the packages whose initialization allocates most, so that no
// collection runs while they do. It runs this test binary, which links
// what the CLI links, with the runtime's init and GC traces.
func TestGCTunedBeforeInit(t *testing.T) {
	if os.Getenv("HALLMARK_GCTUNE_CHILD") != "" {
		return
	}
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestGCTunedBeforeInit$")
	cmd.Env = append(os.Environ(), "HALLMARK_GCTUNE_CHILD=1", "GODEBUG=inittrace=1,gctrace=1", "GOGC=", "GOMEMLIMIT=")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	tuned, heavy := -1, map[string]int{}
	lines := strings.Split(string(out), "\n")
	for i, l := range lines {
		f := strings.Fields(l)
		switch {
		case len(f) > 1 && f[0] == "init" && f[1] == "github.com/hallmark-dev/hallmark/internal/gctune":
			tuned = i
		case len(f) > 1 && f[0] == "init" && (f[1] == "github.com/asaskevich/govalidator" || f[1] == "github.com/go-openapi/strfmt"):
			heavy[f[1]] = i
		case len(f) > 1 && f[0] == "gc" && tuned < 0:
			t.Errorf("a collection ran before the collector was tuned: %s", l)
		}
	}
	if tuned < 0 {
		t.Fatalf("no init line of internal/gctune in the trace:\n%s", out)
	}
	if len(heavy) != 2 {
		t.Fatalf("the test binary no longer links govalidator and strfmt (%v): name the heaviest initializers here instead", heavy)
	}
	for pkg, i := range heavy {
		if i < tuned {
			t.Errorf("%s initialized before internal/gctune", pkg)
		}
	}
}
