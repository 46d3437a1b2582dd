package devstack

import (
	"bufio"
	"compress/gzip"
	"crypto/sha256"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
)

// busyboxApplets are linked to /bin/busybox in the golang image.
var busyboxApplets = []string{
	"[", "[[", "ash", "awk", "basename", "cat", "chmod", "chown", "cp", "cut",
	"date", "diff", "dirname", "du", "echo", "env", "expr", "false", "find",
	"grep", "gunzip", "gzip", "head", "hostname", "id", "ln", "ls", "mkdir",
	"mktemp", "mv", "printf", "pwd", "readlink", "realpath", "rm", "rmdir",
	"sed", "sh", "sha256sum", "sleep", "sort", "stat", "tail", "tar", "tee",
	"test", "touch", "tr", "true", "uname", "uniq", "wc", "which", "whoami",
	"xargs",
}

// gorootSkipDirs are top-level GOROOT directories a build does not need.
var gorootSkipDirs = map[string]bool{"api": true, "doc": true, "misc": true, "test": true}

// GoVersion returns the version of the Go toolchain at goroot without its
// "go" prefix (e.g. "1.26.8"), read from the first line of goroot/VERSION.
// It is the tag of the golang image.
func GoVersion(goroot string) (string, error) {
	f, err := os.Open(filepath.Join(goroot, "VERSION"))
	if err != nil {
		return "", fmt.Errorf("read go version: %w", err)
	}
	defer f.Close()
	line, err := bufio.NewReader(f).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read go version: %w", err)
	}
	v, ok := strings.CutPrefix(strings.TrimSpace(line), "go")
	if !ok || v == "" {
		return "", fmt.Errorf("read go version: %s/VERSION does not start with a go version", goroot)
	}
	return v, nil
}

