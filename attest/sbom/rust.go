package sbom

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"

	"github.com/package-url/packageurl-go"
)

// A Rust executable built with `cargo auditable` carries its crate graph:
// zlib-compressed JSON ({"packages": [{"name", "version", "source",
// "kind", "dependencies", "root"}, …]}) in an ELF section named .dep-v0
// (.rust-deps-v0 before cargo auditable 0.5). The runtime crates are its
// packages, as syft's cargo-auditable-binary-cataloger lists them.
//
// The section table that names the section is at the end of the file, so
// the executable is read in one forward pass, as the Go build information
// is, without holding it: rustScanner sees every byte once (the walk tees
// the stream to it while the Go reader reads, then copies the rest) and
// keeps only what can be the dependency list:
//
//   - the file offsets of the strings ".dep-v0\0" and ".rust-deps-v0\0"
//     (the section names in .shstrtab; at most rustMaxNames);
//   - the bytes from each zlib stream whose first inflated bytes are `{"`
//     to rustMaxSectionBytes after it (a window; a candidate inside a
//     window extends it), at most rustMaxHeldBytes in all;
//   - the section header table (at most rustMaxTableBytes) at e_shoff.
//
// At most rustMaxTries zlib headers are tried, so that a file made of them
// costs no more than an ordinary one.
//
// At the end the section table decides: the section whose name is at one
// of the recorded offsets, and whose bytes are in a window, is inflated
// (at most rustMaxJSONBytes) and decoded. Nothing else of the file is
// kept, whatever its size.

const (
	rustMaxSectionBytes = 512 << 10 // compressed dependency list (about 25,000 crates)
	rustMaxJSONBytes    = 16 << 20  // its JSON
	rustMaxHeldBytes    = 2 << 20   // all windows of one executable
	rustMaxNames        = 64
	rustMaxTableBytes   = 1 << 20 // section headers: 16,384 of ELF64
	rustLookahead       = 512     // bytes after a zlib header that are enough to inflate `{"`
	rustMaxTries        = 1 << 17 // zlib headers tried (a few thousand in a 100 MB executable)
)

var rustSectionNames = [][]byte{[]byte(".dep-v0\x00"), []byte(".rust-deps-v0\x00")}

// rustScanner is an io.Writer that receives an executable's bytes in
// order; packages then returns the crates of its dependency list.
type rustScanner struct {
	size int64
	pos  int64  // bytes received
	head []byte // the ELF header, until complete
	done bool   // not an ELF file with a section table, or the table is read

	bo        binary.ByteOrder
	elf64     bool
	shoff     int64
	shentsize int64
	shnum     int64
	shstrndx  int64
	table     []byte // the section header table, as it arrives

	win     []byte // the last bytes received, for matches across writes
	winOff  int64  // file offset of win[0]
	candOff int64  // zlib candidates before this offset are decided
	names   map[int64]int
	windows []rustWindow
	held    int           // bytes in windows
	tries   int           // zlib headers tried
	zr      io.ReadCloser // reused inflater for the candidate check
}

// rustWindow holds the bytes of the file from off, up to limit.
type rustWindow struct {
	off, limit int64
	b          []byte
}

func newRustScanner(size int64) *rustScanner {
	return &rustScanner{size: size, names: map[int64]int{}}
}

// wants reports whether the scanner still needs bytes.
func (s *rustScanner) wants() bool { return !s.done && s.pos < s.size }

// Write never fails: the scanner gives up silently on what it cannot use.
func (s *rustScanner) Write(p []byte) (int, error) {
	n := len(p)
	if s.done {
		s.pos += int64(n)
		return n, nil
	}
	if s.bo == nil {
		need := min(elfMinSize-len(s.head), len(p))
		s.head = append(s.head, p[:need]...)
		if len(s.head) == elfMinSize {
			s.parseHeader()
		}
		// the header's bytes are scanned too (a candidate cannot start there)
	}
	if !s.done {
		s.collectTable(s.pos, p)
		s.scan(p)
	}
	s.pos += int64(n)
	return n, nil
}

// parseHeader reads the ELF header's section table fields.
func (s *rustScanner) parseHeader() {
	h := s.head
	if !bytes.HasPrefix(h, []byte("\x7fELF")) {
		s.done = true
		return
	}
	switch h[5] {
	case 1:
		s.bo = binary.LittleEndian
	case 2:
		s.bo = binary.BigEndian
	default:
		s.done = true
		return
	}
	var minEnt int64
	switch h[4] {
	case 1:
		s.shoff, s.shentsize, s.shnum, s.shstrndx = int64(s.bo.Uint32(h[32:])), int64(s.bo.Uint16(h[46:])), int64(s.bo.Uint16(h[48:])), int64(s.bo.Uint16(h[50:]))
		minEnt = 40
	case 2:
		s.elf64 = true
		s.shoff, s.shentsize, s.shnum, s.shstrndx = int64(s.bo.Uint64(h[40:])), int64(s.bo.Uint16(h[58:])), int64(s.bo.Uint16(h[60:])), int64(s.bo.Uint16(h[62:]))
		minEnt = 64
	default:
		s.done = true
		return
	}
	// A table that is missing, too large, overlapping the header or beyond
	// the file: no sections to read (shnum 0 means more than 65,279
	// sections, which no linker writes for an executable).
	tableBytes := s.shnum * s.shentsize
	if s.shoff < elfMinSize || s.shnum == 0 || s.shentsize < minEnt || tableBytes > rustMaxTableBytes || s.shoff > s.size-tableBytes {
		s.done = true
	}
}

