package debian

import (
	"bufio"
	"errors"
	"io"
	"strconv"
	"strings"

	hallmark "github.com/hallmark-dev/hallmark"
)

// arReader reads the members of a common ar archive.
type arReader struct {
	r      *bufio.Reader
	member *io.LimitedReader
	pad    bool
	begun  bool
}

func newArReader(r io.Reader) *arReader { return &arReader{r: bufio.NewReader(r)} }

// next skips the rest of the current member and returns the next one's
// name and contents, or io.EOF after the last.
func (a *arReader) next() (string, io.Reader, error) {
	if !a.begun {
		magic := make([]byte, 8)
		if _, err := io.ReadFull(a.r, magic); err != nil || string(magic) != "!<arch>\n" {
			return "", nil, invalidf("read .deb: not an ar archive")
		}
		a.begun = true
	}
	if a.member != nil {
		if _, err := io.Copy(io.Discard, a.member); err != nil {
			return "", nil, invalidf("read .deb: %v", err)
		}
		if a.pad {
			if _, err := a.r.ReadByte(); err != nil {
				return "", nil, invalidf("read .deb: truncated archive")
			}
		}
	}
	hdr := make([]byte, 60)
	n, err := io.ReadFull(a.r, hdr)
	if n == 0 && errors.Is(err, io.EOF) {
		return "", nil, io.EOF
	}
	if err != nil {
		return "", nil, invalidf("read .deb: truncated member header")
	}
	if string(hdr[58:60]) != "`\n" {
		return "", nil, invalidf("read .deb: bad member header")
	}
	name := strings.TrimRight(string(hdr[0:16]), " ")
	name = strings.TrimSuffix(name, "/")
	if name == "" || len(name) > maxMemberName || strings.ContainsAny(name, "/\x00") {
		return "", nil, invalidf("read .deb: bad member name %q", hallmark.Clip(name, 80))
	}
	size, err := strconv.ParseInt(strings.TrimRight(string(hdr[48:58]), " "), 10, 64)
	if err != nil || size < 0 {
		return "", nil, invalidf("read .deb: member %q has a bad size", name)
	}
	a.member = &io.LimitedReader{R: a.r, N: size}
	a.pad = size%2 == 1
	return name, &strictReader{a.member}, nil
}

// strictReader turns an early end of a member into io.ErrUnexpectedEOF.
type strictReader struct{ l *io.LimitedReader }

func (s *strictReader) Read(p []byte) (int, error) {
	n, err := s.l.Read(p)
	if errors.Is(err, io.EOF) && s.l.N > 0 {
		return n, io.ErrUnexpectedEOF
	}
	return n, err
}
