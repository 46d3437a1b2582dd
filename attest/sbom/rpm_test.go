package sbom

import (
	"bytes"
	"database/sql"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func nevra(p rpmPackage) string {
	e := ""
	if p.Epoch != nil {
		e = fmt.Sprintf("%d:", *p.Epoch)
	}
	return fmt.Sprintf("%s-%s%s-%s.%s", p.Name, e, p.Version, p.Release, p.Arch)
}

func readRPMBytes(t *testing.T, b []byte) ([]rpmPackage, error) {
	t.Helper()
	return readRPMDB(t.Context(), bytes.NewReader(b), int64(len(b)), t.TempDir())
}

// TestReadRPMDB reads the three database formats. The expectations were
// produced with rpm -qa (SQLite, made here) and github.com/anchore/go-rpmdb
// (NDB, Berkeley DB); see testdata/rpm/README.md.
func TestReadRPMDB(t *testing.T) {
	tests := []struct {
		fixture string
		count   int
		want    map[int]string // index → name-[epoch:]version-release.arch
		license map[int]string
	}{
		{"rpm/rpmdb.sqlite.gz", 3, map[int]string{
			0: "hallmark-fixture-libs-2:1.2.3-4.hm1.x86_64",
			1: "hallmark-fixture-2:1.2.3-4.hm1.x86_64",
			2: "hallmark-data-0.9-1.noarch",
		}, map[int]string{0: "Apache-2.0 OR MIT", 2: "CC0-1.0"}},
		{"rpm/sle15-bci-Packages.db.gz", 35, map[int]string{
			0:  "system-user-root-20190513-3.3.1.noarch",
			2:  "glibc-2.31-9.3.2.x86_64",
			34: "rpm-ndb-4.14.3-40.1.x86_64",
		}, map[int]string{2: "LGPL-2.1-or-later AND LGPL-2.1-or-later WITH GCC-exception-2.0 AND GPL-2.0-or-later"}},
		{"rpm/el8-libuuid-Packages.gz", 1, map[int]string{0: "libuuid-2.32.1-42.el8_8.x86_64"}, map[int]string{0: "BSD"}},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			pkgs, err := readRPMBytes(t, testdata(t, tt.fixture))
			if err != nil {
				t.Fatal(err)
			}
			if len(pkgs) != tt.count {
				t.Fatalf("%d packages, want %d", len(pkgs), tt.count)
			}
			for i, want := range tt.want {
				if got := nevra(pkgs[i]); got != want {
					t.Errorf("package %d = %s, want %s", i, got, want)
				}
			}
			for i, want := range tt.license {
				if pkgs[i].License != want {
					t.Errorf("license of package %d = %q, want %q", i, pkgs[i].License, want)
				}
			}
		})
	}
}

func TestRPMPURL(t *testing.T) {
	two := 2
	p := rpmPackage{Name: "hallmark-fixture", Version: "1.2.3", Release: "4.hm1", Epoch: &two, Arch: "x86_64", Vendor: "Hallmark", SourceRPM: "hallmark-fixture-1.2.3-4.hm1.src.rpm"}
	tests := []struct {
		rel  *osRelease
		want string
	}{
		{&osRelease{ID: "fedora", VersionID: "40"}, "pkg:rpm/fedora/hallmark-fixture@1.2.3-4.hm1?arch=x86_64&distro=fedora-40&epoch=2&upstream=hallmark-fixture-1.2.3-4.hm1.src.rpm"},
		{nil, "pkg:rpm/hallmark/hallmark-fixture@1.2.3-4.hm1?arch=x86_64&epoch=2&upstream=hallmark-fixture-1.2.3-4.hm1.src.rpm"},
		{&osRelease{ID: "rhel", VersionID: "9.4"}, "pkg:rpm/redhat/hallmark-fixture@1.2.3-4.hm1?arch=x86_64&distro=rhel-9.4&epoch=2&upstream=hallmark-fixture-1.2.3-4.hm1.src.rpm"},
	}
	for _, tt := range tests {
		if got := p.purl(tt.rel); got != tt.want {
			t.Errorf("purl = %s, want %s", got, tt.want)
		}
	}
}

