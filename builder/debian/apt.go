package debian

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	hallmark "github.com/hallmark-dev/hallmark"
)

// Package is one Debian binary package of a Plan.
type Package struct {
	Name         string
	Version      string
	Architecture string
	// URI is the mirror URL of the .deb.
	URI string
	// SHA256 is the .deb's digest as the signed Packages index gives it.
	SHA256 hallmark.Digest
	// Size is the .deb's size in bytes, from the same index.
	Size int64
}

// Plan is the full set of packages a spec installs.
type Plan struct {
	// Architecture is the dpkg architecture, e.g. "amd64".
	Architecture string
	// Sources are the apt sources the packages were resolved from, e.g.
	// "http://deb.debian.org/debian bookworm/main amd64", sorted.
	Sources []string
	// Packages are sorted by name.
	Packages []Package
}

// DefaultMirror is the mirror of a spec that sets a suite or architecture
// but no mirror.
const DefaultMirror = "http://deb.debian.org/debian"

// Apt resolves specs with apt-get and apt-cache.
type Apt struct {
	opts   aptOptions
	update sync.Mutex // one apt-get update at a time
}

// AptOption configures an Apt.
type AptOption func(*aptOptions) error

type aptOptions struct {
	aptGet, aptCache string
	stateDir         string
	hostLists        string
	osRelease        string
	maxAge           time.Duration
	logger           *slog.Logger
}

// WithAptCommands sets the apt-get and apt-cache executables. The default
// is "apt-get" and "apt-cache" from PATH.
func WithAptCommands(aptGet, aptCache string) AptOption {
	return func(o *aptOptions) error { o.aptGet, o.aptCache = aptGet, aptCache; return nil }
}

// WithStateDir sets where the package lists of specs that name their own
// mirror, suite or architecture are kept. The default is
// os.TempDir()/hallmark-apt.
func WithStateDir(dir string) AptOption {
	return func(o *aptOptions) error { o.stateDir = dir; return nil }
}

// WithListsMaxAge sets how old the package lists of a spec's own sources
// may get before apt-get update refreshes them. The host's lists are only
// updated when they are missing. The default is 6h.
func WithListsMaxAge(d time.Duration) AptOption {
	return func(o *aptOptions) error { o.maxAge = d; return nil }
}

// WithAptLogger sets the logger; nil is an error (hallmark.ErrInvalid). The
// default discards logs.
func WithAptLogger(l *slog.Logger) AptOption {
	return func(o *aptOptions) error {
		return hallmark.SetLogger(&o.logger, l)
	}
}

// NewApt returns an Apt.
func NewApt(opts ...AptOption) (*Apt, error) {
	o := aptOptions{
		aptGet: "apt-get", aptCache: "apt-cache",
		stateDir:  filepath.Join(os.TempDir(), "hallmark-apt"),
		hostLists: "/var/lib/apt/lists",
		osRelease: "/etc/os-release",
		maxAge:    6 * time.Hour,
		logger:    slog.New(slog.DiscardHandler),
	}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	return &Apt{opts: o}, nil
}

