package devstack

import (
	"archive/tar"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

// hostBusybox is where Debian's busybox-static installs its binary.
const hostBusybox = "/bin/busybox"

// needBusybox skips the test if the host has no static busybox, except in
// CI (CI set), where `make deps` installs it and a missing one is a failure.
func needBusybox(t *testing.T) {
	t.Helper()
	if err := checkStaticELF(hostBusybox); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("no static busybox in CI (make deps installs busybox-static): %v", err)
		}
		t.Skipf("no static busybox (apt-get install busybox-static): %v", err)
	}
}

// fakeGoroot makes a tiny GOROOT with one file of each kind GolangImage keeps
// or drops.
func fakeGoroot(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	tools := runtime.GOOS + "_" + runtime.GOARCH
	for name, mode := range map[string]os.FileMode{
		"VERSION":                       0o644,
		"go.env":                        0o644,
		"bin/go":                        0o755,
		"bin/gofmt":                     0o700,
		"src/fmt/print.go":              0o600,
		"src/fmt/print_test.go":         0o644,
		"src/fmt/testdata/golden.txt":   0o644,
		"src/cmd/go/testdata/script.sh": 0o755,
		"pkg/include/textflag.h":        0o644,
		"pkg/tool/" + tools + "/link":   0o755,
		"pkg/tool/windows_arm64/link":   0o755,
		"lib/time/zoneinfo.zip":         0o644,
		"test/bench.go":                 0o644,
		"doc/go_spec.html":              0o644,
		"api/go1.txt":                   0o644,
		"misc/wasm/wasm_exec.js":        0o644,
	} {
		data := "contents of " + name + "\n"
		if name == "VERSION" {
			data = "go1.99.1\ntime 2026-01-01T00:00:00Z\n"
		}
		writeTestFile(t, filepath.Join(root, name), data, mode)
	}
	if err := os.Symlink("go", filepath.Join(root, "bin", "go-alias")); err != nil {
		t.Fatal(err)
	}
	return root
}

