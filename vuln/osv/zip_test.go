package osv

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"strings"
	"testing"

	hallmark "github.com/hallmark-dev/hallmark"
)

// entry is one entry of a test archive. raw, when set, is written as the
// entry's compressed bytes under the header as given, sizes and all.
type entry struct {
	name string
	data []byte
	raw  *zip.FileHeader
}

func archive(t testing.TB, entries ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		var err error
		if e.raw != nil {
			h := *e.raw
			h.Name = e.name
			w, cerr := zw.CreateRaw(&h)
			if cerr != nil {
				t.Fatal(cerr)
			}
			_, err = w.Write(e.data)
		} else {
			w, cerr := zw.CreateHeader(&zip.FileHeader{Name: e.name, Method: zip.Deflate})
			if cerr != nil {
				t.Fatal(cerr)
			}
			_, err = w.Write(e.data)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// bomb is an entry whose header declares 100 bytes and whose deflate
// stream inflates to n zero bytes.
func bomb(t testing.TB, name string, n int) entry {
	t.Helper()
	var raw bytes.Buffer
	fw, err := flate.NewWriter(&raw, flate.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fw.Write(make([]byte, n)); err != nil {
		t.Fatal(err)
	}
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
	return entry{name: name, data: raw.Bytes(), raw: &zip.FileHeader{
		Method: zip.Deflate, CRC32: crc32.ChecksumIEEE(make([]byte, n)),
		CompressedSize64: uint64(raw.Len()), UncompressedSize64: 100,
	}}
}

func TestImportZip(t *testing.T) {
	data := archive(t,
		entry{name: "GO-2024-0001.json", data: minimal("GO-2024-0001")},
		entry{name: "dir/", data: nil},
		entry{name: "dir/RHSA-2024:0001.json", data: bytes.Replace(minimal("RHSA-2024:0001"), []byte(`"SEMVER"`), []byte(`"DATE"`), 1)},
		entry{name: "LICENSE", data: []byte("text")},
	)
	records, info, err := ImportReader(t.Context(), "all.zip", bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	if len(records) != 2 || info.Source != "all.zip" || info.Records != 2 || info.NewestModified.Year() != 2024 {
		t.Errorf("ImportReader = %s, %+v", dump(records), info)
	}
	if w := strings.Join(info.Warnings, "; "); !strings.Contains(w, `range type "DATE" is not evaluated`) || !strings.Contains(w, "skipped 1 entries") {
		t.Errorf("warnings = %q", info.Warnings)
	}
	empty := archive(t)
	if records, info, err := ImportReader(t.Context(), "empty.zip", bytes.NewReader(empty), int64(len(empty))); err != nil || len(records) != 0 || info.Records != 0 {
		t.Errorf("empty archive: %d records, %v", len(records), err)
	}
}

// TestImportHostile feeds archives built to hurt: each import fails with a
// clear error naming the entry, and returns no records.
func TestImportHostile(t *testing.T) {
	ok := entry{name: "GO-1.json", data: minimal("GO-1")}
	big := bytes.Replace(minimal("GO-2"), []byte(`"affected"`), append(append([]byte(`"details": "`), bytes.Repeat([]byte("x"), 400<<10)...), []byte(`", "affected"`)...), 1)
	encrypted := entry{name: "GO-3.json", data: minimal("GO-3"), raw: &zip.FileHeader{Method: zip.Store, Flags: 0x1,
		CRC32: crc32.ChecksumIEEE(minimal("GO-3")), CompressedSize64: uint64(len(minimal("GO-3"))), UncompressedSize64: uint64(len(minimal("GO-3")))}}
	bzip2 := entry{name: "GO-4.json", data: []byte("BZh9"), raw: &zip.FileHeader{Method: 12, CompressedSize64: 4, UncompressedSize64: 4}}
	tests := []struct {
		name    string
		zip     []byte
		opts    []Option
		want    error
		message string
	}{
		{"zip bomb, lying header", archive(t, ok, bomb(t, "GO-2.json", 4<<20)), nil, hallmark.ErrInvalid, `entry "GO-2.json": invalid input: the entry does not inflate`},
		{"huge entry", archive(t, ok, entry{name: "GO-2.json", data: big}), []Option{WithMaxRecordBytes(256 << 10)}, hallmark.ErrTooLarge, `entry "GO-2.json": too large: the entry declares`},
		{"total over the limit", archive(t, ok, entry{name: "GO-2.json", data: big}), []Option{WithMaxTotalBytes(300 << 10)}, hallmark.ErrTooLarge, `entry "GO-2.json": too large: the records inflate to more than`},
		{"too many entries", archive(t, ok, entry{name: "GO-2.json", data: minimal("GO-2")}, entry{name: "GO-3.json", data: minimal("GO-3")}), []Option{WithMaxRecords(2)}, hallmark.ErrTooLarge, "the archive lists 3 entries"},
		{"parent path", archive(t, ok, entry{name: "../../etc/cron.d/GO-2.json", data: minimal("GO-2")}), nil, hallmark.ErrInvalid, `entry "../../etc/cron.d/GO-2.json"`},
		{"absolute path", archive(t, entry{name: "/etc/GO-2.json", data: minimal("GO-2")}), nil, hallmark.ErrInvalid, "an absolute path"},
		{"backslash", archive(t, entry{name: `..\GO-2.json`, data: minimal("GO-2")}), nil, hallmark.ErrInvalid, "a backslash"},
		{"dot element", archive(t, entry{name: "a/./GO-2.json", data: minimal("GO-2")}), nil, hallmark.ErrInvalid, "element"},
		{"control character", archive(t, entry{name: "GO-2\x1b[2J.json", data: minimal("GO-2")}), nil, hallmark.ErrInvalid, "control characters"},
		{"long name", archive(t, entry{name: strings.Repeat("a", 300) + ".json", data: minimal("GO-2")}), nil, hallmark.ErrInvalid, "1 to 255 bytes"},
		{"duplicate ids", archive(t, ok, entry{name: "copy/GO-1.json", data: minimal("GO-1")}), nil, hallmark.ErrInvalid, `entry "copy/GO-1.json": invalid input: duplicate record id GO-1 (also in entry "GO-1.json")`},
		{"duplicate names", archive(t, ok, ok), nil, hallmark.ErrInvalid, "the name occurs twice"},
		{"malformed JSON", archive(t, ok, entry{name: "GO-2.json", data: []byte(`{"id": "GO-2", "modified":`)}), nil, hallmark.ErrInvalid, `entry "GO-2.json": invalid input: not an OSV record`},
		{"bad record", archive(t, ok, entry{name: "GO-2.json", data: []byte(`{"id": "GO-2"}`)}), nil, hallmark.ErrInvalid, `entry "GO-2.json": invalid input: record GO-2: no modified time`},
		{"encrypted", archive(t, encrypted), nil, hallmark.ErrInvalid, "encrypted"},
		{"unknown method", archive(t, bzip2), nil, hallmark.ErrInvalid, "compression method 12"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			records, _, err := ImportReader(t.Context(), "all.zip", bytes.NewReader(tc.zip), int64(len(tc.zip)), tc.opts...)
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.message) || records != nil {
				t.Errorf("ImportReader = %d records, %v; want %v containing %q", len(records), err, tc.want, tc.message)
			}
			if err != nil && !strings.HasPrefix(err.Error(), "import all.zip: ") {
				t.Errorf("the error does not name the source: %v", err)
			}
		})
	}
}

// TestImportDamaged feeds archives damaged or lying in their directory.
func TestImportDamaged(t *testing.T) {
	good := archive(t, entry{name: "GO-1.json", data: minimal("GO-1")}, entry{name: "GO-2.json", data: minimal("GO-2")})
	flip := func(off int) []byte {
		b := bytes.Clone(good)
		b[off] ^= 0xff
		return b
	}
	end := bytes.LastIndex(good, []byte("PK\x05\x06"))
	lying := bytes.Clone(good)
	binary.LittleEndian.PutUint16(lying[end+8:], 60000)
	binary.LittleEndian.PutUint16(lying[end+10:], 60000)
	zip64 := bytes.Clone(good)
	binary.LittleEndian.PutUint16(zip64[end+10:], 0xffff)
	tests := []struct {
		name string
		data []byte
		want error
	}{
		{"truncated", good[:len(good)/2], hallmark.ErrInvalid},
		{"no end record", good[:end], hallmark.ErrInvalid},
		{"corrupt data", flip(40), hallmark.ErrInvalid},
		{"entry count", lying, hallmark.ErrTooLarge},
		{"zip64 without locator", zip64, hallmark.ErrInvalid},
		{"zip signature only", []byte("PK\x03\x04"), hallmark.ErrInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			records, _, err := ImportReader(t.Context(), "x.zip", bytes.NewReader(tc.data), int64(len(tc.data)), WithMaxRecords(1000))
			if !errors.Is(err, tc.want) || records != nil {
				t.Errorf("ImportReader = %d records, %v; want %v", len(records), err, tc.want)
			}
		})
	}
}