func TestReadRPMDBRejectsDamage(t *testing.T) {
	sqliteDB := testdata(t, "rpm/rpmdb.sqlite.gz")
	ndb := testdata(t, "rpm/sle15-bci-Packages.db.gz")
	bdb := testdata(t, "rpm/el8-libuuid-Packages.gz")
	tests := []struct {
		name    string
		db      []byte
		wantErr string
		maxPkgs int
	}{
		{"unknown format", []byte("not a database at all, just text"), "unknown rpm database format", 0},
		{"too short", []byte("RpmP"), "read rpm database", 0},
		{"truncated sqlite", sqliteDB[:len(sqliteDB)/3], "", 3},
		{"truncated ndb", ndb[:len(ndb)/2], "", 35},
		{"truncated bdb", bdb[:len(bdb)/2], "", 1},
		{"ndb blob of 4 GiB", craftNDB(0xffffffff), "length of 4294967295 bytes", 0},
		{"bdb overflow cycle", bdbWithCycle(t, bdb), "overflow chain from page 2 is broken", 0},
		{"sqlite view", sqliteWith(t, "CREATE VIEW Packages AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) SELECT randomblob(100) AS blob FROM c"), "not a table", 0},
		{"sqlite generated column", sqliteWith(t, "CREATE TABLE Packages (hnum INTEGER PRIMARY KEY, blob BLOB GENERATED ALWAYS AS (zeroblob(hnum)) VIRTUAL)"), "generated or hidden", 0},
		{"sqlite without blob", sqliteWith(t, "CREATE TABLE Packages (hnum INTEGER PRIMARY KEY, data BLOB)"), "no column blob", 0},
		{"sqlite bad header", sqliteWith(t, "CREATE TABLE Packages (hnum INTEGER PRIMARY KEY, blob BLOB)", "INSERT INTO Packages VALUES (1, x'0000ffff00000001')"), "shorter than its 65535 tags", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pkgs, err := readRPMBytes(t, tt.db)
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("error = %v, want %q", err, tt.wantErr)
			}
			if len(pkgs) > tt.maxPkgs {
				t.Fatalf("%d packages from a damaged database", len(pkgs))
			}
			t.Logf("%d packages, error %v", len(pkgs), err)
		})
	}
}

func TestParseRPMHeaderBounds(t *testing.T) {
	be := binary.BigEndian
	header := func(il, dl uint32, entries [][4]uint32, data string) []byte {
		b := be.AppendUint32(be.AppendUint32(nil, il), dl)
		for _, e := range entries {
			for _, v := range e {
				b = be.AppendUint32(b, v)
			}
		}
		return append(b, data...)
	}
	tests := []struct {
		name    string
		blob    []byte
		wantErr string
	}{
		{"ok", header(2, 6, [][4]uint32{{rpmTagName, rpmTypeString, 0, 1}, {rpmTagVersion, rpmTypeString, 2, 1}}, "a\x001\x00\x00\x00"), ""},
		{"no tags", header(0, 0, nil, ""), "out of range"},
		{"data past the end", header(1, 100, [][4]uint32{{rpmTagName, rpmTypeString, 0, 1}}, "a\x00"), "shorter than"},
		{"offset past the data", header(1, 2, [][4]uint32{{rpmTagName, rpmTypeString, 7, 1}}, "a\x00"), "outside the data"},
		{"unterminated", header(1, 2, [][4]uint32{{rpmTagName, rpmTypeString, 0, 1}}, "ab"), "not a terminated string"},
		{"epoch past the data", header(1, 2, [][4]uint32{{rpmTagEpoch, rpmTypeInt32, 0xfffffffe, 1}}, "ab"), "malformed epoch"},
		{"name of wrong type", header(1, 4, [][4]uint32{{rpmTagName, rpmTypeInt32, 0, 1}}, "abcd"), "not a string"},
		{"no version", header(1, 2, [][4]uint32{{rpmTagName, rpmTypeString, 0, 1}}, "a\x00"), "no name or version"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseRPMHeader(tt.blob)
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("error = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

// craftNDB is an NDB database with one slot whose blob claims blobLen bytes.
func craftNDB(blobLen uint32) []byte {
	le := binary.LittleEndian
	b := make([]byte, 4096+16)
	le.PutUint32(b[0:], ndbHeaderMagic)
	le.PutUint32(b[12:], 1) // one slot page
	for s := ndbHeaderSize; s < 4096; s += 16 {
		le.PutUint32(b[s:], ndbSlotMagic)
	}
	le.PutUint32(b[ndbHeaderSize+4:], 1)       // package 1
	le.PutUint32(b[ndbHeaderSize+8:], 4096/16) // blob at 4096
	le.PutUint32(b[4096:], ndbBlobMagic)
	le.PutUint32(b[4096+4:], 1)
	le.PutUint32(b[4096+12:], blobLen)
	return b
}

// bdbWithCycle points the first overflow page of db back at itself.
func bdbWithCycle(t *testing.T, db []byte) []byte {
	t.Helper()
	b := bytes.Clone(db)
	pageSize := int(binary.LittleEndian.Uint32(b[20:]))
	for off := pageSize; off+pageSize <= len(b); off += pageSize {
		if b[off+25] == bdbPageOverflow {
			copy(b[off+16:], b[off+8:off+12]) // next = this page number
			return b
		}
	}
	t.Fatal("no overflow page")
	return nil
}

// sqliteWith is an SQLite database made by the given statements.
func sqliteWith(t *testing.T, stmts ...string) []byte {
	t.Helper()
	path := filepath.Join(t.TempDir(), "rpmdb.sqlite")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range stmts {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
