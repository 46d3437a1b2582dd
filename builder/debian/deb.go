package debian

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"

	hallmark "github.com/hallmark-dev/hallmark"
)

// Limits of one .deb.
const (
	// maxControlBytes bounds the uncompressed control.tar.
	maxControlBytes = 16 << 20
	// maxMemberName bounds an ar member name ("control.tar.zst").
	maxMemberName = 16
	// maxDecoderMemory bounds the memory of the zstd decoder.
	maxDecoderMemory = 256 << 20
)

// Entry is one entry of a package's data.tar, checked and normalised.
type Entry struct {
	// Name is the slash-separated path relative to the root, cleaned, with
	// no leading "./" or "/" and no ".." element.
	Name string
	// Type is tar.TypeReg, tar.TypeDir, tar.TypeSymlink or tar.TypeLink.
	Type byte
	// Mode holds the permission bits with setuid, setgid and sticky.
	Mode     int64
	UID, GID int
	ModTime  time.Time
	// Linkname is a symlink's target as written, or a hard link's target
	// normalised like Name.
	Linkname string
	// Size is a regular file's size.
	Size int64
}

// Deb is what ReadDeb returns besides the data entries.
type Deb struct {
	// Control is the package's control file (one paragraph), ending in
	// exactly one newline.
	Control []byte
	// Fields are the control file's fields; continuation lines are kept in
	// the value, joined by newlines.
	Fields map[string]string
}

// ReadDeb reads a Debian binary package from r: the ar archive with the
// members debian-binary (format 2.x), control.tar[.gz|.xz|.zst] and
// data.tar[.gz|.xz|.zst] in that order. It returns the control paragraph
// and calls fn for every entry of data.tar in archive order, with the
// entry's contents for regular files. Entries are checked: no absolute or
// ".." paths, no symlink whose relative target leaves the root, no device
// files or fifos, no hard link out of the package. At most maxData bytes
// are decompressed from data.tar. Errors wrap hallmark.ErrInvalid (or
// hallmark.ErrTooLarge).
func ReadDeb(r io.Reader, maxData int64, fn func(Entry, io.Reader) error) (*Deb, error) {
	ar := newArReader(r)
	var deb *Deb
	for i := 0; ; i++ {
		name, member, err := ar.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		switch {
		case i == 0:
			if name != "debian-binary" {
				return nil, invalidf("read .deb: first member is %q, not debian-binary", name)
			}
			v, err := io.ReadAll(io.LimitReader(member, 64))
			if err != nil {
				return nil, invalidf("read .deb: debian-binary: %v", err)
			}
			if !bytes.HasPrefix(v, []byte("2.")) {
				return nil, invalidf("read .deb: format %q is not 2.x", hallmark.Clip(strings.TrimSpace(string(v)), 80))
			}
		case i == 1:
			if !strings.HasPrefix(name, "control.tar") {
				return nil, invalidf("read .deb: second member is %q, not control.tar", name)
			}
			if deb, err = readControl(name, member); err != nil {
				return nil, err
			}
		case strings.HasPrefix(name, "data.tar") && deb != nil:
			if err := readData(name, member, maxData, fn); err != nil {
				return nil, err
			}
			return deb, nil
		case strings.HasPrefix(name, "_"):
			// Reserved for extensions; dpkg ignores them.
		default:
			return nil, invalidf("read .deb: unexpected member %q", name)
		}
	}
	return nil, invalidf("read .deb: no data.tar member")
}

