package sbom

import (
	"bytes"
	"compress/zlib"
	"debug/elf"
	"encoding/binary"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// rustScan feeds b to a scanner in writes of chunk bytes, as the walk does.
func rustScan(b []byte, chunk int) ([]Package, error) {
	s := newRustScanner(int64(len(b)))
	for len(b) > 0 && s.wants() {
		n := min(chunk, len(b))
		_, _ = s.Write(b[:n])
		b = b[n:]
	}
	return s.packages()
}

// rustOracle reads the dependency list as go-rustaudit (syft's reader)
// does, with debug/elf on the whole file, and returns the runtime crates
// as name@version.
func rustOracle(t *testing.T, b []byte) []string {
	t.Helper()
	f, err := elf.NewFile(bytes.NewReader(b))
	if err != nil {
		return nil
	}
	sec := f.Section(".dep-v0")
	if sec == nil {
		sec = f.Section(".rust-deps-v0")
	}
	if sec == nil {
		return nil
	}
	data, err := sec.Data()
	if err != nil {
		return nil
	}
	zr, err := zlib.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil
	}
	js, err := io.ReadAll(zr)
	if err != nil {
		return nil
	}
	var d struct {
		Packages []struct {
			Name, Version string
			Kind          *string
		}
	}
	if json.Unmarshal(js, &d) != nil {
		return nil
	}
	var out []string
	for _, p := range d.Packages {
		if p.Name != "" && (p.Kind == nil || *p.Kind == "runtime") {
			out = append(out, p.Name+"@"+p.Version)
		}
	}
	slices.Sort(out)
	return out
}

func crateList(pkgs []Package) []string {
	var out []string
	for _, p := range pkgs {
		out = append(out, p.Name+"@"+p.Version)
	}
	slices.Sort(out)
	return out
}

// TestRustScannerReal reads the fixture executable (a host ELF with a
// .dep-v0 section added by objcopy) in writes of every size from one byte
// to the whole file and agrees with debug/elf each time.
func TestRustScannerReal(t *testing.T) {
	b := testdata(t, "rust/optimizer-server.gz")
	want := rustOracle(t, b)
	if len(want) != 25 {
		t.Fatalf("oracle found %d crates, want the fixture's 25 runtime crates: %q", len(want), want)
	}
	for _, chunk := range []int{1, 7, 64, 511, 4096, 32 << 10, len(b)} {
		pkgs, err := rustScan(b, chunk)
		if err != nil {
			t.Fatalf("chunk %d: %v", chunk, err)
		}
		if got := crateList(pkgs); !slices.Equal(got, want) {
			t.Errorf("chunk %d: %q, want %q", chunk, got, want)
		}
		for _, p := range pkgs {
			if p.Type != "cargo" || p.PURL != "pkg:cargo/"+p.Name+"@"+p.Version {
				t.Errorf("package %+v", p)
			}
		}
	}
}

// testSection is a section of a synthetic ELF file.
type testSection struct {
	name string
	typ  uint32
	data []byte
}

// testELF lays out a minimal ELF file: the header, the section data (the
// section names last), and the section header table after them or, with
// tableFirst, right after the header.
func testELF(bo binary.ByteOrder, is64, tableFirst bool, secs ...testSection) []byte {
	strtab := []byte{0}
	nameAt := map[string]uint32{}
	for _, s := range append(slices.Clone(secs), testSection{name: ".shstrtab"}) {
		nameAt[s.name] = uint32(len(strtab))
		strtab = append(append(strtab, s.name...), 0)
	}
	all := append(slices.Clone(secs), testSection{name: ".shstrtab", typ: 3, data: strtab})
	ehsize, shentsize := 52, 40
	if is64 {
		ehsize, shentsize = 64, 64
	}
	tableSize := (len(all) + 1) * shentsize
	out := make([]byte, max(ehsize, 64))
	off := len(out)
	if tableFirst {
		off += tableSize
	}
	offsets := make([]int, len(all))
	var data []byte
	for i, s := range all {
		offsets[i] = off + len(data)
		data = append(data, s.data...)
	}
	shoff := len(out) + len(data)
	if tableFirst {
		shoff = len(out)
	}
	table := make([]byte, tableSize)
	for i, s := range all {
		h := table[(i+1)*shentsize:]
		bo.PutUint32(h, nameAt[s.name])
		bo.PutUint32(h[4:], s.typ)
		if is64 {
			bo.PutUint64(h[24:], uint64(offsets[i]))
			bo.PutUint64(h[32:], uint64(len(s.data)))
		} else {
			bo.PutUint32(h[16:], uint32(offsets[i]))
			bo.PutUint32(h[20:], uint32(len(s.data)))
		}
	}
	copy(out, "\x7fELF")
	out[4], out[5], out[6] = 1, 1, 1
	if is64 {
		out[4] = 2
	}
	if bo == binary.BigEndian {
		out[5] = 2
	}
	bo.PutUint16(out[16:], 2) // ET_EXEC
	bo.PutUint16(out[18:], 62)
	bo.PutUint32(out[20:], 1)
	if is64 {
		bo.PutUint64(out[40:], uint64(shoff))
		bo.PutUint16(out[52:], uint16(ehsize))
		bo.PutUint16(out[58:], uint16(shentsize))
		bo.PutUint16(out[60:], uint16(len(all)+1))
		bo.PutUint16(out[62:], uint16(len(all)))
	} else {
		bo.PutUint32(out[32:], uint32(shoff))
		bo.PutUint16(out[40:], uint16(ehsize))
		bo.PutUint16(out[46:], uint16(shentsize))
		bo.PutUint16(out[48:], uint16(len(all)+1))
		bo.PutUint16(out[50:], uint16(len(all)))
	}
	if tableFirst {
		return slices.Concat(out, table, data)
	}
	return slices.Concat(out, data, table)
}

