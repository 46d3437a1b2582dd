package devstack

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// sourcePatch replaces one exact piece of a dependency's source when a tool
// is built: the module is copied out of the module cache, patched, and
// swapped in with a replace directive in a temporary go.mod (go build
// -modfile), so the module cache stays untouched and the repository holds no
// copy of upstream code. A patch whose old text is not found exactly once
// fails the build, so a version bump that changes the code is noticed.
type sourcePatch struct {
	module, file string // module path and the file's path inside it
	old, new     string
	why          string
}

// toolPatches are the patches of each tools module.
var toolPatches = map[string][]sourcePatch{
	"rekor": {{
		module: "github.com/sigstore/rekor-tiles/v2",
		file:   "internal/tessera/tessera.go",
		old:    "tessera.NewPublicationAwaiter(ctx, reader.ReadCheckpoint, 1*time.Second)",
		new:    "tessera.NewPublicationAwaiter(ctx, reader.ReadCheckpoint, 10*time.Millisecond)",
		why: "rekor-tiles v2.3.0 looks for a new checkpoint once a second, with no flag to change it, " +
			"so every write waited up to a second after the dev log's 100 ms checkpoint had included it",
	}},
}

// patchKey is what the patches of mod add to its cache key.
func patchKey(mod string) string {
	var b strings.Builder
	for _, p := range toolPatches[mod] {
		fmt.Fprintf(&b, "patch %s %s %q %q\n", p.module, p.file, p.old, p.new)
	}
	return b.String()
}

// patchModules copies the modules mod's patches change into dir, patches
// them, and returns the go build flags that build with them, or none when
// mod has no patches. modDir is the tools module's directory.
func patchModules(ctx context.Context, modDir, mod, dir string) ([]string, error) {
	patches := toolPatches[mod]
	if len(patches) == 0 {
		return nil, nil
	}
	gomod, err := os.ReadFile(filepath.Join(modDir, "go.mod"))
	if err != nil {
		return nil, err
	}
	copied := map[string]string{}
	for _, p := range patches {
		dst, ok := copied[p.module]
		if !ok {
			src, err := moduleDir(ctx, modDir, p.module)
			if err != nil {
				return nil, err
			}
			dst = filepath.Join(dir, fmt.Sprintf("module%d", len(copied)))
			if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
				return nil, fmt.Errorf("patch %s: copy: %w", p.module, err)
			}
			copied[p.module] = dst
			gomod = fmt.Appendf(gomod, "\nreplace %s => %s\n", p.module, dst)
		}
		file := filepath.Join(dst, filepath.FromSlash(p.file))
		data, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("patch %s: %w", p.module, err)
		}
		if n := strings.Count(string(data), p.old); n != 1 {
			return nil, fmt.Errorf("patch %s/%s: want the text %q once, found it %d times: update toolPatches for this version", p.module, p.file, p.old, n)
		}
		if err := os.WriteFile(file, []byte(strings.Replace(string(data), p.old, p.new, 1)), 0o644); err != nil {
			return nil, err
		}
	}
	modfile := filepath.Join(dir, "go.mod")
	if err := os.WriteFile(modfile, gomod, 0o644); err != nil {
		return nil, err
	}
	sum, err := os.ReadFile(filepath.Join(modDir, "go.sum"))
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "go.sum"), sum, 0o644); err != nil {
		return nil, err
	}
	return []string{"-modfile", modfile}, nil
}

// moduleDir downloads module (at the version modDir's go.mod requires) and
// returns its directory in the module cache.
func moduleDir(ctx context.Context, modDir, module string) (string, error) {
	cmd := exec.CommandContext(ctx, "go", "mod", "download", "-json", module)
	cmd.Dir = modDir
	cmd.Env = append(os.Environ(), "GOTOOLCHAIN=local")
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("download %s: %w", module, err)
	}
	var m struct{ Dir, Error string }
	if err := json.Unmarshal(out, &m); err != nil || m.Dir == "" {
		return "", fmt.Errorf("download %s: no directory (%s)", module, m.Error)
	}
	return m.Dir, nil
}
