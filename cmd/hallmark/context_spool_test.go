package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// contextDigest spools bc and returns its archive's digest and size.
func contextDigest(t *testing.T, bc *buildContext) (string, int64) {
	t.Helper()
	sp, err := bc.spool(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := sp.Close(); err != nil {
		t.Fatal(err)
	}
	return sp.digest, sp.size
}

func TestSpoolIsTheArchive(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, sampleTree)
	bc, err := newBuildContext(dir, dockerfileSpec{}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	sp, err := bc.spool(tmp)
	if err != nil {
		t.Fatal(err)
	}
	// Change the tree after spooling: the spooled archive stays as read.
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte("package changed\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	spooled, err := io.ReadAll(sp.reader())
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(spooled)
	if got := "sha256:" + hex.EncodeToString(sum[:]); got != sp.digest || int64(len(spooled)) != sp.size {
		t.Errorf("spooled %d bytes with digest %s; spool says %d bytes, %s", len(spooled), got, sp.size, sp.digest)
	}
	if !bytes.Contains(spooled, []byte("package main\n")) || bytes.Contains(spooled, []byte("package changed")) {
		t.Error("the spooled archive does not hold main.go as it was when read")
	}
	again, err := io.ReadAll(sp.reader())
	if err != nil || !bytes.Equal(again, spooled) {
		t.Errorf("a second reader read %d bytes (%v), want the same %d", len(again), err, len(spooled))
	}
	if err := sp.Close(); err != nil {
		t.Fatal(err)
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("Close left %d files in the spool directory", len(left))
	}
}

// TestContextFileChangedWhileRead changes a file between its stat and its
// read, as a process writing to it would, and expects an error naming it.
func TestContextFileChangedWhileRead(t *testing.T) {
	tests := []struct {
		name   string
		change func(t *testing.T, path string)
		want   string
	}{
		{"grew", func(t *testing.T, path string) {
			f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if _, err := f.WriteString("#1 more progress\n"); err != nil {
				t.Fatal(err)
			}
		}, "logs/build.log changed while it was read (size 11, then 28 bytes)"},
		{"shrank", func(t *testing.T, path string) {
			if err := os.Truncate(path, 3); err != nil {
				t.Fatal(err)
			}
		}, "logs/build.log changed while it was read (size 11, then 3 bytes)"},
		{"rewritten in place", func(t *testing.T, path string) {
			if err := os.WriteFile(path, []byte("#0 rewrote!"), 0o644); err != nil {
				t.Fatal(err)
			}
			later := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
			if err := os.Chtimes(path, later, later); err != nil {
				t.Fatal(err)
			}
		}, "logs/build.log changed while it was read (modified at "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeTree(t, dir, map[string]string{"Dockerfile": "FROM scratch\n", "logs/build.log": "#0 building", "z.txt": "z"})
			bc, err := newBuildContext(dir, dockerfileSpec{}, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			bc.beforeRead = func(rel string) {
				if rel == "logs/build.log" {
					tt.change(t, filepath.Join(dir, "logs", "build.log"))
				}
			}
			tmp := t.TempDir()
			_, err = bc.spool(tmp)
			var ce *changedError
			if !errors.As(err, &ce) || ce.rel != "logs/build.log" {
				t.Fatalf("spool error = %v, want a changedError for logs/build.log", err)
			}
			if !strings.HasPrefix(err.Error(), "archive context: "+tt.want) || !strings.Contains(err.Error(), ".dockerignore") {
				t.Errorf("error %q, want it to start with %q and suggest .dockerignore", err, "archive context: "+tt.want)
			}
			if left, _ := os.ReadDir(tmp); len(left) != 0 {
				t.Errorf("a failed spool left %d files behind", len(left))
			}
		})
	}
}

// TestBuildLogInsideContext is `hallmark build … . > build.log 2>&1`: the
// CLI's own output goes to a file inside the context while it uploads. The
// context is read once, so the upload matches its digest.
func TestBuildLogInsideContext(t *testing.T) {
	g := &fakeGateway{}
	gw := startGateway(t, g)
	dir := buildContextDir(t, map[string]string{"big.bin": strings.Repeat("0123456789abcdef", 3<<20/16)})
	logf, err := os.Create(filepath.Join(dir, "build.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	t.Setenv("HALLMARK_TOKEN", testToken)
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	var stdout bytes.Buffer
	cmd := newBuildCmd()
	cmd.SetArgs([]string{"--gateway", gw, "-t", "reg.example/app:1", "--progress", "plain", dir})
	cmd.SetOut(&stdout)
	cmd.SetErr(logf)
	cmd.SetIn(strings.NewReader(""))
	if err := cmd.ExecuteContext(t.Context()); err != nil {
		log, _ := os.ReadFile(logf.Name())
		t.Fatalf("build: %v\nbuild.log:\n%s", err, log)
	}
	log, err := os.ReadFile(logf.Name())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(log), "#0 uploading context") || !strings.Contains(string(log), " done\n") {
		t.Errorf("build.log:\n%s", log)
	}
	if !strings.HasPrefix(stdout.String(), "reg.example/app@sha256:") {
		t.Errorf("stdout = %q", stdout.String())
	}
}