func zlibBytes(s string) []byte {
	var b bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&b, zlib.BestCompression)
	_, _ = zw.Write([]byte(s))
	_ = zw.Close()
	return b.Bytes()
}

func TestRustScanner(t *testing.T) {
	deps := zlibBytes(`{"packages":[{"name":"app","version":"0.1.0","source":"local","dependencies":[1,2],"root":true},` +
		`{"name":"serde","version":"1.0.198","source":"crates.io"},{"name":"syn","version":"2.0.60","source":"crates.io","kind":"build"},` +
		`{"name":"","version":"1.0.0"},{"name":"nover","source":"crates.io","kind":"runtime"}]}`)
	legacy := zlibBytes(`{"packages":[{"name":"old","version":"0.0.1"}]}`)
	decoy := zlibBytes(`{"not":"a dependency list"}`)
	rodata := []byte("some strings .dep-v0\x00 and a name that is not a section's\x00")
	le, be := binary.LittleEndian, binary.BigEndian
	tests := []struct {
		name    string
		elf     []byte
		want    []string
		wantErr bool
	}{
		{"runtime crates only", testELF(le, true, false, testSection{".text", 1, []byte("code")}, testSection{".dep-v0", 1, deps}),
			[]string{"app@0.1.0", "nover@", "serde@1.0.198"}, false},
		{"legacy name", testELF(le, true, false, testSection{".rust-deps-v0", 1, legacy}), []string{"old@0.0.1"}, false},
		{".dep-v0 wins over the legacy name", testELF(le, true, false, testSection{".rust-deps-v0", 1, legacy}, testSection{".dep-v0", 1, deps}),
			[]string{"app@0.1.0", "nover@", "serde@1.0.198"}, false},
		{"section table first", testELF(le, true, true, testSection{".dep-v0", 1, deps}), []string{"app@0.1.0", "nover@", "serde@1.0.198"}, false},
		{"ELF32 big-endian", testELF(be, false, false, testSection{".dep-v0", 1, legacy}), []string{"old@0.0.1"}, false},
		{"a JSON stream before the section", testELF(le, true, false, testSection{".rodata", 1, slices.Concat(decoy, rodata, decoy)}, testSection{".dep-v0", 1, deps}),
			[]string{"app@0.1.0", "nover@", "serde@1.0.198"}, false},
		{"the name in other data is no section", testELF(le, true, false, testSection{".rodata", 1, slices.Concat(rodata, deps)}), nil, false},
		{"no dependency list", testELF(le, true, false, testSection{".text", 1, []byte("code")}), nil, false},
		{"not zlib", testELF(le, true, false, testSection{".dep-v0", 1, []byte(`{"packages":[]}`)}), nil, true},
		{"not JSON", testELF(le, true, false, testSection{".dep-v0", 1, zlibBytes(`{"packages":[{"name":1}]}`)}), nil, true},
		{"no bits", testELF(le, true, false, testSection{".dep-v0", 8, nil}), nil, true},
		{"not ELF", []byte(strings.Repeat("MZ not an ELF file ", 10)), nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := rustOracle(t, tt.elf); !slices.Equal(got, tt.want) {
				t.Fatalf("debug/elf reads %q, the test wants %q", got, tt.want)
			}
			for _, chunk := range []int{1, 100, len(tt.elf)} {
				pkgs, err := rustScan(tt.elf, chunk)
				if (err != nil) != tt.wantErr {
					t.Errorf("chunk %d: error %v, want error %v", chunk, err, tt.wantErr)
				}
				if got := crateList(pkgs); !slices.Equal(got, tt.want) {
					t.Errorf("chunk %d: %q, want %q", chunk, got, tt.want)
				}
				for _, p := range pkgs {
					if p.Main != (p.Name == "app") {
						t.Errorf("chunk %d: %s: Main %v, want it for the root crate only", chunk, p.Name, p.Main)
					}
				}
			}
			if truncated, _ := rustScan(tt.elf[:len(tt.elf)-1], 64); len(truncated) != 0 && !strings.Contains(tt.name, "table first") {
				t.Errorf("a file without the end of its section table: %q", crateList(truncated))
			}
		})
	}
}

