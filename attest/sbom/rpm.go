package sbom

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/package-url/packageurl-go"
)

// Hallmark reads RPM databases itself rather than through
// github.com/anchore/go-rpmdb: that library walks Berkeley DB and NDB files
// in a goroutine that can panic (out-of-range slices), loop forever (cyclic
// overflow chains) or allocate a declared length of up to 4 GiB on crafted
// input, and it leaks that goroutine when a header fails to parse. The
// formats are small; here every offset is checked against the file.

// rpmPackage is the part of an RPM header that names a package.
type rpmPackage struct {
	Name      string
	Version   string
	Release   string
	Epoch     *int
	Arch      string
	License   string
	Vendor    string
	SourceRPM string
}

// RPM header tags and types (rpm/rpmtag.h).
const (
	rpmTagName      = 1000
	rpmTagVersion   = 1001
	rpmTagRelease   = 1002
	rpmTagEpoch     = 1003
	rpmTagVendor    = 1011
	rpmTagLicense   = 1014
	rpmTagArch      = 1022
	rpmTagSourceRPM = 1044

	rpmTypeInt32       = 4
	rpmTypeString      = 6
	rpmTypeStringArray = 8
	rpmTypeI18NString  = 9

	rpmMaxTags      = 0xffff     // rpm's headerTagsMax
	rpmMaxDataBytes = 0x0fffffff // rpm's headerDataMax
	rpmMaxStringLen = 64 << 10
)

// parseRPMHeader reads the tags Hallmark needs from a header blob as rpm
// stores it in its database: index length and data length (big endian),
// then 16-byte index entries, then the data store.
func parseRPMHeader(blob []byte) (rpmPackage, error) {
	var p rpmPackage
	if len(blob) < 8 {
		return p, errors.New("rpm header shorter than 8 bytes")
	}
	il := binary.BigEndian.Uint32(blob[0:4])
	dl := binary.BigEndian.Uint32(blob[4:8])
	if il < 1 || il > rpmMaxTags || dl > rpmMaxDataBytes {
		return p, fmt.Errorf("rpm header with %d tags and %d data bytes is out of range", il, dl)
	}
	start := 8 + 16*int64(il)
	if start+int64(dl) > int64(len(blob)) {
		return p, fmt.Errorf("rpm header of %d bytes is shorter than its %d tags and %d data bytes", len(blob), il, dl)
	}
	data := blob[start : start+int64(dl)]
	for i := range int64(il) {
		e := blob[8+16*i : 8+16*i+16]
		tag := binary.BigEndian.Uint32(e[0:4])
		typ := binary.BigEndian.Uint32(e[4:8])
		off := binary.BigEndian.Uint32(e[8:12])
		count := binary.BigEndian.Uint32(e[12:16])
		if tag == rpmTagEpoch {
			if typ != rpmTypeInt32 || count < 1 || uint64(off)+4 > uint64(len(data)) {
				return p, errors.New("rpm header has a malformed epoch")
			}
			v := int(int32(binary.BigEndian.Uint32(data[off : off+4])))
			p.Epoch = &v
			continue
		}
		dst := p.stringField(tag)
		if dst == nil {
			continue
		}
		if typ != rpmTypeString && typ != rpmTypeStringArray && typ != rpmTypeI18NString {
			return p, fmt.Errorf("rpm header tag %d has type %d, not a string", tag, typ)
		}
		if uint64(off) >= uint64(len(data)) {
			return p, fmt.Errorf("rpm header tag %d points outside the data", tag)
		}
		s := data[off:]
		end := bytes.IndexByte(s, 0)
		if end < 0 || end > rpmMaxStringLen {
			return p, fmt.Errorf("rpm header tag %d is not a terminated string", tag)
		}
		*dst = string(s[:end])
	}
	if p.Name == "" || p.Version == "" {
		return p, errors.New("rpm header has no name or version")
	}
	return p, nil
}