// Resolve returns the packages spec installs: the declared packages and
// their Pre-Depends and Depends, resolved from an empty dpkg status
// (nothing on the host counts as installed) without Recommends or
// Suggests. Apt checks the signed Release → Packages chain with the
// system keyring; a package apt cannot authenticate is an error. An unknown
// package or version, or an unsatisfiable dependency, is an error wrapping
// hallmark.ErrInvalid with apt's message.
func (a *Apt) Resolve(ctx context.Context, spec *Spec) (*Plan, error) {
	tmp, err := os.MkdirTemp("", "hallmark-apt-")
	if err != nil {
		return nil, fmt.Errorf("create apt dir: %w", err)
	}
	defer os.RemoveAll(tmp)
	cfg, err := a.config(ctx, spec, tmp)
	if err != nil {
		return nil, err
	}
	if err := a.exclude(ctx, spec, cfg, filepath.Join(tmp, "status")); err != nil {
		return nil, err
	}
	args := []string{"-q", "-y", "--print-uris", "--no-install-recommends", "install"}
	for _, r := range spec.Requests() {
		if r.Version != "" {
			args = append(args, r.Name+"="+r.Version)
		} else {
			args = append(args, r.Name)
		}
	}
	out, err := a.run(ctx, a.opts.aptGet, slices.Concat(cfg, args)...)
	if err != nil {
		return nil, fmt.Errorf("resolve packages: %w", err)
	}
	uris, err := parseURIs(out)
	if err != nil {
		return nil, fmt.Errorf("resolve packages: %w", err)
	}
	names := make([]string, 0, len(uris))
	for _, u := range uris {
		names = append(names, u.name)
	}
	var index, policy []byte
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		var err error
		index, err = a.run(gctx, a.opts.aptCache, slices.Concat(cfg, []string{"show", "--"}, names)...)
		return err
	})
	g.Go(func() error {
		var err error
		policy, err = a.run(gctx, a.opts.aptCache, slices.Concat(cfg, []string{"policy"})...)
		return err
	})
	if err := g.Wait(); err != nil {
		return nil, fmt.Errorf("read package index: %w", err)
	}
	pkgs, err := matchIndex(uris, parseStanzas(index))
	if err != nil {
		return nil, fmt.Errorf("read package index: %w", err)
	}
	arch, _ := a.architecture(spec)
	return &Plan{Architecture: arch, Sources: parseSources(policy), Packages: pkgs}, nil
}

// config prepares tmp (an empty dpkg status, a private cache) and returns
// the apt options for spec: the host's sources and lists, or the spec's
// own in a state directory.
func (a *Apt) config(ctx context.Context, spec *Spec, tmp string) ([]string, error) {
	for _, d := range []string{"cache/archives/partial", "state"} {
		if err := os.MkdirAll(filepath.Join(tmp, d), 0o700); err != nil {
			return nil, fmt.Errorf("create apt dir: %w", err)
		}
	}
	if err := os.WriteFile(filepath.Join(tmp, "status"), nil, 0o600); err != nil {
		return nil, fmt.Errorf("create apt dir: %w", err)
	}
	common := []string{
		"-o", "Dir::State::status=" + filepath.Join(tmp, "status"),
		"-o", "Dir::Cache=" + filepath.Join(tmp, "cache"),
		"-o", "Dir::State=" + filepath.Join(tmp, "state"),
		"-o", "Debug::NoLocking=1",
		"-o", "APT::Install-Recommends=0",
		"-o", "APT::Install-Suggests=0",
		"-o", "APT::Get::AllowUnauthenticated=0",
		"-o", "Acquire::AllowInsecureRepositories=0",
		"-o", "Acquire::AllowDowngradeToInsecureRepositories=0",
	}
	b := spec.Spec
	host, err := a.architecture(&Spec{})
	if err != nil {
		return nil, err
	}
	if b.Mirror == "" && b.Suite == "" && (b.Architecture == "" || b.Architecture == host) {
		if err := a.hostLists(ctx); err != nil {
			return nil, err
		}
		return append(common, "-o", "Dir::State::Lists="+a.opts.hostLists), nil
	}
	return a.ownLists(ctx, spec, common)
}

// exclude writes the dpkg status file at path so that the spec's excluded
// packages count as installed, at a version above any real one and with
// the virtual packages they provide (mawk provides awk), so apt satisfies
// dependencies on them without adding them, or another provider, to the
// image. An excluded package the index does not know is an error.
func (a *Apt) exclude(ctx context.Context, spec *Spec, cfg []string, path string) error {
	names := spec.Spec.Exclude
	if len(names) == 0 {
		return nil
	}
	arch, err := a.architecture(spec)
	if err != nil {
		return err
	}
	out, err := a.run(ctx, a.opts.aptCache, slices.Concat(cfg, []string{"show", "--no-all-versions", "--"}, names)...)
	if err != nil {
		return fmt.Errorf("read excluded packages: %w", err)
	}
	provides := map[string]string{}
	for _, st := range parseStanzas(out) {
		provides[st["Package"]] = st["Provides"]
	}
	var b strings.Builder
	for _, name := range slices.Sorted(slices.Values(names)) {
		p, ok := provides[name]
		if !ok {
			return fmt.Errorf("%w: spec.exclude: package %q is not in the package index", hallmark.ErrInvalid, name)
		}
		fmt.Fprintf(&b, "Package: %s\nStatus: install ok installed\nPriority: optional\nArchitecture: %s\nMulti-Arch: foreign\nVersion: 99999:0\n", name, arch)
		if p != "" {
			fmt.Fprintf(&b, "Provides: %s\n", stripVersions(p))
		}
		b.WriteString("Description: excluded by the base image spec\n\n")
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		return fmt.Errorf("write apt status: %w", err)
	}
	return nil
}