// readControl reads control.tar and returns its ./control file.
func readControl(name string, r io.Reader) (*Deb, error) {
	zr, err := decompress(name, "control.tar", r)
	if err != nil {
		return nil, err
	}
	defer zr.Close()
	lr := &limitReader{r: zr, n: maxControlBytes}
	tr := tar.NewReader(lr)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil, invalidf("read .deb: control.tar has no control file")
		}
		if err != nil {
			return nil, wrapRead("control.tar", lr, err)
		}
		if path.Clean("/"+hdr.Name) != "/control" || hdr.Typeflag != tar.TypeReg {
			continue
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			return nil, wrapRead("control.tar", lr, err)
		}
		fields, err := parseControl(data)
		if err != nil {
			return nil, err
		}
		return &Deb{Control: append(bytes.TrimRight(data, "\n"), '\n'), Fields: fields}, nil
	}
}

// parseControl reads one deb822 paragraph.
func parseControl(data []byte) (map[string]string, error) {
	fields := map[string]string{}
	last := ""
	for i, line := range strings.Split(strings.TrimRight(string(data), "\n"), "\n") {
		switch {
		case line == "":
			return nil, invalidf("read .deb: control file: blank line %d inside the paragraph", i+1)
		case line[0] == ' ' || line[0] == '\t':
			if last == "" {
				return nil, invalidf("read .deb: control file: line %d continues no field", i+1)
			}
			fields[last] += "\n" + line
		default:
			k, v, ok := strings.Cut(line, ":")
			if !ok || k == "" || strings.ContainsAny(k, " \t") {
				return nil, invalidf("read .deb: control file: line %d is not a field", i+1)
			}
			last = k
			fields[k] = strings.TrimSpace(v)
		}
	}
	for _, k := range []string{"Package", "Version", "Architecture"} {
		if fields[k] == "" {
			return nil, invalidf("read .deb: control file has no %s", k)
		}
	}
	return fields, nil
}

// readData streams data.tar to fn.
func readData(name string, r io.Reader, maxData int64, fn func(Entry, io.Reader) error) error {
	zr, err := decompress(name, "data.tar", r)
	if err != nil {
		return err
	}
	defer zr.Close()
	lr := &limitReader{r: zr, n: maxData}
	tr := tar.NewReader(lr)
	regular := map[string]bool{}
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return wrapRead("data.tar", lr, err)
		}
		e, skip, err := entry(hdr, regular)
		if err != nil {
			return err
		}
		if skip {
			continue
		}
		if err := fn(e, tr); err != nil {
			return wrapRead("data.tar", lr, err)
		}
	}
}

// entry checks and normalises one data.tar header. The root directory
// ("./") is skipped.
func entry(hdr *tar.Header, regular map[string]bool) (Entry, bool, error) {
	name, err := cleanName(hdr.Name)
	if err != nil {
		return Entry{}, false, err
	}
	if name == "" {
		if hdr.Typeflag != tar.TypeDir {
			return Entry{}, false, invalidf("read .deb: root entry %q is not a directory", hallmark.Clip(hdr.Name, 80))
		}
		return Entry{}, true, nil
	}
	if hdr.Uid < 0 || hdr.Gid < 0 || hdr.Uid > 1<<31-1 || hdr.Gid > 1<<31-1 {
		return Entry{}, false, invalidf("read .deb: %s: bad owner %d:%d", name, hdr.Uid, hdr.Gid)
	}
	e := Entry{Name: name, Mode: hdr.Mode & 0o7777, UID: hdr.Uid, GID: hdr.Gid, ModTime: hdr.ModTime.UTC().Truncate(time.Second)}
	switch hdr.Typeflag {
	case tar.TypeReg, tar.TypeRegA: //nolint:staticcheck // old archives write TypeRegA
		if hdr.Size < 0 {
			return e, false, invalidf("read .deb: %s: negative size", name)
		}
		e.Type, e.Size = tar.TypeReg, hdr.Size
		regular[name] = true
	case tar.TypeDir:
		e.Type = tar.TypeDir
	case tar.TypeSymlink:
		if hdr.Linkname == "" || strings.ContainsRune(hdr.Linkname, 0) || len(hdr.Linkname) > 4096 {
			return e, false, invalidf("read .deb: symlink %s has a bad target", name)
		}
		if !path.IsAbs(hdr.Linkname) {
			if t := path.Join(path.Dir(name), hdr.Linkname); t == ".." || strings.HasPrefix(t, "../") {
				return e, false, invalidf("read .deb: symlink %s -> %s leaves the root", name, hallmark.Clip(hdr.Linkname, 80))
			}
		}
		e.Type, e.Linkname = tar.TypeSymlink, hdr.Linkname
	case tar.TypeLink:
		target, err := cleanName(hdr.Linkname)
		if err != nil || target == "" {
			return e, false, invalidf("read .deb: hard link %s has a bad target %q", name, hallmark.Clip(hdr.Linkname, 80))
		}
		if !regular[target] {
			return e, false, invalidf("read .deb: hard link %s -> %s: the target is not an earlier regular file of the package", name, target)
		}
		e.Type, e.Linkname = tar.TypeLink, target
	case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		return e, false, invalidf("read .deb: %s is a device file or fifo, which base images do not hold", name)
	default:
		return e, false, invalidf("read .deb: %s has unsupported tar type %q", name, hdr.Typeflag)
	}
	return e, false, nil
}

