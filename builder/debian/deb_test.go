package debian

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	hallmark "github.com/hallmark-dev/hallmark"
)

// readAll reads a .deb and returns its control fields and "name type
// mode uid:gid [-> link] [body]" for every data entry.
func readAll(data []byte, maxData int64) (*Deb, []string, error) {
	var entries []string
	deb, err := ReadDeb(bytes.NewReader(data), maxData, func(e Entry, r io.Reader) error {
		s := fmt.Sprintf("%s %c %o %d:%d", e.Name, e.Type, e.Mode, e.UID, e.GID)
		if e.Linkname != "" {
			s += " -> " + e.Linkname
		}
		if e.Type == tar.TypeReg {
			body, err := io.ReadAll(r)
			if err != nil {
				return err
			}
			s += " " + string(body)
		}
		entries = append(entries, s)
		return nil
	})
	return deb, entries, err
}

func TestReadDeb(t *testing.T) {
	files := []file{
		{name: "./", typ: tar.TypeDir},
		{name: "./usr/", typ: tar.TypeDir},
		{name: "./usr/bin/", typ: tar.TypeDir},
		{name: "./usr/bin/tool", mode: 0o4755, body: "#!tool"},
		{name: "./usr/bin/tool2", typ: tar.TypeLink, link: "./usr/bin/tool"},
		{name: "./usr/lib/libx.so.1", typ: tar.TypeSymlink, link: "libx.so.1.2"},
		{name: "./etc/shadow", mode: 0o640, gid: 42, body: "secret"},
		{name: "./bin/awk", typ: tar.TypeSymlink, link: "/etc/alternatives/awk"},
	}
	want := []string{
		"usr 5 755 0:0", "usr/bin 5 755 0:0", "usr/bin/tool 0 4755 0:0 #!tool", "usr/bin/tool2 1 644 0:0 -> usr/bin/tool",
		"usr/lib/libx.so.1 2 644 0:0 -> libx.so.1.2", "etc/shadow 0 640 0:42 secret", "bin/awk 2 644 0:0 -> /etc/alternatives/awk",
	}
	for _, comp := range []string{"", ".gz", ".xz", ".zst"} {
		t.Run("data.tar"+comp, func(t *testing.T) {
			d := debSpec{name: "tool", version: "1:1.0-1", arch: "amd64", compression: comp, files: files}
			deb, got, err := readAll(d.bytes(t), 1<<20)
			if err != nil {
				t.Fatalf("ReadDeb: %v", err)
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("entries\n%q\nwant\n%q", got, want)
			}
			if deb.Fields["Package"] != "tool" || deb.Fields["Version"] != "1:1.0-1" || !strings.HasPrefix(deb.Fields["Description"], "test package tool\n multi-line") {
				t.Errorf("fields = %v", deb.Fields)
			}
			if !bytes.Equal(deb.Control, []byte(d.controlFile())) {
				t.Errorf("control = %q", deb.Control)
			}
		})
	}
}

