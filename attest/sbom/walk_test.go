package sbom

import (
	"archive/tar"
	"reflect"
	"slices"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// statusD is a distroless status.d file for package name at version.
func statusD(name, version string) entry {
	return file("var/lib/dpkg/status.d/"+name, []byte("Package: "+name+"\nVersion: "+version+"\nArchitecture: amd64\n"))
}

// debPackages generates a document for layers and lists its deb packages
// as "name@version/L<layer index>".
func debPackages(t *testing.T, layers ...v1.Layer) []string {
	t.Helper()
	doc, err := Generate(t.Context(), image(t, layers...), WithCreated(fixedTime))
	if err != nil {
		t.Fatal(err)
	}
	index := map[string]int{}
	for i, l := range doc.Layers() {
		index[l.String()] = i
	}
	var out []string
	for _, p := range doc.Packages() {
		if p.Type == "deb" {
			out = append(out, p.Name+"@"+p.Version+"/L"+itoa3(index[p.Layer.String()])[2:])
		}
	}
	slices.Sort(out)
	return out
}

func TestWhiteouts(t *testing.T) {
	const d = "var/lib/dpkg/status.d/"
	tests := []struct {
		name   string
		layers [][]entry
		want   []string
	}{
		{"file deleted", [][]entry{{statusD("a", "1"), statusD("b", "1")}, {whiteout(d + ".wh.b")}},
			[]string{"a@1/L0"}},
		{"opaque directory", [][]entry{{statusD("a", "1"), statusD("b", "1")}, {dir(d), whiteout(d + ".wh..wh..opq"), statusD("c", "1")}},
			[]string{"c@1/L1"}},
		{"opaque hides only lower layers", [][]entry{{statusD("a", "1")}, {statusD("b", "1"), whiteout(d + ".wh..wh..opq")}, {statusD("c", "1")}},
			[]string{"b@1/L1", "c@1/L2"}},
		{"whiteout spares its own layer", [][]entry{{statusD("a", "1")}, {whiteout(d + ".wh.a"), statusD("a", "2")}},
			[]string{"a@2/L1"}},
		{"parent directory deleted", [][]entry{{statusD("a", "1"), statusD("b", "1")}, {whiteout("var/lib/dpkg/.wh.status.d")}},
			nil},
		{"parent deleted and recreated", [][]entry{{statusD("a", "1")}, {whiteout("var/lib/dpkg/.wh.status.d"), statusD("b", "1")}},
			[]string{"b@1/L1"}},
		{"file replaced", [][]entry{{statusD("a", "1")}, {statusD("a", "2")}},
			[]string{"a@2/L1"}},
		{"deleted then added again", [][]entry{{statusD("a", "1")}, {whiteout(d + ".wh.a")}, {statusD("a", "3")}},
			[]string{"a@3/L2"}},
		{"directory replaced by a file", [][]entry{{statusD("a", "1")}, {file("var/lib/dpkg/status.d", []byte("x"))}},
			nil},
		{"directory replaced by a link", [][]entry{{statusD("a", "1")}, {{name: "var/lib/dpkg/status.d", typ: tar.TypeSymlink, link: "/tmp"}}},
			nil},
		{"file replaced by a directory", [][]entry{{file("var/lib/dpkg/status", []byte("Package: x\nVersion: 1\n"))}, {dir("var/lib/dpkg/status")}},
			nil},
		{"duplicate entry in one layer", [][]entry{{statusD("a", "1"), statusD("a", "2")}},
			[]string{"a@2/L0"}},
		{"odd names", [][]entry{{
			file("./"+d+"a", []byte("Package: a\nVersion: 1\n")),
			file("/"+d+"b", []byte("Package: b\nVersion: 1\n")),
			file(d+"../status.d/c", []byte("Package: c\nVersion: 1\n")),
			file("../../"+d+"d", []byte("Package: d\nVersion: 1\n")),
		}}, []string{"a@1/L0", "b@1/L0", "c@1/L0", "d@1/L0"}},
		{"links, devices and md5sums are not read", [][]entry{{
			file("etc/real", []byte("Package: real\nVersion: 1\n")),
			{name: "var/lib/dpkg/status", typ: tar.TypeSymlink, link: "/etc/real"},
			{name: d + "hard", typ: tar.TypeLink, link: "etc/real"},
			{name: d + "dev", typ: tar.TypeChar},
			{name: d + "fifo", typ: tar.TypeFifo},
			{name: "loop/a", typ: tar.TypeSymlink, link: "b"}, {name: "loop/b", typ: tar.TypeSymlink, link: "a"},
			file(d+"x.md5sums", []byte("Package: x\nVersion: 1\n")),
		}}, nil},
		{"aufs metadata is ignored", [][]entry{{statusD("a", "1")}, {whiteout(d + ".wh..wh.plnk"), whiteout(".wh..wh.aufs")}},
			[]string{"a@1/L0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var layers []v1.Layer
			for _, l := range tt.layers {
				layers = append(layers, layer(t, l...))
			}
			if got := debPackages(t, layers...); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("packages = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestShadowHides(t *testing.T) {
	s := shadow{"/a": markDir, "/a/b": markFile, "/c": markOpaque, "/d": markWhiteout}
	tests := []struct {
		path  string
		isDir bool
		want  bool
	}{
		{"/a", true, false}, {"/a", false, true}, {"/a/x", false, false},
		{"/a/b", false, true}, {"/a/b/c", false, true},
		{"/c", true, false}, {"/c", false, true}, {"/c/x", false, true},
		{"/d", true, true}, {"/d/x/y", false, true}, {"/e", false, false},
	}
	for _, tt := range tests {
		if got := s.hides(tt.path, tt.isDir); got != tt.want {
			t.Errorf("hides(%q, dir=%v) = %v, want %v", tt.path, tt.isDir, got, tt.want)
		}
	}
}
