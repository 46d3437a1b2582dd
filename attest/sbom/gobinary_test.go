package sbom

import (
	"bytes"
	"debug/buildinfo"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

// readStreamed runs the streaming reader over the file at path.
func readStreamed(t *testing.T, path string) (*debug.BuildInfo, error) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	return readGoBuildInfo(f, st.Size())
}

// TestReadGoBuildInfoAgreesWithDebugBuildinfo compares the one-pass reader
// with debug/buildinfo on real executables: the test program built in
// several ways, the Go toolchain's own binaries, and this host's ELF files
// (mostly C programs, which must not be reported as Go).
func TestReadGoBuildInfoAgreesWithDebugBuildinfo(t *testing.T) {
	paths := []string{helloBinary(t)}
	dir := filepath.Dir(helloBinary(t))
	variants := map[string][]string{}
	if !testing.Short() {
		variants["pie"] = []string{"-buildmode=pie"}
		variants["stripped"] = []string{"-ldflags=-s -w"}
		variants["386"] = nil
		if _, err := exec.LookPath("gcc"); err == nil {
			variants["cgo-external"] = []string{"-ldflags=-linkmode=external"}
		}
	}
	for name, flags := range variants {
		out := filepath.Join(dir, "hello-"+name)
		args := append([]string{"build", "-trimpath", "-buildvcs=false", "-o", out}, flags...)
		cmd := exec.Command("go", append(args, ".")...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOTOOLCHAIN=local", "GOPROXY=off", "GOFLAGS=-mod=vendor", "GOWORK=off", "GOOS=linux")
		switch name {
		case "386":
			cmd.Env = append(cmd.Env, "GOARCH=386", "CGO_ENABLED=0")
		case "cgo-external":
			cmd.Env = append(cmd.Env, "CGO_ENABLED=1")
		default:
			cmd.Env = append(cmd.Env, "CGO_ENABLED=0")
		}
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("build %s: %v\n%s", name, err, b)
		}
		paths = append(paths, out)
	}
	out, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		t.Fatalf("go env GOROOT: %v", err)
	}
	goroot := strings.TrimSpace(string(out))
	globs := []string{goroot + "/bin/*"}
	if !testing.Short() {
		globs = append(globs, goroot+"/pkg/tool/*/*", "/usr/bin/*", "/usr/sbin/*")
	}
	for _, glob := range globs {
		m, _ := filepath.Glob(glob)
		paths = append(paths, m...)
	}
	var goCount, otherCount int
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil || !st.Mode().IsRegular() || st.Mode()&0o111 == 0 || st.Size() > 256<<20 {
			continue
		}
		want, wantErr := buildinfo.ReadFile(p)
		got, err := readStreamed(t, p)
		switch {
		case wantErr != nil:
			if got != nil {
				t.Errorf("%s: read %v, debug/buildinfo says %v", p, got.Main.Path, wantErr)
			}
			otherCount++
		case err != nil:
			t.Errorf("%s: %v; debug/buildinfo reads %s", p, err, want.GoVersion)
		case got.String() != want.String():
			t.Errorf("%s: build information differs\n got: %s\nwant: %s", p, got, want)
		default:
			goCount++
		}
	}
	t.Logf("%d Go executables agree, %d other files are not Go", goCount, otherCount)
	if goCount < len(variants)+2 {
		t.Errorf("only %d Go executables checked", goCount)
	}
}

func TestReadGoBuildInfoRejects(t *testing.T) {
	hello := readFile(t, helloBinary(t))
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, errNotGo},
		{"text", []byte(strings.Repeat("#!/bin/sh\necho hi\n", 10)), errNotGo},
		{"ELF header only", hello[:64], errNotGo},
		{"truncated in the middle", hello[:len(hello)/2], errNotGo},
		{"magic in a text file", append(bytes.Repeat([]byte{0}, 64), goBuildInfoMagic...), errNotGo},
		{"program headers past the end", func() []byte {
			b := bytes.Clone(hello[:4096])
			b[32] = 0xf0 // e_phoff far beyond the file
			return b
		}(), errNotGo},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info, err := readGoBuildInfo(bytes.NewReader(tt.in), int64(len(tt.in)))
			if info != nil || !errors.Is(err, tt.want) {
				t.Fatalf("readGoBuildInfo = %v, %v, want %v", info, err, tt.want)
			}
		})
	}
}

func TestGoPackages(t *testing.T) {
	info, err := readStreamed(t, helloBinary(t))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range goPackages(goBinary{ev: evidence{path: "/usr/local/bin/hello"}, info: info}) {
		if p.Path != "/usr/local/bin/hello" {
			t.Errorf("%s has path %q", p.Name, p.Path)
		}
		if p.Main != (p.Name == "example.com/hello") {
			t.Errorf("%s: Main %v, want it for the main module only", p.Name, p.Main)
		}
		got = append(got, p.PURL)
	}
	goVersion := strings.TrimPrefix(runtime.Version(), "go")
	want := []string{
		"pkg:golang/example.com/hello",
		"pkg:golang/example.com/lib@v1.2.3",
		"pkg:golang/example.com/local",
		"pkg:golang/example.com/new@v1.1.0",
		"pkg:golang/stdlib@" + goVersion,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("purls:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
