package debian

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	hallmark "github.com/hallmark-dev/hallmark"
)

const staticSpec = specHeader + `spec:
  packages: [base-files, ca-certificates, libc6]
  user: {name: nonroot, uid: 65532}
  config:
    env: [SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt]
    workingDir: /home/nonroot
`

// testDebs are three small packages shaped like Debian's: base-files with
// the root directories, ca-certificates with two certificates, and libc6
// with a hard link and a symlink.
func testDebs() []debSpec {
	newest := testTime.Add(48 * time.Hour)
	return []debSpec{
		{name: "base-files", version: "12.4+deb12u14", arch: "amd64", compression: ".xz", files: []file{
			{name: "./", typ: tar.TypeDir}, {name: "./etc/", typ: tar.TypeDir}, {name: "./tmp/", typ: tar.TypeDir, mode: 0o1777},
			{name: "./root/", typ: tar.TypeDir, mode: 0o700}, {name: "./home/", typ: tar.TypeDir},
			{name: "./usr/lib/os-release", body: "ID=debian\nVERSION_ID=\"12\"\n", mtime: newest},
			{name: "./etc/os-release", typ: tar.TypeSymlink, link: "../usr/lib/os-release"},
		}},
		{name: "ca-certificates", version: "20230311+deb12u1", arch: "all", compression: ".gz", files: []file{
			{name: "./", typ: tar.TypeDir}, {name: "./etc/", typ: tar.TypeDir}, {name: "./etc/ssl/certs/", typ: tar.TypeDir},
			{name: "./usr/share/ca-certificates/mozilla/B_Root.crt", body: "-----BEGIN CERTIFICATE-----\nB\n-----END CERTIFICATE-----"},
			{name: "./usr/share/ca-certificates/mozilla/A_Root.crt", body: "-----BEGIN CERTIFICATE-----\nA\n-----END CERTIFICATE-----\n"},
			{name: "./usr/share/doc/ca-certificates/README", body: "not a certificate"},
		}},
		{name: "libc6", version: "2.36-9+deb12u14", arch: "amd64", compression: ".zst", files: []file{
			{name: "./", typ: tar.TypeDir}, {name: "./usr/", typ: tar.TypeDir, mode: 0o700}, // the only package with ./usr/
			{name: "./usr/lib/x86_64-linux-gnu/libc.so.6", mode: 0o755, body: "\x7fELF libc"},
			{name: "./usr/lib/x86_64-linux-gnu/libc-2.36.so", typ: tar.TypeLink, link: "./usr/lib/x86_64-linux-gnu/libc.so.6"},
			{name: "./lib64/ld-linux-x86-64.so.2", typ: tar.TypeSymlink, link: "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"},
			{name: "./usr/sbin/helper", mode: 0o4755, uid: 0, gid: 42, body: "helper"},
		}},
	}
}

// layerHeaders reads the image's single layer.
func layerHeaders(t *testing.T, img v1.Image) ([]*tar.Header, map[string]string) {
	t.Helper()
	layers, err := img.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("layers: %v, %d", err, len(layers))
	}
	if mt, _ := layers[0].MediaType(); mt != types.OCILayer {
		t.Errorf("layer media type %s", mt)
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var hdrs []*tar.Header
	bodies := map[string]string{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		hdrs = append(hdrs, h)
		bodies[h.Name] = string(b)
	}
	return hdrs, bodies
}

func assemble(t *testing.T, spec *Spec, debs ...debSpec) *Image {
	t.Helper()
	plan, paths := pool(t, "amd64", debs...)
	img, err := Assemble(t.Context(), spec, plan, paths, WithWorkDir(t.TempDir()))
	if err != nil {
		t.Fatalf("Assemble: %v", err)
	}
	t.Cleanup(func() { img.Close() })
	return img
}