// stripVersions drops the "(= version)" of each provided name, which would
// name the real package's version rather than the stub's.
func stripVersions(provides string) string {
	var out []string
	for _, p := range strings.Split(provides, ",") {
		name, _, _ := strings.Cut(strings.TrimSpace(p), " ")
		if name != "" {
			out = append(out, name)
		}
	}
	return strings.Join(out, ", ")
}

// hostLists runs apt-get update once if the host has no package lists, as
// on a fresh CI machine.
func (a *Apt) hostLists(ctx context.Context) error {
	a.update.Lock()
	defer a.update.Unlock()
	if hasLists(a.opts.hostLists) {
		return nil
	}
	a.opts.logger.InfoContext(ctx, "the host has no apt package lists: running apt-get update")
	if _, err := a.run(ctx, a.opts.aptGet, "-q", "update"); err != nil {
		return fmt.Errorf("update the host's package lists: %w", err)
	}
	return nil
}

// Refresh brings the package lists spec resolves against up to date now:
// apt-get update of the host's lists, or of the spec's own sources. A
// mirror drops the .deb files of superseded versions, so lists older than
// the mirror can name files that are gone; BuildBase refreshes and resolves
// again when a download is not found.
func (a *Apt) Refresh(ctx context.Context, spec *Spec) error {
	b := spec.Spec
	host, err := a.architecture(&Spec{})
	if err != nil {
		return err
	}
	if b.Mirror == "" && b.Suite == "" && (b.Architecture == "" || b.Architecture == host) {
		a.update.Lock()
		defer a.update.Unlock()
		a.opts.logger.InfoContext(ctx, "refreshing the host's apt package lists")
		if _, err := a.run(ctx, a.opts.aptGet, "-q", "update"); err != nil {
			return fmt.Errorf("update the host's package lists: %w", err)
		}
		return nil
	}
	dir, _, err := a.ownDir(spec)
	if err != nil {
		return err
	}
	// The next resolve sees a missing stamp and updates.
	if err := os.Remove(filepath.Join(dir, "updated")); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("refresh package lists: %w", err)
	}
	return nil
}

// ownDir is the state directory of the spec's own sources and their
// sources.list line.
func (a *Apt) ownDir(spec *Spec) (dir, line string, err error) {
	b := spec.Spec
	mirror, suite := b.Mirror, b.Suite
	if mirror == "" {
		mirror = DefaultMirror
	}
	if suite == "" {
		if suite, err = hostSuite(a.opts.osRelease); err != nil {
			return "", "", err
		}
	}
	arch, err := a.architecture(spec)
	if err != nil {
		return "", "", err
	}
	line = fmt.Sprintf("deb [arch=%s] %s %s main\n", arch, strings.TrimSuffix(mirror, "/"), suite)
	sum := sha256.Sum256([]byte(line))
	return filepath.Join(a.opts.stateDir, hex.EncodeToString(sum[:8])), line, nil
}