// TestRustScannerWindows: a dependency list that starts inside the window
// of an earlier JSON stream and ends after that window's first limit is
// kept whole, whatever the sizes of the writes.
func TestRustScannerWindows(t *testing.T) {
	deps := zlibBytes(`{"packages":[{"name":"a","version":"1.0.0"}]}`)
	decoy := zlibBytes(`{"not":"a dependency list"}`)
	for _, gap := range []int{rustMaxSectionBytes - 4096, rustMaxSectionBytes - len(decoy) - 10, rustMaxSectionBytes - len(decoy) - 1, rustMaxSectionBytes + 100} {
		b := testELF(binary.LittleEndian, true, false, testSection{".rodata", 1, slices.Concat(decoy, make([]byte, gap))}, testSection{".dep-v0", 1, deps})
		for _, chunk := range []int{100, 4096, 32 << 10} {
			pkgs, err := rustScan(b, chunk)
			if err != nil || len(pkgs) != 1 {
				t.Errorf("gap %d, chunk %d: %v, %v", gap, chunk, crateList(pkgs), err)
			}
		}
	}
}

// TestRustScannerBounded: the scanner holds at most rustMaxHeldBytes of a
// file full of JSON zlib streams and rustMaxNames name offsets of a file
// full of names, and tries at most rustMaxTries zlib headers of a file
// made of them, then says why it missed the section.
func TestRustScannerBounded(t *testing.T) {
	stream := zlibBytes(`{"x":1}`)
	many := bytes.Repeat(slices.Concat(stream, bytes.Repeat([]byte{0}, 1000)), 4000)
	b := testELF(binary.LittleEndian, true, false, testSection{".rodata", 1, many}, testSection{".names", 1, bytes.Repeat([]byte(".dep-v0\x00"), 1000)})
	s := newRustScanner(int64(len(b)))
	for i := 0; i < len(b); i += 4096 {
		_, _ = s.Write(b[i:min(len(b), i+4096)])
	}
	if s.held > rustMaxHeldBytes || len(s.names) > rustMaxNames || len(s.win) > 2*4096+rustLookahead {
		t.Errorf("held %d bytes in %d windows, %d names, a window of %d bytes", s.held, len(s.windows), len(s.names), len(s.win))
	}
	if _, err := s.packages(); err != nil {
		t.Error(err)
	}
	hostile := testELF(binary.LittleEndian, true, false, testSection{".rodata", 1, bytes.Repeat([]byte{0x78, 0x9c}, 4<<20)}, testSection{".dep-v0", 1, zlibBytes(`{"packages":[]}`)})
	s = newRustScanner(int64(len(hostile)))
	_, _ = s.Write(hostile)
	if _, err := s.packages(); s.tries != rustMaxTries || err == nil || !strings.Contains(err.Error(), "not kept") {
		t.Errorf("%d tries, error %v; want %d and an error saying the section was not kept", s.tries, err, rustMaxTries)
	}
}

// TestRustScannerHost: no ELF file of the host has a dependency list, as
// debug/elf agrees, and none makes the scanner fail.
func TestRustScannerHost(t *testing.T) {
	var names []string
	for _, dir := range []string{"/usr/bin", "/usr/sbin", "/usr/lib/x86_64-linux-gnu"} {
		m, _ := filepath.Glob(filepath.Join(dir, "*"))
		names = append(names, m...)
	}
	n := 0
	for _, name := range names {
		fi, err := os.Lstat(name)
		if err != nil || !fi.Mode().IsRegular() || fi.Size() > 64<<20 {
			continue
		}
		b, err := os.ReadFile(name)
		if err != nil || !bytes.HasPrefix(b, []byte("\x7fELF")) {
			continue
		}
		n++
		pkgs, err := rustScan(b, 32<<10)
		if want := rustOracle(t, b); err != nil || !slices.Equal(crateList(pkgs), want) {
			t.Errorf("%s: %q, %v; debug/elf reads %q", name, crateList(pkgs), err, want)
		}
	}
	t.Logf("%d ELF files", n)
}

// TestGenerateRust: an executable's crates are cataloged with their
// evidence, together with the Go build information of another; a file
// without an execute bit is not read.
func TestGenerateRust(t *testing.T) {
	bin := testdata(t, "rust/optimizer-server.gz")
	img := image(t, layer(t,
		exe("usr/local/bin/optimizer-server", bin),
		file("usr/share/doc/optimizer-server.copy", bin),
		exe("usr/local/bin/hello", readFile(t, helloBinary(t))),
	))
	doc, err := Generate(t.Context(), img)
	if err != nil {
		t.Fatal(err)
	}
	byType := map[string]int{}
	for _, p := range doc.Packages() {
		byType[p.Type]++
		if p.Type == "cargo" && p.Path != "/usr/local/bin/optimizer-server" {
			t.Errorf("package %+v", p)
		}
	}
	if byType["cargo"] != 25 || byType["golang"] == 0 {
		t.Errorf("packages by type %v, want 25 cargo and the Go modules", byType)
	}
	if w := doc.Warnings(); len(w) != 0 {
		t.Errorf("warnings %q", w)
	}
	b, err := doc.JSON()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "cataloged from the cargo auditable dependency list of an executable") {
		t.Error("the document does not say where the Rust packages came from")
	}
}
