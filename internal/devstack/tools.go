package devstack

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// ToolsDir is where built tools are cached:
// ${XDG_CACHE_HOME:-~/.cache}/hallmark/tools.
func ToolsDir() (string, error) {
	c, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("find cache dir: %w", err)
	}
	return filepath.Join(c, "hallmark", "tools"), nil
}

// RepoRoot finds the Hallmark checkout that holds the tools modules: $HALLMARK_REPO,
// or the first parent of the working directory whose go.mod is Hallmark's.
func RepoRoot() (string, error) {
	if r := os.Getenv("HALLMARK_REPO"); r != "" {
		return r, nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.HasPrefix(data, []byte("module github.com/hallmark-dev/hallmark\n")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("find the hallmark checkout: run inside it or set HALLMARK_REPO (the dev stack builds its tools from the modules under tools/)")
		}
		dir = parent
	}
}

// Tool returns the path of a tool built from the module tools/<mod> of the
// checkout at repo, building it once into the tool cache if needed. The cache
// key is a hash of the module's go.mod and go.sum, so a version bump rebuilds.
// scripts/gotool uses the same layout.
func Tool(ctx context.Context, repo, mod, name string, progress io.Writer) (string, error) {
	if progress == nil {
		progress = io.Discard
	}
	dir := filepath.Join(repo, "tools", mod)
	h := sha256.New()
	if mod == "buildkit" || mod == "kubernetes" {
		h.Write([]byte(toolRecipe))
	}
	h.Write([]byte(patchKey(mod)))
	for _, f := range []string{"go.mod", "go.sum"} {
		data, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			return "", fmt.Errorf("read tools module %s: %w", mod, err)
		}
		h.Write(data)
	}
	// A wrapper command of our own (tools/<mod>/cmd/<name>) is part of the key.
	local := filepath.Join(dir, "cmd", name)
	if srcs, _ := filepath.Glob(filepath.Join(local, "*.go")); len(srcs) > 0 {
		for _, src := range srcs {
			data, err := os.ReadFile(src)
			if err != nil {
				return "", err
			}
			h.Write(data)
		}
	}
	cache, err := ToolsDir()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(cache, mod+"-"+hex.EncodeToString(h.Sum(nil))[:12], name)
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	pkg := "./cmd/" + name
	if _, err := os.Stat(local); err != nil {
		if pkg, err = toolPackage(ctx, dir, name); err != nil {
			return "", err
		}
	}
	fmt.Fprintf(progress, "devstack: building %s (once; minutes on a cold machine) into %s\n", pkg, filepath.Dir(bin))
	start := time.Now()
	if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
		return "", err
	}
	ldflags, err := versionFlags(dir, mod)
	if err != nil {
		return "", err
	}
	// A private temporary name: two processes building the same tool at
	// once must not rename each other's half-written file.
	tmp := fmt.Sprintf("%s.tmp.%d", bin, os.Getpid())
	patchDir, err := os.MkdirTemp(filepath.Dir(bin), "patches")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(patchDir)
	flags, err := patchModules(ctx, dir, mod, patchDir)
	if err != nil {
		return "", err
	}
	args := append([]string{"build", "-trimpath", "-ldflags", ldflags}, flags...)
	cmd := exec.CommandContext(ctx, "go", append(args, "-o", tmp, pkg)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOTOOLCHAIN=local", "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build %s: %w\n%s", pkg, err, out)
	}
	if err := os.Rename(tmp, bin); err != nil {
		return "", err
	}
	fmt.Fprintf(progress, "devstack: built %s in %s\n", name, time.Since(start).Round(time.Second))
	return bin, nil
}

// toolRecipe versions how BuildKit is built (version stamping); bumping it
// rebuilds the cached buildkitd and buildctl.
const toolRecipe = "recipe 2: buildkit version stamped\n"