// ownLists returns the options for the spec's own sources, updating their
// lists when missing or older than the maximum age.
func (a *Apt) ownLists(ctx context.Context, spec *Spec, common []string) ([]string, error) {
	dir, line, err := a.ownDir(spec)
	if err != nil {
		return nil, err
	}
	arch, err := a.architecture(spec)
	if err != nil {
		return nil, err
	}
	source := strings.TrimSpace(line)
	for _, d := range []string{"lists/partial", "sources.list.d", "preferences.d"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return nil, fmt.Errorf("create apt state dir: %w", err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "sources.list"), []byte(line), 0o644); err != nil {
		return nil, fmt.Errorf("write sources.list: %w", err)
	}
	opts := append(slices.Clone(common),
		"-o", "Dir::Etc::SourceList="+filepath.Join(dir, "sources.list"),
		"-o", "Dir::Etc::SourceParts="+filepath.Join(dir, "sources.list.d"),
		"-o", "Dir::Etc::Preferences="+filepath.Join(dir, "preferences"),
		"-o", "Dir::Etc::PreferencesParts="+filepath.Join(dir, "preferences.d"),
		"-o", "Dir::State::Lists="+filepath.Join(dir, "lists"),
		"-o", "APT::Architecture="+arch,
		"-o", "APT::Architectures="+arch,
	)
	a.update.Lock()
	defer a.update.Unlock()
	stamp := filepath.Join(dir, "updated")
	if st, err := os.Stat(stamp); err == nil && time.Since(st.ModTime()) < a.opts.maxAge && hasLists(filepath.Join(dir, "lists")) {
		return opts, nil
	}
	a.opts.logger.InfoContext(ctx, "updating package lists", "source", source)
	if _, err := a.run(ctx, a.opts.aptGet, slices.Concat(opts, []string{"-q", "update"})...); err != nil {
		return nil, fmt.Errorf("update package lists of %s: %w", source, err)
	}
	if !hasLists(filepath.Join(dir, "lists")) {
		return nil, fmt.Errorf("%w: update package lists: %s has no main/binary-%s Packages", hallmark.ErrInvalid, source, arch)
	}
	if err := os.WriteFile(stamp, nil, 0o644); err != nil {
		return nil, fmt.Errorf("update package lists: %w", err)
	}
	return opts, nil
}

// hasLists reports whether dir holds at least one Packages index.
func hasLists(dir string) bool {
	m, _ := filepath.Glob(filepath.Join(dir, "*_Packages*"))
	return len(m) > 0
}

// architecture is the spec's dpkg architecture or the host's.
func (a *Apt) architecture(spec *Spec) (string, error) {
	if spec.Spec.Architecture != "" {
		return spec.Spec.Architecture, nil
	}
	for arch, p := range ociPlatforms {
		if p.Architecture == runtime.GOARCH && (runtime.GOARCH != "arm" || arch == "armhf") {
			return arch, nil
		}
	}
	return "", fmt.Errorf("%w: spec.architecture: the host's architecture %s has no Debian port; set it", hallmark.ErrInvalid, runtime.GOARCH)
}

// hostSuite reads VERSION_CODENAME from os-release.
func hostSuite(osRelease string) (string, error) {
	data, err := os.ReadFile(osRelease)
	if err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if v, ok := strings.CutPrefix(line, "VERSION_CODENAME="); ok {
				if v = strings.Trim(strings.TrimSpace(v), `"'`); suiteRE.MatchString(v) {
					return v, nil
				}
			}
		}
	}
	return "", fmt.Errorf("%w: spec.suite: the host's %s names no VERSION_CODENAME; set it", hallmark.ErrInvalid, osRelease)
}

// run runs an apt command in the C locale and returns its stdout. A failure
// is classified by apt's messages (aptError).
func (a *Apt) run(ctx context.Context, bin string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), "LC_ALL=C", "LANG=C", "DEBIAN_FRONTEND=noninteractive")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	a.opts.logger.DebugContext(ctx, "apt", "command", filepath.Base(bin), "args", len(args), "ms", time.Since(start).Milliseconds(), "error", err)
	if err == nil {
		return stdout.Bytes(), nil
	}
	if ctx.Err() != nil {
		return nil, fmt.Errorf("%w: %s: %w", hallmark.ErrCanceled, filepath.Base(bin), context.Cause(ctx))
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return nil, fmt.Errorf("%w: run %s (base images need Debian's apt on the gateway host): %w", hallmark.ErrUnavailable, bin, err)
	}
	return nil, aptError(filepath.Base(bin), stdout.Bytes(), stderr.Bytes())
}
