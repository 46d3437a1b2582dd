package server

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"connectrpc.com/connect"

	"github.com/hallmark-dev/hallmark/internal/config"
	hallmarkv1 "github.com/hallmark-dev/hallmark/proto/hallmark/v1"
	"github.com/hallmark-dev/hallmark/proto/hallmark/v1/hallmarkv1connect"
	"github.com/hallmark-dev/hallmark/store"
)

// sharedVulnDB returns a file of the shared advisories beside the
// repository (../shared/testdata/vulndb, as vuln/internal/vulntest finds
// them), failing t when it is missing.
func sharedVulnDB(t testing.TB, elem ...string) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for dir := wd; filepath.Dir(dir) != dir; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			p := filepath.Join(append([]string{dir, "..", "shared", "testdata", "vulndb"}, elem...)...)
			if _, err := os.Stat(p); err != nil {
				t.Fatalf("the shared advisories beside the repository are missing: %v", err)
			}
			return p
		}
	}
	t.Fatalf("no go.mod above %s", wd)
	return ""
}

type vulnEnv struct {
	*testEnv
	db     *store.DB
	loader *VulnLoader
	tokens map[string]string
}

func newVulnEnv(t *testing.T, opts ...VulnLoaderOption) *vulnEnv {
	t.Helper()
	db, err := store.Open(t.Context(), store.DriverSQLite, filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	l, err := NewVulnLoader(t.Context(), db, append([]VulnLoaderOption{WithVulnSpoolDir(t.TempDir())}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	rules := []config.Rule{
		{Issuer: "{{issuer}}", Repositories: []string{"reg.example/**"}},
		{Issuer: "{{issuer}}", Subject: "admin", Admin: true},
	}
	e := newTestEnv(t, &fakeBuilder{}, envConfig{rules: rules, opts: []Option{WithStore(db), WithVulnDB(l)}})
	ve := &vulnEnv{testEnv: e, db: db, loader: l, tokens: map[string]string{}}
	for _, sub := range []string{"admin", "reader"} {
		ve.tokens[sub] = e.mint(t, sub, testAudience)
	}
	return ve
}

func (e *vulnEnv) client(subject string) hallmarkv1connect.VulnDBServiceClient {
	hc := &http.Client{Transport: bearer{base: e.srv.Client().Transport, token: e.tokens[subject]}}
	return hallmarkv1connect.NewVulnDBServiceClient(hc, e.srv.URL)
}

// importFile streams data in chunks of 64 KiB as subject.
func (e *vulnEnv) importFile(t *testing.T, subject, source, expected string, data []byte) (*hallmarkv1.ImportResponse, error) {
	t.Helper()
	stream := e.client(subject).Import(t.Context())
	first := &hallmarkv1.ImportRequest{Source: source, ExpectedSha256: expected}
	for {
		n := min(len(data), 64<<10)
		first.Chunk, data = data[:n], data[n:]
		if err := stream.Send(first); err != nil {
			break // the server answered early; CloseAndReceive has why
		}
		first = &hallmarkv1.ImportRequest{}
		if len(data) == 0 {
			break
		}
	}
	res, err := stream.CloseAndReceive()
	if err != nil {
		return nil, err
	}
	return res.Msg, nil
}

func (e *vulnEnv) status(t *testing.T, subject string) *hallmarkv1.StatusResponse {
	t.Helper()
	res, err := e.client(subject).Status(t.Context(), connect.NewRequest(&hallmarkv1.StatusRequest{}))
	if err != nil {
		t.Fatalf("Status: %v", err)
	}
	return res.Msg
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestVulnDBImport(t *testing.T) {
	e := newVulnEnv(t)
	data := readFile(t, sharedVulnDB(t, "ghsa", "GHSA-v778-237x-gjrc.json"))
	sum := sha256.Sum256(data)
	res, err := e.importFile(t, "admin", "ghsa/GHSA-v778-237x-gjrc.json", hex.EncodeToString(sum[:]), data)
	if err != nil || res.GetRecords() != 1 || res.GetChanged() != 1 || res.GetSha256() != hex.EncodeToString(sum[:]) || res.GetNewestModified() == nil {
		t.Fatalf("Import = %v, %v; want 1 record changed", res, err)
	}
	if db := e.loader.DB(); db == nil || db.Len() != 1 {
		t.Fatalf("loaded DB = %v, want 1 record", db)
	}
	// Importing it again changes nothing and records no import.
	res, err = e.importFile(t, "admin", "again.json", "", data)
	if err != nil || res.GetChanged() != 0 {
		t.Fatalf("Import again = %v, %v; want nothing changed", res, err)
	}
	st := e.status(t, "reader")
	if len(st.GetImports()) != 1 || st.GetAdvisories() != 1 || st.GetEcosystems()["Go"] != 1 || st.GetImports()[0].GetActor() != e.issuer.url+" admin" ||
		st.GetLastImported() == nil {
		t.Errorf("Status = %v", st)
	}
}

// TestVulnDBImportsListed: the loaded DB lists each import of the store
// (source, sha256, records), as the scan attestation names them, both in
// the loader that took the imports and in one that loads the store at
// start.
func TestVulnDBImportsListed(t *testing.T) {
	e := newVulnEnv(t)
	type listed struct {
		source, sha256 string
		records        int
	}
	var want []listed
	for _, name := range []string{"GHSA-v778-237x-gjrc.json", "GHSA-69ch-w2m2-3vjp.json"} {
		data := readFile(t, sharedVulnDB(t, "ghsa", name))
		sum := sha256.Sum256(data)
		if _, err := e.importFile(t, "admin", "ghsa/"+name, "", data); err != nil {
			t.Fatal(err)
		}
		want = append(want, listed{"ghsa/" + name, hex.EncodeToString(sum[:]), 1})
	}
	fresh, err := NewVulnLoader(t.Context(), e.db)
	if err != nil {
		t.Fatal(err)
	}
	for name, l := range map[string]*VulnLoader{"importer": e.loader, "fresh": fresh} {
		var got []listed
		for _, im := range l.DB().Imports() {
			got = append(got, listed{im.Source, im.SHA256, im.Records})
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: imports %+v, want %+v", name, got, want)
		}
	}
}

func TestVulnDBImportRefused(t *testing.T) {
	e := newVulnEnv(t, WithVulnMaxImportBytes(1<<20))
	good := readFile(t, sharedVulnDB(t, "ghsa", "GHSA-69ch-w2m2-3vjp.json"))
	if _, err := e.importFile(t, "admin", "good.json", "", good); err != nil {
		t.Fatal(err)
	}
	before := e.status(t, "admin")
	for _, tt := range []struct {
		name, subject, source, expected string
		data                            []byte
		code                            connect.Code
	}{
		{"not an admin", "reader", "x.json", "", good, connect.CodePermissionDenied},
		{"hostile entry name", "admin", "evil.zip", "", zipOf(t, map[string][]byte{"../GO-2026-0001.json": good}), connect.CodeInvalidArgument},
		{"duplicate ids", "admin", "dup.zip", "", zipOf(t, map[string][]byte{"a.json": good, "b.json": good}), connect.CodeInvalidArgument},
		{"not OSV", "admin", "x.json", "", []byte(`{"id": 1}`), connect.CodeInvalidArgument},
		{"wrong sha256", "admin", "x.json", hex.EncodeToString(make([]byte, 32)), good, connect.CodeInvalidArgument},
		{"bad sha256", "admin", "x.json", "abc", good, connect.CodeInvalidArgument},
		{"no source", "admin", "", "", good, connect.CodeInvalidArgument},
		{"over the limit", "admin", "big.json", "", bytes.Repeat([]byte(" "), 1<<20+1), connect.CodeResourceExhausted},
		{"zip bomb", "admin", "bomb.zip", "", bomb(t), connect.CodeResourceExhausted},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.importFile(t, tt.subject, tt.source, tt.expected, tt.data)
			if connect.CodeOf(err) != tt.code {
				t.Errorf("Import = %v, want %v", err, tt.code)
			}
		})
	}
	after := e.status(t, "admin")
	if len(after.GetImports()) != len(before.GetImports()) || after.GetAdvisories() != before.GetAdvisories() {
		t.Errorf("Status after refused imports = %v, want %v", after, before)
	}
	if spooled, _ := filepath.Glob(filepath.Join(e.loader.spool, "*")); len(spooled) != 0 {
		t.Errorf("spooled files left: %v", spooled)
	}
}

// bomb is a small archive whose records inflate to 20 MiB, past 16 times
// the 1 MiB file limit.
func bomb(t *testing.T) []byte {
	t.Helper()
	entries := map[string][]byte{}
	for i := range 4 {
		entries[fmt.Sprintf("GO-2026-%04d.json", i)] = append(fmt.Appendf(nil, `{"id":"GO-2026-%04d","modified":"2026-01-01T00:00:00Z"}`, i), bytes.Repeat([]byte(" "), 5<<20)...)
	}
	b := zipOf(t, entries)
	if len(b) > 1<<20 {
		t.Fatalf("the bomb is %d bytes", len(b))
	}
	return b
}

func zipOf(t *testing.T, entries map[string][]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	for name, data := range entries {
		f, err := w.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Write(data); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestVulnDBGoDatabase imports the Go vulnerability database through the
// RPC and loads it from the store into a second loader, as another
// replica would, logging both times.
func TestVulnDBGoDatabase(t *testing.T) {
	e := newVulnEnv(t)
	replica, err := NewVulnLoader(t.Context(), e.db)
	if err != nil {
		t.Fatal(err)
	}
	data := readFile(t, sharedVulnDB(t, "osv", "Go-all.zip"))
	start := time.Now()
	res, err := e.importFile(t, "admin", "Go-all.zip", "", data)
	if err != nil || res.GetRecords() != 4291 || res.GetChanged() != 4291 {
		t.Fatalf("Import = %v, %v; want 4291 records", res, err)
	}
	t.Logf("import of Go all.zip (%d bytes) through the RPC: %v", len(data), time.Since(start))
	start = time.Now()
	if err := replica.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Logf("replica refresh: %v", time.Since(start))
	start = time.Now()
	fresh, err := NewVulnLoader(t.Context(), e.db)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("load of the whole store: %v", time.Since(start))
	for name, l := range map[string]*VulnLoader{"importer": e.loader, "replica": replica, "fresh": fresh} {
		if db := l.DB(); db == nil || db.Len() != 4291 {
			t.Errorf("%s: loaded %v, want 4291 records", name, db)
		}
		if r, ok := l.DB().Record("GO-2024-3321"); !ok || r.Affected[0].Name != "golang.org/x/crypto" {
			t.Errorf("%s: GO-2024-3321 = %+v, %v", name, r, ok)
		}
	}
	if _, err := e.importFile(t, "admin", "Go-all.zip", "", data); err != nil {
		t.Fatal(err)
	}
	if st := e.status(t, "reader"); len(st.GetImports()) != 1 || st.GetAdvisories() != 4291 || st.GetEcosystems()["Go"] != 4291 {
		t.Errorf("Status after importing twice: %d imports, %d advisories, ecosystems %v", len(st.GetImports()), st.GetAdvisories(), st.GetEcosystems())
	}
}
