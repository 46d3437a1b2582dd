package sbom

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"sort"
)

// Go build information is read in one forward pass over the executable, as
// it streams out of the layer, instead of buffering the file for
// debug/buildinfo (which needs an io.ReaderAt): the ELF program headers are
// at the start of the file, and the build information blob is near the
// start of the first writable data segment. The decoding follows
// debug/buildinfo (Go 1.26) step by step, and the tests check that both
// agree on real binaries. Binaries built before Go 1.18 keep their strings
// elsewhere in the file and are reported as unsupported.

const (
	elfMinSize        = 64       // an ELF64 header
	elfMaxHeadBytes   = 64 << 10 // ELF header and program headers
	goMaxInfoBytes    = 16 << 20 // version and module information
	goBuildInfoAlign  = 16
	goBuildInfoHeader = 32
	searchChunk       = 64 << 10
)

var (
	goBuildInfoMagic = []byte("\xff Go buildinf:")
	errNotGo         = errors.New("not a Go executable")
	errGoTooOld      = errors.New("go build information of go1.17 or older is not supported")
)

// goBinary is a Go executable and its build information.
type goBinary struct {
	ev   evidence
	info *debug.BuildInfo
}

// elfSegment is a loadable segment of an ELF file.
type elfSegment struct {
	off, vaddr, filesz uint64
}

// readGoBuildInfo reads the build information of the ELF executable r of
// size bytes. It returns errNotGo (and no information) for anything that is
// not a Go executable.
func readGoBuildInfo(r io.Reader, size int64) (*debug.BuildInfo, error) {
	s := &stream{r: r}
	segs, err := s.elfDataSegments(size)
	if err != nil {
		return nil, err
	}
	for _, seg := range segs {
		if seg.off < uint64(s.pos) {
			continue // overlaps the headers: not a layout the Go linker writes
		}
		end := min(seg.off+seg.filesz, uint64(size))
		if err := s.skipTo(int64(seg.off)); err != nil {
			return nil, err
		}
		blob, err := s.findMagic(seg, int64(end))
		if errors.Is(err, errNotGo) {
			continue
		}
		if err != nil {
			return nil, err
		}
		return s.decode(blob, int64(end))
	}
	return nil, errNotGo
}

// stream is a forward-only reader that counts its position.
type stream struct {
	r   io.Reader
	pos int64
}

func (s *stream) readFull(p []byte) error {
	n, err := io.ReadFull(s.r, p)
	s.pos += int64(n)
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return errNotGo
	}
	return err
}

func (s *stream) skipTo(off int64) error {
	n, err := io.CopyN(io.Discard, s.r, off-s.pos)
	s.pos += n
	if errors.Is(err, io.EOF) {
		return errNotGo
	}
	return err
}

// elfDataSegments reads the ELF header and program headers and returns the
// writable, non-executable loadable segments in file order.
func (s *stream) elfDataSegments(size int64) ([]elfSegment, error) {
	head := make([]byte, elfMinSize)
	if err := s.readFull(head); err != nil {
		return nil, err
	}
	if !bytes.HasPrefix(head, []byte("\x7fELF")) {
		return nil, errNotGo
	}
	var bo binary.ByteOrder
	switch head[5] {
	case 1:
		bo = binary.LittleEndian
	case 2:
		bo = binary.BigEndian
	default:
		return nil, errNotGo
	}
	var phoff uint64
	var entSize, num, minEnt uint16
	switch head[4] {
	case 1: // ELFCLASS32
		phoff, entSize, num, minEnt = uint64(bo.Uint32(head[28:])), bo.Uint16(head[42:]), bo.Uint16(head[44:]), 32
	case 2: // ELFCLASS64
		phoff, entSize, num, minEnt = bo.Uint64(head[32:]), bo.Uint16(head[54:]), bo.Uint16(head[56:]), 56
	default:
		return nil, errNotGo
	}
	end := phoff + uint64(num)*uint64(entSize)
	if entSize < minEnt || num == 0 || num == 0xffff || phoff < elfMinSize-12 || end > elfMaxHeadBytes || end > uint64(size) {
		return nil, errNotGo
	}
	if end > uint64(len(head)) {
		more := make([]byte, end-uint64(len(head)))
		if err := s.readFull(more); err != nil {
			return nil, err
		}
		head = append(head, more...)
	}
	const ptLoad, pfX, pfW = 1, 1, 2
	var segs []elfSegment
	for i := range uint64(num) {
		ph := head[phoff+i*uint64(entSize):]
		var typ, flags uint32
		var seg elfSegment
		if head[4] == 1 {
			typ, flags = bo.Uint32(ph[0:]), bo.Uint32(ph[24:])
			seg = elfSegment{off: uint64(bo.Uint32(ph[4:])), vaddr: uint64(bo.Uint32(ph[8:])), filesz: uint64(bo.Uint32(ph[16:]))}
		} else {
			typ, flags = bo.Uint32(ph[0:]), bo.Uint32(ph[4:])
			seg = elfSegment{off: bo.Uint64(ph[8:]), vaddr: bo.Uint64(ph[16:]), filesz: bo.Uint64(ph[32:])}
		}
		if typ == ptLoad && flags&(pfX|pfW) == pfW && seg.filesz > 0 && seg.off < uint64(size) {
			segs = append(segs, seg)
		}
	}
	sort.Slice(segs, func(i, j int) bool { return segs[i].off < segs[j].off })
	return segs, nil
}