func (p *rpmPackage) stringField(tag uint32) *string {
	switch tag {
	case rpmTagName:
		return &p.Name
	case rpmTagVersion:
		return &p.Version
	case rpmTagRelease:
		return &p.Release
	case rpmTagVendor:
		return &p.Vendor
	case rpmTagLicense:
		return &p.License
	case rpmTagArch:
		return &p.Arch
	case rpmTagSourceRPM:
		return &p.SourceRPM
	}
	return nil
}

// readRPMDB copies an RPM database (SQLite rpmdb.sqlite, NDB Packages.db or
// Berkeley DB Packages) of size bytes to a temporary file, reads the headers
// of every package and removes the file. The public keys that rpm keeps as
// "gpg-pubkey" packages are not packages and are skipped. On a corrupt
// database it returns the packages read before the damage with an error.
func readRPMDB(ctx context.Context, r io.Reader, size int64, tempDir string) (_ []rpmPackage, err error) {
	f, err := os.CreateTemp(tempDir, "hallmark-rpmdb-*")
	if err != nil {
		return nil, fmt.Errorf("create temporary rpm database: %w", err)
	}
	defer func() {
		f.Close()
		if rmErr := os.Remove(f.Name()); rmErr != nil && err == nil {
			err = fmt.Errorf("remove temporary rpm database: %w", rmErr)
		}
	}()
	if _, err := io.Copy(f, io.LimitReader(r, size)); err != nil {
		return nil, fmt.Errorf("copy rpm database: %w", err)
	}
	var magic [16]byte
	if _, err := f.ReadAt(magic[:], 0); err != nil {
		return nil, fmt.Errorf("read rpm database: %w", err)
	}
	var blobs func(yield func([]byte) bool) error
	switch {
	case bytes.Equal(magic[:], []byte("SQLite format 3\x00")):
		f.Close()
		blobs = func(yield func([]byte) bool) error { return sqliteBlobs(ctx, f.Name(), yield) }
	case bytes.Equal(magic[:4], []byte("RpmP")):
		blobs = func(yield func([]byte) bool) error { return ndbBlobs(f, size, yield) }
	case isBDBHash(magic[12:16]):
		blobs = func(yield func([]byte) bool) error { return bdbBlobs(f, size, yield) }
	default:
		return nil, errors.New("unknown rpm database format")
	}
	var pkgs []rpmPackage
	var bad error
	err = blobs(func(b []byte) bool {
		p, err := parseRPMHeader(b)
		if err != nil {
			bad = err
			return false
		}
		if p.Name != "gpg-pubkey" {
			pkgs = append(pkgs, p)
		}
		return ctx.Err() == nil
	})
	if err == nil {
		err = bad
	}
	if err == nil {
		err = ctx.Err()
	}
	if err != nil {
		return pkgs, fmt.Errorf("read rpm database: %w", err)
	}
	return pkgs, nil
}

// purl is pkg:rpm/<os id (rhel → redhat) or vendor>/<name>@<version>-<release>?arch=…&epoch=…&distro=…&upstream=….
func (p *rpmPackage) purl(rel *osRelease) string {
	ns := "rpm"
	switch {
	case rel != nil && rel.ID == "rhel":
		ns = "redhat" // the namespace Red Hat's own security data uses
	case rel != nil && rel.ID != "":
		ns = rel.ID
	case sanitizeID(p.Vendor) != "":
		ns = sanitizeID(p.Vendor)
	}
	var epoch []packageurl.Qualifier
	if p.Epoch != nil {
		epoch = append(epoch, packageurl.Qualifier{Key: "epoch", Value: strconv.Itoa(*p.Epoch)})
	}
	return packageurl.NewPackageURL(packageurl.TypeRPM, ns, p.Name, p.fullVersion(), osQualifiers(p.Arch, rel, p.SourceRPM, epoch...), "").ToString()
}

// fullVersion is version-release.
func (p *rpmPackage) fullVersion() string {
	if p.Release == "" {
		return p.Version
	}
	return p.Version + "-" + p.Release
}