func TestAssemble(t *testing.T) {
	img := assemble(t, mustSpec(t, staticSpec), testDebs()...)
	hdrs, bodies := layerHeaders(t, img.Image)
	var names []string
	byName := map[string]*tar.Header{}
	for _, h := range hdrs {
		names = append(names, strings.TrimSuffix(h.Name, "/"))
		byName[strings.TrimSuffix(h.Name, "/")] = h
		if h.Typeflag == tar.TypeChar || h.Typeflag == tar.TypeBlock || strings.HasPrefix(h.Name, "/") || strings.Contains(h.Name, "..") {
			t.Errorf("unsafe entry %q", h.Name)
		}
	}
	if !slices.IsSorted(names) {
		t.Errorf("entries are not sorted: %q", names)
	}
	newest := testTime.Add(48 * time.Hour)
	tests := []struct {
		name     string
		typ      byte
		mode     int64
		uid, gid int
		link     string
		body     string
		mtime    time.Time
	}{
		{name: "etc", typ: tar.TypeDir, mode: 0o755, mtime: newest},
		{name: "usr", typ: tar.TypeDir, mode: 0o700, mtime: newest},     // only libc6 ships it
		{name: "usr/lib", typ: tar.TypeDir, mode: 0o755, mtime: newest}, // implicit
		{name: "tmp", typ: tar.TypeDir, mode: 0o1777, mtime: newest},
		{name: "root", typ: tar.TypeDir, mode: 0o700, mtime: newest},
		{name: "home/nonroot", typ: tar.TypeDir, mode: 0o700, uid: 65532, gid: 65532, mtime: newest},
		{name: "etc/passwd", typ: tar.TypeReg, mode: 0o644, mtime: newest,
			body: "root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n"},
		{name: "etc/group", typ: tar.TypeReg, mode: 0o644, body: "root:x:0:\nnonroot:x:65532:\n", mtime: newest},
		{name: "etc/os-release", typ: tar.TypeSymlink, mode: 0o644, link: "../usr/lib/os-release", mtime: testTime},
		{name: "usr/sbin/helper", typ: tar.TypeReg, mode: 0o4755, gid: 42, body: "helper", mtime: testTime},
		// The hard link group's first name holds the contents.
		{name: "usr/lib/x86_64-linux-gnu/libc-2.36.so", typ: tar.TypeReg, mode: 0o755, body: "\x7fELF libc", mtime: testTime},
		{name: "usr/lib/x86_64-linux-gnu/libc.so.6", typ: tar.TypeLink, mode: 0o755, link: "usr/lib/x86_64-linux-gnu/libc-2.36.so", mtime: testTime},
		{name: "lib64/ld-linux-x86-64.so.2", typ: tar.TypeSymlink, mode: 0o644, link: "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", mtime: testTime},
		{name: "etc/ssl/certs/ca-certificates.crt", typ: tar.TypeReg, mode: 0o644, mtime: newest,
			body: "-----BEGIN CERTIFICATE-----\nA\n-----END CERTIFICATE-----\n-----BEGIN CERTIFICATE-----\nB\n-----END CERTIFICATE-----\n"},
		{name: "etc/nsswitch.conf", typ: tar.TypeReg, mode: 0o644, mtime: newest, body: "passwd: files\ngroup: files\nshadow: files\nhosts: files dns\nnetworks: files\nprotocols: files\nservices: files\n"},
		{name: "var/lib/dpkg/status.d/libc6", typ: tar.TypeReg, mode: 0o644, mtime: newest, body: testDebs()[2].controlFile()},
	}
	for _, tt := range tests {
		h := byName[tt.name]
		if h == nil {
			t.Errorf("%s is missing", tt.name)
			continue
		}
		got := fmt.Sprintf("%c %o %d:%d %q %s", h.Typeflag, h.Mode, h.Uid, h.Gid, h.Linkname, h.ModTime.UTC())
		want := fmt.Sprintf("%c %o %d:%d %q %s", tt.typ, tt.mode, tt.uid, tt.gid, tt.link, tt.mtime)
		if got != want {
			t.Errorf("%s: %s, want %s", tt.name, got, want)
		}
		if tt.body != "" && bodies[h.Name] != tt.body {
			t.Errorf("%s: contents %q, want %q", tt.name, bodies[h.Name], tt.body)
		}
	}
	var status []string
	for _, n := range names {
		if s, ok := strings.CutPrefix(n, "var/lib/dpkg/status.d/"); ok {
			status = append(status, s)
		}
	}
	if !slices.Equal(status, []string{"base-files", "ca-certificates", "libc6"}) {
		t.Errorf("status.d holds %q, want exactly the packages", status)
	}

	cf, err := img.Image.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.OS != "linux" || cf.Architecture != "amd64" || !cf.Created.Equal(newest) || cf.Config.User != "65532:65532" ||
		cf.Config.WorkingDir != "/home/nonroot" || !slices.Equal(cf.Config.Env, []string{DefaultPath, "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt"}) {
		t.Errorf("config = %+v, created %s", cf.Config, cf.Created)
	}
	if mt, _ := img.Image.MediaType(); mt != types.OCIManifestSchema1 {
		t.Errorf("manifest media type %s", mt)
	}
	if len(img.Packages) != 3 || !img.Created.Equal(newest) || img.UnpackedBytes == 0 {
		t.Errorf("image = %+v", img)
	}
}