// collectTable keeps the bytes of p (at file offset off) that belong to
// the section header table.
func (s *rustScanner) collectTable(off int64, p []byte) {
	start, end := s.shoff, s.shoff+s.shnum*s.shentsize
	lo, hi := max(off, start), min(off+int64(len(p)), end)
	if lo < hi {
		s.table = append(s.table, p[lo-off:hi-off]...)
	}
}

// scan records section names and zlib candidates in p, which follows the
// bytes already received.
func (s *rustScanner) scan(p []byte) {
	if len(s.win) == 0 {
		s.winOff = s.pos
	}
	s.win = append(s.win, p...)
	end := s.winOff + int64(len(s.win))
	final := end >= s.size
	for k, name := range rustSectionNames {
		for from := 0; len(s.names) < rustMaxNames; {
			i := bytes.Index(s.win[from:], name)
			if i < 0 {
				break
			}
			s.names[s.winOff+int64(from+i)] = k
			from += i + 1
		}
	}
	s.grow(end)
	for from := max(0, int(s.candOff-s.winOff)); ; {
		i := bytes.IndexByte(s.win[from:], 0x78)
		if i < 0 {
			s.candOff = end
			break
		}
		i += from
		if !final && len(s.win)-i < rustLookahead {
			s.candOff = s.winOff + int64(i)
			break
		}
		from = i + 1
		s.candOff = s.winOff + int64(from)
		if i+1 < len(s.win) && isZlibFlag(s.win[i+1]) && s.tries < rustMaxTries && s.jsonStream(s.win[i:min(len(s.win), i+rustLookahead)]) {
			s.hold(s.winOff+int64(i), i)
		}
	}
	s.grow(end) // a window hold extended takes the rest of win now
	// Keep what a later match may start in: the undecided candidates and
	// the end of a name.
	keep := min(int64(len(s.win)), max(end-s.candOff, int64(len(rustSectionNames[1])-1)))
	s.winOff = end - keep
	s.win = append(s.win[:0], s.win[int64(len(s.win))-keep:]...)
}

// isZlibFlag reports whether b is a zlib FLG byte after CMF 0x78 (deflate,
// 32 KiB window) without a preset dictionary.
func isZlibFlag(b byte) bool { return b == 0x01 || b == 0x5e || b == 0x9c || b == 0xda }

// jsonStream reports whether the zlib stream at the start of b inflates to
// text that starts `{"`.
func (s *rustScanner) jsonStream(b []byte) bool {
	s.tries++
	var err error
	if s.zr == nil {
		s.zr, err = zlib.NewReader(bytes.NewReader(b))
	} else {
		err = s.zr.(zlib.Resetter).Reset(bytes.NewReader(b), nil)
	}
	if err != nil {
		return false
	}
	var out [2]byte
	n, _ := io.ReadFull(s.zr, out[:])
	return n == 2 && out == [2]byte{'{', '"'}
}

// grow appends to each window the bytes of win up to the file offset end
// (or its limit).
func (s *rustScanner) grow(end int64) {
	for j := range s.windows {
		w := &s.windows[j]
		have := w.off + int64(len(w.b))
		upTo := min(end, w.limit, have+int64(rustMaxHeldBytes-s.held))
		if have < upTo && have >= s.winOff {
			w.b = append(w.b, s.win[have-s.winOff:upTo-s.winOff]...)
			s.held += int(upTo - have)
		}
	}
}

// hold keeps the bytes from the candidate at file offset off (win[i])
// until rustMaxSectionBytes after it: a window that holds off is extended,
// else a new one starts.
func (s *rustScanner) hold(off int64, i int) {
	for j := range s.windows {
		if w := &s.windows[j]; off >= w.off && off < w.off+int64(len(w.b)) {
			w.limit = max(w.limit, off+rustMaxSectionBytes)
			return
		}
	}
	n := min(len(s.win)-i, rustMaxSectionBytes, rustMaxHeldBytes-s.held)
	if n <= 0 {
		return
	}
	s.windows = append(s.windows, rustWindow{off: off, limit: off + rustMaxSectionBytes, b: bytes.Clone(s.win[i : i+n])})
	s.held += n
}