// cleanName normalises a tar path: "./usr/bin/" becomes "usr/bin", "./"
// becomes "". Absolute paths and ".." elements are errors.
func cleanName(name string) (string, error) {
	if name == "" || strings.ContainsRune(name, 0) || len(name) > 4096 {
		return "", invalidf("read .deb: bad entry name %q", hallmark.Clip(name, 80))
	}
	if strings.HasPrefix(name, "/") {
		return "", invalidf("read .deb: entry %q is an absolute path", hallmark.Clip(name, 80))
	}
	for _, part := range strings.Split(name, "/") {
		if part == ".." {
			return "", invalidf("read .deb: entry %q leaves the root", hallmark.Clip(name, 80))
		}
	}
	c := path.Clean("/" + name)
	return strings.TrimPrefix(c, "/"), nil
}

// decompress opens member name, "<want>" plus an optional compression
// suffix.
func decompress(name, want string, r io.Reader) (io.ReadCloser, error) {
	switch strings.TrimPrefix(name, want) {
	case "":
		return io.NopCloser(r), nil
	case ".gz":
		zr, err := gzip.NewReader(r)
		if err != nil {
			return nil, invalidf("read .deb: %s: %v", name, err)
		}
		return zr, nil
	case ".xz":
		// The dictionary is the larger of 8 MiB (the reader's default,
		// what xz -6 writes) and what the stream declares.
		zr, err := xz.NewReader(bufio.NewReader(r))
		if err != nil {
			return nil, invalidf("read .deb: %s: %v", name, err)
		}
		return io.NopCloser(zr), nil
	case ".zst":
		zr, err := zstd.NewReader(r, zstd.WithDecoderMaxMemory(maxDecoderMemory), zstd.WithDecoderConcurrency(1))
		if err != nil {
			return nil, invalidf("read .deb: %s: %v", name, err)
		}
		return zr.IOReadCloser(), nil
	}
	return nil, invalidf("read .deb: member %q has an unsupported compression", name)
}

// limitReader fails once more than n bytes are read.
type limitReader struct {
	r        io.Reader
	n        int64
	exceeded bool
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		l.exceeded = true
		return 0, errTooLarge
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	return n, err
}

var errTooLarge = errors.New("decompressed size limit reached")

func wrapRead(member string, lr *limitReader, err error) error {
	if lr.exceeded || errors.Is(err, errTooLarge) {
		return fmt.Errorf("%w: read .deb: %s is larger than the limit", hallmark.ErrTooLarge, member)
	}
	if errors.Is(err, hallmark.ErrInvalid) || errors.Is(err, hallmark.ErrTooLarge) {
		return err
	}
	return invalidf("read .deb: %s: %v", member, err)
}

func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", hallmark.ErrInvalid, fmt.Sprintf(format, args...))
}