func TestReadDebRejects(t *testing.T) {
	good := debSpec{name: "p", version: "1", arch: "all", files: []file{{name: "./a", body: "a"}}}
	control := func(c string) []byte {
		return compress(t, ".gz", tarball(t, []file{{name: "./control", body: c}}))
	}
	data := func(files ...file) []byte { return compress(t, ".gz", tarball(t, files)) }
	deb := func(m ...member) []byte { return arArchive(m...) }
	binary := member{"debian-binary", []byte("2.0\n")}
	ctl := member{"control.tar.gz", control("Package: p\nVersion: 1\nArchitecture: all\n")}
	tests := []struct {
		name    string
		data    []byte
		maxData int64
		want    string
		err     error
	}{
		{name: "empty", data: nil, want: "not an ar archive"},
		{name: "not ar", data: []byte("PK\x03\x04 zip file"), want: "not an ar archive"},
		{name: "truncated header", data: good.bytes(t)[:30], want: "truncated member header"},
		{name: "truncated member", data: good.bytes(t)[:len(good.bytes(t))-20], want: "data.tar"},
		{name: "bad header magic", data: []byte("!<arch>\n" + strings.Repeat(" ", 60)), want: "bad member header"},
		{name: "bad size", data: []byte("!<arch>\ndebian-binary   0           0     0     100644  -1        `\n"), want: "bad size"},
		{name: "first member", data: deb(ctl, binary), want: "first member is \"control.tar.gz\""},
		{name: "format 3", data: deb(member{"debian-binary", []byte("3.0\n")}, ctl), want: "format \"3.0\""},
		{name: "second member", data: deb(binary, member{"data.tar.gz", data()}), want: "second member"},
		{name: "no data", data: deb(binary, ctl), want: "no data.tar"},
		{name: "unexpected member", data: deb(binary, ctl, member{"evil", nil}), want: `unexpected member "evil"`},
		{name: "bzip2", data: deb(binary, ctl, member{"data.tar.bz2", []byte("BZh")}), want: "unsupported compression"},
		{name: "bad gzip", data: deb(binary, ctl, member{"data.tar.gz", []byte("not gzip")}), want: "data.tar.gz"},
		{name: "no control file", data: deb(binary, member{"control.tar.gz", compress(t, ".gz", tarball(t, []file{{name: "./md5sums"}}))}), want: "no control file"},
		{name: "control without version", data: deb(binary, member{"control.tar.gz", control("Package: p\nArchitecture: all\n")}), want: "no Version"},
		{name: "control not fields", data: deb(binary, member{"control.tar.gz", control("Package: p\ngarbage\n")}), want: "line 2 is not a field"},
		{name: "control two paragraphs", data: deb(binary, member{"control.tar.gz", control("Package: p\n\nVersion: 1\n")}), want: "blank line"},
		{name: "absolute path", data: deb(binary, ctl, member{"data.tar.gz", data(file{name: "/etc/passwd"})}), want: `"/etc/passwd" is an absolute path`},
		{name: "dot dot", data: deb(binary, ctl, member{"data.tar.gz", data(file{name: "./usr/../../etc/passwd"})}), want: "leaves the root"},
		{name: "symlink escape", data: deb(binary, ctl, member{"data.tar.gz", data(file{name: "./usr/x", typ: tar.TypeSymlink, link: "../../../etc"})}), want: "leaves the root"},
		{name: "device", data: deb(binary, ctl, member{"data.tar.gz", data(file{name: "./dev/null", typ: tar.TypeChar})}), want: "device file"},
		{name: "fifo", data: deb(binary, ctl, member{"data.tar.gz", data(file{name: "./run/fifo", typ: tar.TypeFifo})}), want: "device file or fifo"},
		{name: "hard link to nothing", data: deb(binary, ctl, member{"data.tar.gz", data(file{name: "./a", typ: tar.TypeLink, link: "./b"})}), want: "not an earlier regular file"},
		{name: "hard link out", data: deb(binary, ctl, member{"data.tar.gz", data(file{name: "./a", typ: tar.TypeLink, link: "../etc/passwd"})}), want: "bad target"},
		{name: "root not a dir", data: deb(binary, ctl, member{"data.tar.gz", data(file{name: "."})}), want: "root entry"},
		{name: "too large", data: good.bytes(t), maxData: 100, err: hallmark.ErrTooLarge, want: "larger than the limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			maxData := tt.maxData
			if maxData == 0 {
				maxData = 1 << 20
			}
			_, _, err := readAll(tt.data, maxData)
			want := tt.err
			if want == nil {
				want = hallmark.ErrInvalid
			}
			if !errors.Is(err, want) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want %v with %q", err, want, tt.want)
			}
		})
	}
}

func TestReadDebIgnoresExtensions(t *testing.T) {
	d := debSpec{name: "p", version: "1", arch: "all", files: []file{{name: "./a", body: "a"}}}
	data := d.bytes(t)
	// A "_gpgorigin" member between control and data, as debsig writes.
	i := bytes.Index(data, []byte("data.tar"))
	ext := arArchive(member{"_gpgorigin", []byte("sig")})[8:]
	data = append(append(append([]byte{}, data[:i]...), ext...), data[i:]...)
	if _, got, err := readAll(data, 1<<20); err != nil || len(got) != 1 {
		t.Fatalf("ReadDeb: %v, %q", err, got)
	}
}

func FuzzReadDeb(f *testing.F) {
	good := debSpec{name: "p", version: "1", arch: "all", files: []file{
		{name: "./", typ: tar.TypeDir}, {name: "./a", body: "a"}, {name: "./b", typ: tar.TypeLink, link: "./a"},
		{name: "./c", typ: tar.TypeSymlink, link: "a"},
	}}
	for _, comp := range []string{"", ".gz", ".xz", ".zst"} {
		good.compression = comp
		f.Add(good.bytes(f))
	}
	f.Add([]byte("!<arch>\n"))
	f.Add(arArchive(member{"debian-binary", []byte("2.0\n")}))
	f.Fuzz(func(t *testing.T, data []byte) {
		var total int64
		_, _ = ReadDeb(bytes.NewReader(data), 1<<20, func(e Entry, r io.Reader) error {
			if e.Name == "" || strings.HasPrefix(e.Name, "/") || e.Name == ".." || strings.HasPrefix(e.Name, "../") || strings.Contains(e.Name, "/../") {
				t.Fatalf("unsafe name %q", e.Name)
			}
			switch e.Type {
			case tar.TypeReg, tar.TypeDir, tar.TypeSymlink, tar.TypeLink:
			default:
				t.Fatalf("entry %q has type %q", e.Name, e.Type)
			}
			n, _ := io.Copy(io.Discard, r)
			total += n
			if total > 1<<20 {
				t.Fatalf("read %d bytes, over the limit", total)
			}
			return nil
		})
	})
}