func TestAssembleReproducible(t *testing.T) {
	spec := mustSpec(t, staticSpec)
	digest := func(img *Image) v1.Hash {
		d, err := img.Image.Digest()
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	first := digest(assemble(t, spec, testDebs()...))
	if again := digest(assemble(t, spec, testDebs()...)); again != first {
		t.Errorf("two assemblies: %s and %s", first, again)
	}
	reversed := testDebs()
	slices.Reverse(reversed)
	if d := digest(assemble(t, spec, reversed...)); d != first {
		t.Errorf("packages in another order: %s, want %s", d, first)
	}
	reordered := mustSpec(t, strings.Replace(staticSpec, "[base-files, ca-certificates, libc6]", "[libc6, ca-certificates, base-files]", 1))
	if d := digest(assemble(t, reordered, testDebs()...)); d != first {
		t.Errorf("spec packages in another order: %s, want %s", d, first)
	}
	newer := testDebs()
	newer[2].version = "2.36-9+deb12u15"
	if d := digest(assemble(t, spec, newer...)); d == first {
		t.Error("another package version gives the same digest")
	}
}

func TestAssembleRejects(t *testing.T) {
	spec := mustSpec(t, staticSpec)
	pkg := func(name string, files ...file) debSpec {
		return debSpec{name: name, version: "1.0", arch: "all", files: files}
	}
	tests := []struct {
		name string
		debs []debSpec
		edit func(*Plan)
		want string
	}{
		{name: "same file, different contents", debs: []debSpec{pkg("aa", file{name: "./etc/x", body: "1"}), pkg("bb", file{name: "./etc/x", body: "2"})},
			want: "packages aa and bb both ship /etc/x, differently"},
		{name: "file and directory", debs: []debSpec{pkg("aa", file{name: "./etc/x", body: "1"}), pkg("bb", file{name: "./etc/x/", typ: tar.TypeDir})},
			want: "both ship /etc/x"},
		{name: "path under a symlink", debs: []debSpec{pkg("aa", file{name: "./lib", typ: tar.TypeSymlink, link: "usr/lib"}), pkg("bb", file{name: "./lib/x", body: "1"})},
			want: "/lib/x (package bb) lies under /lib, which is not a directory (package aa)"},
		{name: "control differs from the index", debs: []debSpec{pkg("aa", file{name: "./a", body: "1"})},
			edit: func(p *Plan) { p.Packages[0].Version = "2.0" }, want: "the .deb is aa 1.0 (all), the index said aa 2.0 (all)"},
		{name: "duplicate package", debs: []debSpec{pkg("aa", file{name: "./a", body: "1"}), pkg("aa", file{name: "./b", body: "1"})},
			want: "listed twice"},
		{name: "bad architecture", debs: []debSpec{pkg("aa")}, edit: func(p *Plan) { p.Architecture = "pdp11" }, want: "no OCI platform"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan, paths := pool(t, "amd64", tt.debs...)
			if tt.edit != nil {
				tt.edit(plan)
			}
			img, err := Assemble(t.Context(), spec, plan, paths, WithWorkDir(t.TempDir()))
			if err == nil {
				img.Close()
			}
			if !errors.Is(err, hallmark.ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want ErrInvalid with %q", err, tt.want)
			}
		})
	}
}

func TestAssembleSharedFiles(t *testing.T) {
	// Identical files and directories in two packages are fine; the first
	// package (by name) keeps its directory mode.
	img := assemble(t, mustSpec(t, specHeader+"spec: {packages: [aa, bb]}\n"),
		debSpec{name: "bb", version: "1", arch: "all", files: []file{{name: "./opt/", typ: tar.TypeDir, mode: 0o750}, {name: "./opt/same", body: "x"}}},
		debSpec{name: "aa", version: "1", arch: "all", files: []file{{name: "./opt/", typ: tar.TypeDir, mode: 0o755}, {name: "./opt/same", body: "x"}}},
	)
	hdrs, _ := layerHeaders(t, img.Image)
	for _, h := range hdrs {
		if h.Name == "opt/" && h.Mode != 0o755 {
			t.Errorf("opt mode %o, want aa's 0755", h.Mode)
		}
		if h.Name == "etc/ssl/certs/ca-certificates.crt" {
			t.Error("a CA bundle without ca-certificates")
		}
	}
	cf, _ := img.Image.ConfigFile()
	if cf.Config.User != "" {
		t.Errorf("user = %q, want root without a spec user", cf.Config.User)
	}
}

func TestAssembleLimits(t *testing.T) {
	plan, paths := pool(t, "amd64", debSpec{name: "big", version: "1", arch: "all", files: []file{{name: "./big", body: strings.Repeat("x", 4096)}}})
	_, err := Assemble(t.Context(), mustSpec(t, staticSpec), plan, paths, WithWorkDir(t.TempDir()), WithMaxUnpackedBytes(1000))
	if !errors.Is(err, hallmark.ErrTooLarge) {
		t.Fatalf("error = %v, want ErrTooLarge", err)
	}
}