// rustSection is one section header.
type rustSection struct {
	name, typ uint32
	flags     uint64
	off, size int64
	link      uint32
}

// section returns section header i of the collected table.
func (s *rustScanner) section(i int64) rustSection {
	h := s.table[i*s.shentsize:]
	if s.elf64 {
		return rustSection{name: s.bo.Uint32(h), typ: s.bo.Uint32(h[4:]), flags: s.bo.Uint64(h[8:]),
			off: int64(s.bo.Uint64(h[24:]) & (1<<62 - 1)), size: int64(s.bo.Uint64(h[32:]) & (1<<62 - 1)), link: s.bo.Uint32(h[40:])}
	}
	return rustSection{name: s.bo.Uint32(h), typ: s.bo.Uint32(h[4:]), flags: uint64(s.bo.Uint32(h[8:])),
		off: int64(s.bo.Uint32(h[16:])), size: int64(s.bo.Uint32(h[20:])), link: s.bo.Uint32(h[24:])}
}

// packages returns the runtime crates of the dependency list, nil if the
// file has none, and an error if it has one that cannot be read.
func (s *rustScanner) packages() ([]Package, error) {
	if s.bo == nil || len(s.names) == 0 || int64(len(s.table)) < s.shnum*s.shentsize || s.shnum == 0 {
		return nil, nil
	}
	const shnXIndex, shtNobits, shfCompressed = 0xffff, 8, 0x800
	strndx := s.shstrndx
	if strndx == shnXIndex {
		strndx = int64(s.section(0).link)
	}
	if strndx <= 0 || strndx >= s.shnum {
		return nil, nil
	}
	strtab := s.section(strndx)
	var found *rustSection
	best := len(rustSectionNames)
	for i := range s.shnum {
		sec := s.section(i)
		at := strtab.off + int64(sec.name)
		k, ok := s.names[at]
		if !ok || int64(sec.name)+int64(len(rustSectionNames[k])) > strtab.size || k >= best {
			continue
		}
		found, best = &sec, k
	}
	if found == nil {
		return nil, nil
	}
	name := string(rustSectionNames[best][:len(rustSectionNames[best])-1])
	switch {
	case found.typ == shtNobits || found.flags&shfCompressed != 0:
		return nil, fmt.Errorf("rust: section %s holds no zlib stream (type %d, flags %#x)", name, found.typ, found.flags)
	case found.size > rustMaxSectionBytes:
		return nil, fmt.Errorf("rust: section %s of %d bytes is over the %d-byte limit", name, found.size, rustMaxSectionBytes)
	}
	for _, w := range s.windows {
		if found.off >= w.off && found.off+found.size <= w.off+int64(len(w.b)) {
			return parseRustDeps(w.b[found.off-w.off : found.off-w.off+found.size])
		}
	}
	if s.tries >= rustMaxTries || s.held >= rustMaxHeldBytes {
		return nil, fmt.Errorf("rust: section %s not kept: more than %d zlib streams or %d bytes of them before it", name, rustMaxTries, rustMaxHeldBytes)
	}
	return nil, fmt.Errorf("rust: section %s is not a zlib-compressed JSON dependency list", name)
}

// rustDeps is cargo auditable's dependency list (auditable-serde).
type rustDeps struct {
	Packages []struct {
		Name    string  `json:"name"`
		Version string  `json:"version"`
		Kind    *string `json:"kind"` // absent: "runtime"
		Root    bool    `json:"root"` // the crate the executable was built from
	} `json:"packages"`
}

// parseRustDeps inflates and decodes a dependency list and returns its
// runtime crates (build dependencies and proc macros are not in the
// executable), the root crate Main (only the first, should a damaged list
// mark several).
func parseRustDeps(compressed []byte) ([]Package, error) {
	zr, err := zlib.NewReader(bytes.NewReader(compressed))
	if err != nil {
		return nil, fmt.Errorf("rust: inflate dependency list: %w", err)
	}
	defer zr.Close()
	lr := &io.LimitedReader{R: zr, N: rustMaxJSONBytes + 1}
	var d rustDeps
	if err := json.NewDecoder(lr).Decode(&d); err != nil {
		if lr.N <= 0 {
			return nil, fmt.Errorf("rust: dependency list is over %d bytes", rustMaxJSONBytes)
		}
		return nil, fmt.Errorf("rust: decode dependency list: %w", err)
	}
	var out []Package
	root := false
	for _, p := range d.Packages {
		if p.Name == "" || p.Kind != nil && *p.Kind != "runtime" {
			continue
		}
		out = append(out, Package{
			Type:    packageurl.TypeCargo,
			Name:    p.Name,
			Version: p.Version,
			PURL:    packageurl.NewPackageURL(packageurl.TypeCargo, "", p.Name, p.Version, nil, "").ToString(),
			Main:    p.Root && !root,
		})
		root = root || p.Root
	}
	return out, nil
}