func TestGoVersion(t *testing.T) {
	tests := []struct {
		name, version, want string
		wantErr             bool
	}{
		{name: "release", version: "go1.26.8\ntime 2026-08-28T16:20:06Z\n", want: "1.26.8"},
		{name: "no newline", version: "go1.27rc1", want: "1.27rc1"},
		{name: "devel", version: "devel +abc\n", wantErr: true},
		{name: "empty", version: "", wantErr: true},
		{name: "missing", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			if tt.name != "missing" {
				writeTestFile(t, filepath.Join(root, "VERSION"), tt.version, 0o644)
			}
			got, err := GoVersion(root)
			if got != tt.want || (err != nil) != tt.wantErr {
				t.Errorf("GoVersion = %q, %v; want %q, error %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestGolangImageRejectsBusybox(t *testing.T) {
	root := fakeGoroot(t)
	notELF := filepath.Join(t.TempDir(), "busybox")
	writeTestFile(t, notELF, "#!/bin/sh\n", 0o755)
	dynamic, err := os.Executable() // the test binary itself, -race makes it use cgo
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, busybox string }{
		{name: "missing", busybox: filepath.Join(t.TempDir(), "nope")},
		{name: "not elf", busybox: notELF},
		{name: "dynamic", busybox: "/bin/ls"},
		{name: "self if dynamic", busybox: dynamic},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := os.Stat(tt.busybox); tt.name != "missing" && err != nil {
				t.Skipf("no %s here", tt.busybox)
			}
			if tt.name == "self if dynamic" && checkStaticELF(tt.busybox) == nil {
				t.Skip("test binary is static")
			}
			if _, err := GolangImage(root, tt.busybox, WithCABundle("")); err == nil {
				t.Errorf("GolangImage(%s): no error", tt.busybox)
			}
		})
	}
}

func TestGolangImageFakeGoroot(t *testing.T) {
	needBusybox(t)
	root := fakeGoroot(t)
	img, err := GolangImage(root, hostBusybox, WithCABundle(""))
	if err != nil {
		t.Fatalf("GolangImage: %v", err)
	}
	cf := checkImageBasics(t, img, 2)
	wantEnv := []string{
		"PATH=/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt",
		"GOLANG_VERSION=1.99.1",
		"GOROOT=/usr/local/go",
		"GOTOOLCHAIN=local",
		"CGO_ENABLED=0",
		"GOPATH=/go",
		"GOCACHE=/root/.cache/go-build",
	}
	if !slices.Equal(cf.Config.Env, wantEnv) || cf.Config.WorkingDir != "/go" || cf.Config.User != "" {
		t.Errorf("config env %q workdir %q user %q", cf.Config.Env, cf.Config.WorkingDir, cf.Config.User)
	}
	layers, err := img.Layers()
	if err != nil {
		t.Fatalf("Layers: %v", err)
	}
	t.Run("base layer", func(t *testing.T) {
		want := []wantEntry{
			{name: "bin/busybox", typeflag: tar.TypeReg, mode: 0o755},
			{name: "usr/bin/env", typeflag: tar.TypeSymlink, mode: 0o777, linkname: "/bin/busybox"},
			{name: "etc/passwd", typeflag: tar.TypeReg, mode: 0o644, contains: "root:x:0:0:root:/root:/bin/sh\n"},
			{name: "etc/os-release", typeflag: tar.TypeReg, mode: 0o644, contains: `VERSION_ID="1.99.1"`},
			{name: "etc/group", typeflag: tar.TypeReg, mode: 0o644},
			{name: "etc/ssl/certs/ca-certificates.crt", typeflag: tar.TypeReg, mode: 0o644},
			{name: "tmp", typeflag: tar.TypeDir, mode: 0o1777},
			{name: "root", typeflag: tar.TypeDir, mode: 0o700},
			{name: "go", typeflag: tar.TypeDir, mode: 0o1777},
		}
		for _, applet := range []string{"sh", "ls", "cat", "echo", "mkdir", "rm", "cp", "mv", "env", "true", "false", "test", "[", "grep", "sed", "wc", "id", "whoami", "uname"} {
			want = append(want, wantEntry{name: "bin/" + applet, typeflag: tar.TypeSymlink, mode: 0o777, linkname: "busybox"})
		}
		checkEntries(t, layers[0], want, []string{"usr/local/go"})
	})
	t.Run("toolchain layer", func(t *testing.T) {
		tools := "usr/local/go/pkg/tool/" + runtime.GOOS + "_" + runtime.GOARCH
		checkEntries(t, layers[1], []wantEntry{
			{name: "usr/local/go", typeflag: tar.TypeDir, mode: 0o755},
			{name: "usr/local/go/VERSION", typeflag: tar.TypeReg, mode: 0o644, contains: "go1.99.1"},
			{name: "usr/local/go/go.env", typeflag: tar.TypeReg, mode: 0o644},
			{name: "usr/local/go/bin/go", typeflag: tar.TypeReg, mode: 0o755, contains: "contents of bin/go"},
			{name: "usr/local/go/bin/gofmt", typeflag: tar.TypeReg, mode: 0o755},
			{name: "usr/local/go/bin/go-alias", typeflag: tar.TypeSymlink, mode: 0o777, linkname: "go"},
			{name: "usr/local/go/src/fmt/print.go", typeflag: tar.TypeReg, mode: 0o644},
			{name: "usr/local/go/pkg/include/textflag.h", typeflag: tar.TypeReg, mode: 0o644},
			{name: "usr/local/go/lib/time/zoneinfo.zip", typeflag: tar.TypeReg, mode: 0o644},
			{name: tools + "/link", typeflag: tar.TypeReg, mode: 0o755},
		}, []string{
			"usr/local/go/src/fmt/print_test.go",
			"usr/local/go/src/fmt/testdata",
			"usr/local/go/src/cmd/go/testdata",
			"usr/local/go/pkg/tool/windows_arm64",
			"usr/local/go/test",
			"usr/local/go/doc",
			"usr/local/go/api",
			"usr/local/go/misc",
			"bin/busybox",
		})
	})
}

func TestGolangImageReproducible(t *testing.T) {
	needBusybox(t)
	tests := []struct {
		name      string
		change    func(t *testing.T, root string)
		wantImage bool // same image digest
		wantKey   bool // same cache key
	}{
		{name: "nothing", change: func(*testing.T, string) {}, wantImage: true, wantKey: true},
		{name: "mtime", wantImage: true, change: func(t *testing.T, root string) {
			if err := os.Chtimes(filepath.Join(root, "bin/go"), time.Now(), time.Unix(1e9, 0)); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "umask", wantImage: true, change: func(t *testing.T, root string) {
			if err := os.Chmod(filepath.Join(root, "src/fmt/print.go"), 0o664); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "contents", change: func(t *testing.T, root string) {
			writeTestFile(t, filepath.Join(root, "src/fmt/print.go"), "changed\n", 0o644)
		}},
		{name: "dropped file", wantImage: true, wantKey: true, change: func(t *testing.T, root string) {
			writeTestFile(t, filepath.Join(root, "test/new.go"), "ignored\n", 0o644)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := fakeGoroot(t)
			build := func() (string, string) {
				img, err := GolangImage(root, hostBusybox, WithCABundle(""))
				if err != nil {
					t.Fatalf("GolangImage: %v", err)
				}
				key, err := GolangImageKey(root, hostBusybox, WithCABundle(""))
				if err != nil {
					t.Fatalf("GolangImageKey: %v", err)
				}
				return imageDigest(t, img).String(), key
			}
			digestA, keyA := build()
			tt.change(t, root)
			digestB, keyB := build()
			if (digestA == digestB) != tt.wantImage || (keyA == keyB) != tt.wantKey {
				t.Errorf("same digest %v (want %v), same key %v (want %v)", digestA == digestB, tt.wantImage, keyA == keyB, tt.wantKey)
			}
			if !strings.HasPrefix(keyA, "golang-1.99.1-") {
				t.Errorf("key %q does not name the Go version", keyA)
			}
		})
	}
}