// GolangImage builds hallmark/golang:<GoVersion(goroot)>, the builder image
// of the dev stack. It has two layers:
//
//   - base: a statically linked busybox (the Debian package busybox-static's
//     /bin/busybox, passed as busybox) at /bin/busybox with /bin/sh, ls, cat,
//     grep, sed and the other usual applets linked to it; /etc/passwd, group,
//     nsswitch.conf, os-release and the CA bundle as in StaticImage (root's
//     shell is /bin/sh); /tmp (1777), /root (0700) and /go (1777);
//   - toolchain: the Go installation at goroot (an upstream go.dev/dl tree
//     such as /usr/local/go, the host's go env GOROOT) copied to
//     /usr/local/go without what a build does not need: api/, doc/, misc/,
//     test/, every testdata/ directory, *_test.go files and pkg/tool
//     directories for other platforms than GOOS_GOARCH.
//
// The config sets PATH (with /usr/local/go/bin first), GOROOT=/usr/local/go
// (go would find it through /proc/self/exe, which not every sandbox has),
// GOTOOLCHAIN=local, CGO_ENABLED=0, GOPATH=/go, GOCACHE=/root/.cache/go-build,
// SSL_CERT_FILE and GOLANG_VERSION, the working directory /go and the command
// /bin/sh; the user is left unset (root).
//
// The layers are compressed with gzip.BestSpeed and kept in memory (Go 1.26:
// 190 MB unpacked, 64 MB compressed). The image is reproducible like
// StaticImage: equal files give equal digests, whatever their host times,
// modes (only the executable bit counts) and owners. Building it takes about
// 3 s on two cores; use CachedImage with GolangImageKey to do it once.
func GolangImage(goroot, busybox string, opts ...ImageOption) (v1.Image, error) {
	o, err := newImageOptions(opts)
	if err != nil {
		return nil, err
	}
	version, err := GoVersion(goroot)
	if err != nil {
		return nil, err
	}
	if err := checkStaticELF(busybox); err != nil {
		return nil, err
	}
	base := newLayerBuilder()
	osRelease := fmt.Sprintf("PRETTY_NAME=\"Hallmark golang %[1]s\"\nNAME=\"Hallmark golang\"\nID=hallmark-golang\nVERSION_ID=%[1]q\nHOME_URL=\"https://github.com/hallmark-dev/hallmark\"\n", version)
	if err := addBaseFiles(base, o, "/bin/sh", osRelease); err != nil {
		return nil, err
	}
	st, err := os.Stat(busybox)
	if err != nil {
		return nil, fmt.Errorf("stat busybox: %w", err)
	}
	base.hostFile("bin/busybox", 0o755, busybox, st.Size())
	for _, applet := range busyboxApplets {
		base.symlink("bin/"+applet, "busybox")
	}
	base.symlink("usr/bin/env", "/bin/busybox")
	base.dir("go", 0o1777, rootID, rootID)
	baseLayer, err := base.build(gzip.BestSpeed)
	if err != nil {
		return nil, fmt.Errorf("build golang base layer: %w", err)
	}

	toolchain := newLayerBuilder()
	toolchain.dir("usr/local/go", 0o755, rootID, rootID)
	err = walkGoroot(goroot, func(rel string, info fs.FileInfo, link string) error {
		name := path.Join("usr/local/go", rel)
		switch {
		case info.IsDir():
			toolchain.dir(name, 0o755, rootID, rootID)
		case link != "":
			toolchain.symlink(name, link)
		default:
			toolchain.hostFile(name, normalMode(info.Mode()), filepath.Join(goroot, filepath.FromSlash(rel)), info.Size())
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	toolchainLayer, err := toolchain.build(gzip.BestSpeed)
	if err != nil {
		return nil, fmt.Errorf("build golang toolchain layer: %w", err)
	}

	return assembleImage(v1.Config{
		Env: []string{
			"PATH=/usr/local/go/bin:" + systemPath,
			"SSL_CERT_FILE=" + caBundlePath,
			"GOLANG_VERSION=" + version,
			"GOROOT=/usr/local/go",
			"GOTOOLCHAIN=local",
			"CGO_ENABLED=0",
			"GOPATH=/go",
			"GOCACHE=/root/.cache/go-build",
		},
		WorkingDir: "/go",
		Cmd:        []string{"/bin/sh"},
	},
		mutate.Addendum{Layer: baseLayer, History: layerHistory("busybox and base files")},
		mutate.Addendum{Layer: toolchainLayer, History: layerHistory("go " + version + " toolchain")},
	)
}

// GolangImageKey returns a key for CachedImage that changes whenever
// GolangImage(goroot, busybox, opts...) could give a different image: it
// hashes the image format, the Go release running this code, goroot's path,
// its Go version and the path, size, mode and mtime of every file copied from
// it, and the contents of busybox and of the CA bundle. It stats every file
// of goroot, so it costs tens of milliseconds, not a rebuild.
func GolangImageKey(goroot, busybox string, opts ...ImageOption) (string, error) {
	o, err := newImageOptions(opts)
	if err != nil {
		return "", err
	}
	version, err := GoVersion(goroot)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	fmt.Fprintf(h, "hallmark golang image v1\x00%s\x00%s/%s\x00%s\x00%s\x00", runtime.Version(), runtime.GOOS, runtime.GOARCH, goroot, version)
	err = walkGoroot(goroot, func(rel string, info fs.FileInfo, link string) error {
		fmt.Fprintf(h, "%q %o %d %d %q\n", rel, info.Mode(), info.Size(), info.ModTime().UnixNano(), link)
		return nil
	})
	if err != nil {
		return "", err
	}
	for _, file := range []string{busybox, o.caBundle} {
		if err := hashFile(h, file); err != nil {
			return "", err
		}
	}
	return fmt.Sprintf("golang-%s-%x", version, h.Sum(nil)), nil
}

// walkGoroot calls visit for every directory, file and symlink of goroot that
// GolangImage copies, in lexical order, with its slash-separated path
// relative to goroot and, for a symlink, its target.
func walkGoroot(goroot string, visit func(rel string, info fs.FileInfo, link string) error) error {
	tools := runtime.GOOS + "_" + runtime.GOARCH
	root, err := filepath.EvalSymlinks(goroot)
	if err != nil {
		return fmt.Errorf("walk goroot: %w", err)
	}
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil || rel == "." {
			return err
		}
		rel = filepath.ToSlash(rel)
		dir, base := path.Split(rel)
		switch {
		case d.IsDir() && (dir == "" && gorootSkipDirs[base] ||
			base == "testdata" ||
			dir == "pkg/tool/" && base != tools):
			return filepath.SkipDir
		case !d.IsDir() && strings.HasSuffix(base, "_test.go"):
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		var link string
		switch typ := info.Mode().Type(); {
		case typ == fs.ModeSymlink:
			if link, err = os.Readlink(p); err != nil {
				return err
			}
		case typ&^fs.ModeDir != 0:
			return fmt.Errorf("%s is not a regular file, directory or symlink", p)
		}
		return visit(rel, info, link)
	})
	if err != nil {
		return fmt.Errorf("walk goroot: %w", err)
	}
	return nil
}

// normalMode maps a host file mode to 0755 if anyone may execute it, else
// 0644, so that the host's umask does not change the image.
func normalMode(m fs.FileMode) int64 {
	if m&0o111 != 0 {
		return 0o755
	}
	return 0o644
}

// checkStaticELF makes sure the file at p is a statically linked executable
// for this architecture, as the golang image has no dynamic loader.
func checkStaticELF(p string) error {
	f, err := elf.Open(p)
	if err != nil {
		return fmt.Errorf("check busybox: %w", err)
	}
	defer f.Close()
	for _, prog := range f.Progs {
		if prog.Type == elf.PT_INTERP {
			return fmt.Errorf("check busybox: %s is dynamically linked; install busybox-static", p)
		}
	}
	want, known := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}[runtime.GOARCH]
	if known && f.Machine != want {
		return fmt.Errorf("check busybox: %s is for %s, not %s", p, f.Machine, runtime.GOARCH)
	}
	return nil
}

func hashFile(w io.Writer, p string) error {
	var sum [sha256.Size]byte
	if p != "" {
		b, err := os.ReadFile(p)
		if err != nil {
			return fmt.Errorf("hash %s: %w", p, err)
		}
		sum = sha256.Sum256(b)
	}
	_, err := w.Write(sum[:])
	return err
}