// versionFlags stamps the module version into tools that report it, so
// BuildKit's Info (and so provenance) names the real release, and the
// Kubernetes API server and kubectl report theirs.
func versionFlags(dir, mod string) (string, error) {
	var module string
	switch mod {
	case "buildkit":
		module = "github.com/moby/buildkit"
	case "kubernetes":
		module = "k8s.io/kubernetes"
	default:
		return "", nil
	}
	data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || f[0] != module {
			continue
		}
		if mod == "buildkit" {
			return "-X github.com/moby/buildkit/version.Version=" + f[1], nil
		}
		major, minor, _ := strings.Cut(strings.TrimPrefix(f[1], "v"), ".")
		minor, _, _ = strings.Cut(minor, ".")
		v := "k8s.io/component-base/version"
		return fmt.Sprintf("-X %s.gitVersion=%s -X %s.gitMajor=%s -X %s.gitMinor=%s -X %s.gitTreeState=clean", v, f[1], v, major, v, minor, v), nil
	}
	return "", fmt.Errorf("tools/%s/go.mod does not require %s", mod, module)
}

func toolPackage(ctx context.Context, dir, name string) (string, error) {
	cmd := exec.CommandContext(ctx, "go", "list", "-f", "{{.ImportPath}}", "tool")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOTOOLCHAIN=local")
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("list tools of %s: %w", dir, err)
	}
	for _, p := range strings.Fields(string(out)) {
		if strings.HasSuffix(p, "/"+name) {
			return p, nil
		}
	}
	return "", fmt.Errorf("tools module %s has no tool %q", dir, name)
}

// debianPackages maps programs the stack needs to the Debian packages that
// provide them.
var debianPackages = map[string]string{
	"runc":            "runc",
	"docker-registry": "docker-registry",
	"/bin/busybox":    "busybox-static",
}

// testPackages are those only the tests need: the web view's e2e tests
// drive a real headless browser.
var testPackages = map[string]string{
	"/usr/bin/chromium": "chromium",
}

// EnsurePackages installs, with apt-get, the Debian packages of the programs
// the stack needs that are missing: those of debianPackages, and
// postgresql-15 unless StartPostgres finds a PostgreSQL (on PATH or in
// /usr/lib/postgresql). It needs root when anything is missing.
func EnsurePackages(ctx context.Context, progress io.Writer) error {
	return ensure(ctx, progress, debianPackages)
}

// EnsureTestPackages is EnsurePackages and the packages of testPackages
// (`hallmark dev deps`, which `make test` runs).
func EnsureTestPackages(ctx context.Context, progress io.Writer) error {
	return ensure(ctx, progress, debianPackages, testPackages)
}

func ensure(ctx context.Context, progress io.Writer, sets ...map[string]string) error {
	all := map[string]string{}
	for _, set := range sets {
		maps.Copy(all, set)
	}
	var missing []string
	for prog, pkg := range all {
		if strings.HasPrefix(prog, "/") {
			if _, err := os.Stat(prog); err == nil {
				continue
			}
		} else if _, err := exec.LookPath(prog); err == nil {
			continue
		}
		missing = append(missing, pkg)
	}
	if !havePostgres() {
		missing = append(missing, postgresPackage)
	}
	if len(missing) == 0 {
		return nil
	}
	if os.Geteuid() != 0 {
		return fmt.Errorf("install the Debian packages %s (apt-get install %s) or run as root", strings.Join(missing, ", "), strings.Join(missing, " "))
	}
	fmt.Fprintf(progress, "devstack: installing Debian packages %s\n", strings.Join(missing, " "))
	install := func() error {
		cmd := exec.CommandContext(ctx, "apt-get", append([]string{"install", "-y", "--no-install-recommends"}, missing...)...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("apt-get install %s: %w\n%s", strings.Join(missing, " "), err, out)
		}
		return nil
	}
	if err := install(); err != nil {
		if out, uerr := exec.CommandContext(ctx, "apt-get", "update").CombinedOutput(); uerr != nil {
			return fmt.Errorf("apt-get update: %w\n%s", uerr, out)
		}
		return install()
	}
	return nil
}