// findMagic reads the segment from its start up to end and returns the
// bytes from the first 16-byte-aligned (in memory) build information magic
// to the end of what was read.
func (s *stream) findMagic(seg elfSegment, end int64) ([]byte, error) {
	buf := make([]byte, searchChunk+len(goBuildInfoMagic))
	carry := 0
	for s.pos < end {
		base := s.pos - int64(carry) // file offset of buf[0]
		n := min(int64(searchChunk), end-s.pos)
		if err := s.readFull(buf[carry : carry+int(n)]); err != nil {
			return nil, err
		}
		data := buf[:carry+int(n)]
		for from := 0; ; {
			i := bytes.Index(data[from:], goBuildInfoMagic)
			if i < 0 {
				break
			}
			i += from
			vaddr := seg.vaddr + uint64(base+int64(i)) - seg.off
			if vaddr%goBuildInfoAlign == 0 {
				return bytes.Clone(data[i:]), nil
			}
			from = i + 1
		}
		carry = min(len(goBuildInfoMagic)-1, len(data))
		copy(buf, data[len(data)-carry:])
	}
	return nil, errNotGo
}

// decode reads the rest of the build information blob that starts blob
// (already read) and ends no later than the segment end.
func (s *stream) decode(blob []byte, end int64) (*debug.BuildInfo, error) {
	avail := func() int64 { return end - s.pos } // bytes left in the segment
	need := func(n int64) error {
		if n <= int64(len(blob)) {
			return nil
		}
		more := n - int64(len(blob))
		if more > avail() || n > goMaxInfoBytes {
			return errNotGo
		}
		grow := make([]byte, more)
		if err := s.readFull(grow); err != nil {
			return err
		}
		blob = append(blob, grow...)
		return nil
	}
	if err := need(goBuildInfoHeader); err != nil {
		return nil, err
	}
	const flagsVersionInl = 0x2
	if blob[15]&flagsVersionInl == 0 {
		return nil, errGoTooOld
	}
	at := int64(goBuildInfoHeader)
	str := func() (string, error) {
		if err := need(min(at+binary.MaxVarintLen64, int64(len(blob))+avail())); err != nil {
			return "", err
		}
		n, k := binary.Uvarint(blob[at:])
		if k <= 0 || n > goMaxInfoBytes {
			return "", errNotGo
		}
		at += int64(k)
		if err := need(at + int64(n)); err != nil {
			return "", err
		}
		v := string(blob[at : at+int64(n)])
		at += int64(n)
		return v, nil
	}
	vers, err := str()
	if err != nil {
		return nil, err
	}
	mod, err := str()
	if err != nil {
		return nil, err
	}
	if vers == "" {
		return nil, errNotGo
	}
	if len(mod) >= 33 && mod[len(mod)-17] == '\n' {
		mod = mod[16 : len(mod)-16] // strip the sentinels around the module information
	} else {
		mod = ""
	}
	bi, err := debug.ParseBuildInfo(mod)
	if err != nil {
		return nil, fmt.Errorf("parse go build information: %w", err)
	}
	bi.GoVersion = vers
	return bi, nil
}
