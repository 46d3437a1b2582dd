package main

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// writeTree creates files under dir; a name ending in "/" is a directory,
// a value starting with "->" a symlink.
func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		var err error
		switch {
		case strings.HasSuffix(name, "/"):
			err = os.MkdirAll(p, 0o755)
		case strings.HasPrefix(content, "->"):
			err = os.Symlink(strings.TrimPrefix(content, "->"), p)
		default:
			err = os.WriteFile(p, []byte(content), 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// setTimes gives every entry under dir the same mtime, so that two trees
// written at different moments archive alike.
func setTimes(t *testing.T, dir string) {
	t.Helper()
	ts := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.Mode()&os.ModeSymlink != 0 {
			return err
		}
		return os.Chtimes(p, ts, ts)
	})
	if err != nil {
		t.Fatal(err)
	}
}

type entry struct {
	name, link string
	typ        byte
	body       string
	uid, gid   int
}

func readTar(t *testing.T, bc *buildContext) []entry {
	t.Helper()
	var buf bytes.Buffer
	if err := bc.writeTar(&buf); err != nil {
		t.Fatal(err)
	}
	var out []entry
	tr := tar.NewReader(&buf)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, entry{name: h.Name, link: h.Linkname, typ: h.Typeflag, body: string(body), uid: h.Uid, gid: h.Gid})
	}
}

func names(es []entry) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.name)
	}
	return out
}

var sampleTree = map[string]string{
	"Dockerfile":    "FROM scratch\nCOPY . /\n",
	"main.go":       "package main\n",
	"b/z.txt":       "z",
	"b/a.txt":       "a",
	"a/deep/x.txt":  "x",
	"empty/":        "",
	"link-to-main":  "->main.go",
	"link-outside":  "->/etc/passwd",
	"a/deep/y.data": strings.Repeat("y", 5000),
}

func TestContextDigestDeterministic(t *testing.T) {
	one, two := t.TempDir(), t.TempDir()
	writeTree(t, one, sampleTree)
	writeTree(t, two, sampleTree)
	setTimes(t, one)
	setTimes(t, two)

	var digests []string
	for _, dir := range []string{one, one, two} {
		bc, err := newBuildContext(dir, dockerfileSpec{}, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		d, size := contextDigest(t, bc)
		var buf bytes.Buffer
		if err := bc.writeTar(&buf); err != nil {
			t.Fatal(err)
		}
		if int64(buf.Len()) != size {
			t.Errorf("digest size = %d, archive is %d bytes", size, buf.Len())
		}
		digests = append(digests, d)
	}
	if digests[0] != digests[1] || digests[0] != digests[2] {
		t.Errorf("digests differ: %v", digests)
	}
	if !strings.HasPrefix(digests[0], "sha256:") || len(digests[0]) != len("sha256:")+64 {
		t.Errorf("digest %q is not sha256:<hex>", digests[0])
	}

	bc, err := newBuildContext(one, dockerfileSpec{}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	es := readTar(t, bc)
	want := []string{"Dockerfile", "a/", "a/deep/", "a/deep/x.txt", "a/deep/y.data", "b/", "b/a.txt", "b/z.txt", "empty/", "link-outside", "link-to-main", "main.go"}
	if got := names(es); !slices.Equal(got, want) {
		t.Errorf("entries = %q, want %q", got, want)
	}
	for _, e := range es {
		if e.uid != 0 || e.gid != 0 {
			t.Errorf("%s: uid/gid = %d/%d, want 0/0", e.name, e.uid, e.gid)
		}
	}
}

func TestContextSymlinksNotFollowed(t *testing.T) {
	outside := t.TempDir()
	writeTree(t, outside, map[string]string{"secret.txt": "do not send", "dir/f": "nor this"})
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"Dockerfile": "FROM scratch\n",
		"file-link":  "->" + filepath.Join(outside, "secret.txt"),
		"dir-link":   "->" + filepath.Join(outside, "dir"),
		"dangling":   "->nowhere",
	})
	bc, err := newBuildContext(dir, dockerfileSpec{}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]entry{}
	for _, e := range readTar(t, bc) {
		got[e.name] = e
		if strings.Contains(e.body, "do not send") || strings.Contains(e.body, "nor this") {
			t.Errorf("%s: symlink target content was archived", e.name)
		}
	}
	for name, target := range map[string]string{
		"file-link": filepath.Join(outside, "secret.txt"),
		"dir-link":  filepath.Join(outside, "dir"),
		"dangling":  "nowhere",
	} {
		e, ok := got[name]
		switch {
		case !ok:
			t.Errorf("%s missing", name)
		case e.typ != tar.TypeSymlink || e.link != target:
			t.Errorf("%s: type %c link %q, want symlink to %q", name, e.typ, e.link, target)
		}
	}
	if _, ok := got["dir-link/f"]; ok {
		t.Error("walked into a symlinked directory")
	}
}

