package sbom

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
)

// maxLineBytes bounds one line of a package database; longer lines end the
// parse with an error and the packages read so far.
const maxLineBytes = 1 << 20

// scanRecords reads a package database of records separated by blank lines
// (a dpkg status file, an apk installed database), what naming it in
// errors. It calls field with every other line, and end after each record
// (at a blank line and at the end). field reports whether its line is one
// of the database's; the first that is not is reported as an error, after
// every record has been read. A line over maxLineBytes ends the scan with
// an error.
func scanRecords(r io.Reader, what string, field func(line []byte) bool, end func()) error {
	var badLine, n int
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxLineBytes)
	for sc.Scan() {
		n++
		line := sc.Bytes()
		if len(bytes.TrimSpace(line)) == 0 {
			end()
			continue
		}
		if !field(line) && badLine == 0 {
			badLine = n
		}
	}
	end()
	if err := sc.Err(); err != nil {
		return fmt.Errorf("parse %s: line %d: %w", what, n+1, err)
	}
	if badLine != 0 {
		return fmt.Errorf("parse %s: line %d: not a field", what, badLine)
	}
	return nil
}
