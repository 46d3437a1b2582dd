package sbom

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/url"

	"modernc.org/sqlite"
)

// maxRPMHeaderBytes bounds one package header in any database format.
const maxRPMHeaderBytes = 64 << 20

// sqliteBlobs yields the header blob of every row of the Packages table of
// the rpmdb.sqlite at path, opened read-only and immutable. The table must
// be the plain table rpm creates (no view, no generated column), so that a
// crafted schema cannot make the query compute anything.
func sqliteBlobs(ctx context.Context, path string, yield func([]byte) bool) error {
	dsn := "file:" + (&url.URL{Path: path}).EscapedPath() + "?mode=ro&immutable=1&_defensive=1&_pragma=trusted_schema(0)&_pragma=query_only(1)"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return fmt.Errorf("open sqlite: %w", err)
	}
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("open sqlite: %w", err)
	}
	defer conn.Close()
	const sqliteLimitLength = 0 // SQLITE_LIMIT_LENGTH: the largest string or blob
	if _, err := sqlite.Limit(conn, sqliteLimitLength, maxRPMHeaderBytes); err != nil {
		return fmt.Errorf("limit sqlite: %w", err)
	}
	var kind string
	err = conn.QueryRowContext(ctx, "SELECT type FROM sqlite_schema WHERE name = 'Packages'").Scan(&kind)
	if err != nil {
		return fmt.Errorf("find table Packages: %w", err)
	}
	if kind != "table" {
		return fmt.Errorf("Packages is a %q, not a table", kind)
	}
	var plainBlob bool
	cols, err := conn.QueryContext(ctx, "SELECT name, hidden FROM pragma_table_xinfo('Packages')")
	if err != nil {
		return fmt.Errorf("read columns of Packages: %w", err)
	}
	for cols.Next() {
		var name string
		var hidden int
		if err := cols.Scan(&name, &hidden); err != nil {
			cols.Close()
			return fmt.Errorf("read columns of Packages: %w", err)
		}
		if hidden != 0 {
			cols.Close()
			return errors.New("table Packages has generated or hidden columns")
		}
		plainBlob = plainBlob || name == "blob"
	}
	if err := cols.Close(); err != nil {
		return fmt.Errorf("read columns of Packages: %w", err)
	}
	if !plainBlob {
		return errors.New("table Packages has no column blob")
	}
	rows, err := conn.QueryContext(ctx, "SELECT blob FROM Packages")
	if err != nil {
		return fmt.Errorf("query Packages: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var b []byte
		if err := rows.Scan(&b); err != nil {
			return fmt.Errorf("read Packages: %w", err)
		}
		if !yield(b) {
			return nil
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read Packages: %w", err)
	}
	return nil
}

// NDB (rpm's "ndb" backend, Packages.db; rpm/lib/backend/ndb/rpmpkg.c): a
// 32-byte header, slot pages of 16-byte slots, then blobs addressed in
// 16-byte blocks, each with a 16-byte blob header before the header data.
const (
	ndbBlockSize     = 16
	ndbSlotsPerPage  = 4096 / 16
	ndbMaxSlotPages  = 2048
	ndbHeaderMagic   = 'R' | 'p'<<8 | 'm'<<16 | 'P'<<24
	ndbSlotMagic     = 'S' | 'l'<<8 | 'o'<<16 | 't'<<24
	ndbBlobMagic     = 'B' | 'l'<<8 | 'b'<<16 | 'S'<<24
	ndbHeaderSize    = 32
	ndbBlobHeaderLen = 16
)

// ndbBlobs yields the header blob of every used slot of an NDB database.
func ndbBlobs(r io.ReaderAt, size int64, yield func([]byte) bool) error {
	var hdr [ndbHeaderSize]byte
	if _, err := r.ReadAt(hdr[:], 0); err != nil {
		return fmt.Errorf("read ndb header: %w", err)
	}
	le := binary.LittleEndian
	if le.Uint32(hdr[0:]) != ndbHeaderMagic || le.Uint32(hdr[4:]) != 0 {
		return errors.New("not an ndb database of version 0")
	}
	pages := int64(le.Uint32(hdr[12:]))
	if pages == 0 || pages > ndbMaxSlotPages || pages*4096 > size {
		return fmt.Errorf("ndb database claims %d slot pages", pages)
	}
	slots := make([]byte, pages*4096-ndbHeaderSize) // the header takes the first two slots
	if _, err := r.ReadAt(slots, ndbHeaderSize); err != nil {
		return fmt.Errorf("read ndb slots: %w", err)
	}
	var read int64 // blobs do not overlap: together they fit in the file
	for s := 0; s+16 <= len(slots); s += 16 {
		if le.Uint32(slots[s:]) != ndbSlotMagic {
			return fmt.Errorf("ndb slot %d has a bad magic", s/16)
		}
		pkg := le.Uint32(slots[s+4:])
		if pkg == 0 {
			continue // free slot
		}
		off := int64(le.Uint32(slots[s+8:])) * ndbBlockSize
		var bh [ndbBlobHeaderLen]byte
		if off+ndbBlobHeaderLen > size {
			return fmt.Errorf("ndb slot %d points past the end", s/16)
		}
		if _, err := r.ReadAt(bh[:], off); err != nil {
			return fmt.Errorf("read ndb blob header: %w", err)
		}
		n := int64(le.Uint32(bh[12:]))
		if le.Uint32(bh[0:]) != ndbBlobMagic || le.Uint32(bh[4:]) != pkg {
			return fmt.Errorf("ndb blob of package %d has a bad header", pkg)
		}
		if read += ndbBlobHeaderLen + n; n > maxRPMHeaderBytes || off+ndbBlobHeaderLen+n > size || read > size {
			return fmt.Errorf("ndb blob of package %d has a length of %d bytes", pkg, n)
		}
		b := make([]byte, n)
		if _, err := r.ReadAt(b, off+ndbBlobHeaderLen); err != nil {
			return fmt.Errorf("read ndb blob: %w", err)
		}
		if !yield(b) {
			return nil
		}
	}
	return nil
}

// Berkeley DB hash database (Packages of rpm before 4.16; libdb
// dbinc/db_page.h): page 0 is the hash metadata, hash pages index key/value
// items, and each header is an off-page item stored in a chain of overflow
// pages.
const (
	bdbHashMagic       = 0x00061561
	bdbPageHeaderSize  = 26
	bdbPageHash        = 13
	bdbPageHashUnsort  = 2
	bdbPageOverflow    = 7
	bdbPageHashMeta    = 8
	bdbItemOffPage     = 3 // H_OFFPAGE
	bdbOffPageItemSize = 12
)

func isBDBHash(b []byte) bool {
	return binary.LittleEndian.Uint32(b) == bdbHashMagic || binary.BigEndian.Uint32(b) == bdbHashMagic
}

// bdbBlobs yields the value of every off-page item of a Berkeley DB hash
// database: in rpm's Packages, the package headers.
func bdbBlobs(r io.ReaderAt, size int64, yield func([]byte) bool) error {
	var meta [512]byte
	if _, err := r.ReadAt(meta[:], 0); err != nil {
		return fmt.Errorf("read bdb metadata: %w", err)
	}
	var bo binary.ByteOrder = binary.LittleEndian
	if bo.Uint32(meta[12:]) != bdbHashMagic {
		bo = binary.BigEndian
	}
	pageSize := int64(bo.Uint32(meta[20:]))
	if meta[24] != 0 || meta[25] != bdbPageHashMeta {
		return errors.New("bdb database is encrypted or not a hash")
	}
	if pageSize < 512 || pageSize > 65536 || pageSize&(pageSize-1) != 0 {
		return fmt.Errorf("bdb page size %d is invalid", pageSize)
	}
	pages := min(int64(bo.Uint32(meta[32:]))+1, size/pageSize) // last page number, clamped to the file
	page := make([]byte, pageSize)
	over := make([]byte, pageSize)
	used := make([]bool, pages) // overflow pages already read: each belongs to one item
	for n := int64(1); n < pages; n++ {
		if _, err := r.ReadAt(page, n*pageSize); err != nil {
			return fmt.Errorf("read bdb page %d: %w", n, err)
		}
		if t := page[25]; t != bdbPageHash && t != bdbPageHashUnsort {
			continue
		}
		entries := int64(bo.Uint16(page[20:]))
		if bdbPageHeaderSize+2*entries > pageSize {
			return fmt.Errorf("bdb page %d has %d entries", n, entries)
		}
		for i := int64(1); i < entries; i += 2 { // items alternate key, value
			item := int64(bo.Uint16(page[bdbPageHeaderSize+2*i:]))
			if item >= pageSize {
				return fmt.Errorf("bdb page %d has an item outside the page", n)
			}
			if page[item] != bdbItemOffPage {
				continue
			}
			if item+bdbOffPageItemSize > pageSize {
				return fmt.Errorf("bdb page %d has an item outside the page", n)
			}
			next := int64(bo.Uint32(page[item+4:]))
			total := int64(bo.Uint32(page[item+8:]))
			if total > maxRPMHeaderBytes || total > size {
				return fmt.Errorf("bdb item on page %d has a length of %d bytes", n, total)
			}
			var b []byte
			for next != 0 && int64(len(b)) < total {
				if next >= pages || used[next] {
					return fmt.Errorf("bdb overflow chain from page %d is broken", n)
				}
				used[next] = true
				if _, err := r.ReadAt(over, next*pageSize); err != nil {
					return fmt.Errorf("read bdb page %d: %w", next, err)
				}
				inUse := int64(bo.Uint16(over[22:])) // for overflow pages, the bytes in use
				if over[25] != bdbPageOverflow || bdbPageHeaderSize+inUse > pageSize {
					return fmt.Errorf("bdb page %d is not a valid overflow page", next)
				}
				inUse = min(inUse, total-int64(len(b)))
				b = append(b, over[bdbPageHeaderSize:bdbPageHeaderSize+inUse]...)
				next = int64(bo.Uint32(over[16:]))
			}
			if int64(len(b)) != total {
				return fmt.Errorf("bdb item on page %d is truncated", n)
			}
			if !yield(b) {
				return nil
			}
		}
	}
	return nil
}