func TestContextSymlinkedRoot(t *testing.T) {
	real := t.TempDir()
	writeTree(t, real, map[string]string{"Dockerfile": "FROM scratch\n"})
	link := filepath.Join(t.TempDir(), "ctx")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	bc, err := newBuildContext(link, dockerfileSpec{}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if got := names(readTar(t, bc)); !slices.Equal(got, []string{"Dockerfile"}) {
		t.Errorf("entries = %q", got)
	}
}

func TestContextDockerignore(t *testing.T) {
	tree := map[string]string{
		"Dockerfile":         "FROM scratch\n",
		"build/Dockerfile":   "FROM scratch\n",
		"main.go":            "package main\n",
		"README.md":          "readme",
		"docs/a.md":          "a",
		"docs/keep.md":       "keep",
		"node_modules/x/y":   "y",
		"logs/1.log":         "1",
		"logs/keep/2.log":    "2",
		"src/pkg/p.go":       "package p",
		"src/pkg/p_test.go":  "package p",
		"src/pkg/testdata/t": "t",
	}
	tests := []struct {
		name       string
		ignore     string
		dockerfile string // relative to the context; "" for Dockerfile
		extra      map[string]string
		want       []string
	}{
		{
			name:   "no patterns",
			ignore: "# only a comment\n\n",
			want: []string{".dockerignore", "Dockerfile", "README.md", "build/", "build/Dockerfile", "docs/", "docs/a.md", "docs/keep.md",
				"logs/", "logs/1.log", "logs/keep/", "logs/keep/2.log", "main.go", "node_modules/", "node_modules/x/", "node_modules/x/y",
				"src/", "src/pkg/", "src/pkg/p.go", "src/pkg/p_test.go", "src/pkg/testdata/", "src/pkg/testdata/t"},
		},
		{
			name:   "directories and globs",
			ignore: "node_modules\n*.md\n**/*_test.go\n/src/pkg/testdata\nbuild\n",
			// "*.md" matches only at the root, as in docker.
			want: []string{".dockerignore", "Dockerfile", "docs/", "docs/a.md", "docs/keep.md", "logs/", "logs/1.log", "logs/keep/", "logs/keep/2.log", "main.go", "src/", "src/pkg/", "src/pkg/p.go"},
		},
		{
			name:   "exceptions",
			ignore: "docs\n!docs/keep.md\nlogs\n!logs/keep\n*.md\n!README.md\nnode_modules\nsrc\nbuild\n",
			want:   []string{".dockerignore", "Dockerfile", "README.md", "docs/", "docs/keep.md", "logs/", "logs/keep/", "logs/keep/2.log", "main.go"},
		},
		{
			name:   "everything but an exception",
			ignore: "*\n!main.go\n",
			want:   []string{".dockerignore", "Dockerfile", "main.go"},
		},
		{
			name:   "Dockerfile and .dockerignore are always sent",
			ignore: "Dockerfile\n.dockerignore\n*\n",
			want:   []string{".dockerignore", "Dockerfile"},
		},
		{
			name:       "a Dockerfile in an ignored directory is sent",
			ignore:     "build\nsrc\ndocs\nlogs\nnode_modules\n*.md\n*.go\n",
			dockerfile: "build/Dockerfile",
			want:       []string{".dockerignore", "Dockerfile", "build/", "build/Dockerfile"},
		},
		{
			name:       "a Dockerfile-specific ignore file wins",
			ignore:     "*\n",
			dockerfile: "build/Dockerfile",
			extra:      map[string]string{"build/Dockerfile.dockerignore": "*\n!main.go\n"},
			want:       []string{".dockerignore", "build/", "build/Dockerfile", "main.go"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeTree(t, dir, tree)
			writeTree(t, dir, tt.extra)
			writeTree(t, dir, map[string]string{".dockerignore": tt.ignore})
			df := tt.dockerfile
			if df == "" {
				df = "Dockerfile"
			}
			spec, err := findDockerfile(filepath.Join(dir, filepath.FromSlash(df)), dir, nil)
			if err != nil {
				t.Fatal(err)
			}
			if spec.rel != df {
				t.Fatalf("dockerfile rel = %q, want %q", spec.rel, df)
			}
			bc, err := newBuildContext(dir, spec, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			if got := names(readTar(t, bc)); !slices.Equal(got, tt.want) {
				t.Errorf("entries =\n %q\nwant\n %q", got, tt.want)
			}
		})
	}
}

func TestContextSkipsSockets(t *testing.T) {
	dir, err := os.MkdirTemp("", "hm") // short path: socket names are limited
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	writeTree(t, dir, map[string]string{"Dockerfile": "FROM scratch\n"})
	l, err := net.Listen("unix", filepath.Join(dir, "s.sock"))
	if err != nil {
		t.Skipf("listen on a unix socket: %v", err)
	}
	defer l.Close()
	var warn bytes.Buffer
	bc, err := newBuildContext(dir, dockerfileSpec{}, &warn)
	if err != nil {
		t.Fatal(err)
	}
	if got := names(readTar(t, bc)); !slices.Equal(got, []string{"Dockerfile"}) {
		t.Errorf("entries = %q", got)
	}
	if !strings.Contains(warn.String(), "skipping s.sock: socket") {
		t.Errorf("warning = %q", warn.String())
	}
}

func TestRelInside(t *testing.T) {
	dir := t.TempDir()
	other := t.TempDir()
	tests := []struct {
		target string
		want   string
		ok     bool
	}{
		{filepath.Join(dir, "Dockerfile"), "Dockerfile", true},
		{filepath.Join(dir, "a", "b", "Dockerfile"), "a/b/Dockerfile", true},
		{filepath.Join(dir, "..", filepath.Base(dir), "x"), "x", true},
		{filepath.Join(other, "Dockerfile"), "", false},
		{filepath.Join(dir, "..", "Dockerfile"), "", false},
		{dir, "", false},
	}
	for _, tt := range tests {
		got, ok := relInside(dir, tt.target)
		if got != tt.want || ok != tt.ok {
			t.Errorf("relInside(%q) = %q, %v; want %q, %v", tt.target, got, ok, tt.want, tt.ok)
		}
	}
}
