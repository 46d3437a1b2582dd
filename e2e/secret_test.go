//go:build e2e

package e2e

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/mutate"

	hallmark "github.com/hallmark-dev/hallmark"
)

// TestBuildSecret passes a secret with --secret: a RUN step reads it through
// a secret mount, and the value appears nowhere in the image or its
// attestations.
func TestBuildSecret(t *testing.T) {
	st := env.stack.State
	dir := t.TempDir()
	const value = "s3cr3t-value-for-e2e-0123456789"
	secretFile := filepath.Join(t.TempDir(), "token")
	files := map[string]string{
		"Dockerfile": "ARG GOLANG_IMAGE\nFROM ${GOLANG_IMAGE}\n" +
			"RUN --mount=type=secret,id=npm_token test \"$(cat /run/secrets/npm_token)\" = \"" + value[:6] + "$(cat /run/secrets/npm_token | cut -c7-)\" && echo secret-ok > /ok\n" +
			"USER 65532\n",
		"token": value,
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Rename(filepath.Join(dir, "token"), secretFile); err != nil {
		t.Fatal(err)
	}
	tag := st.Registry + "/e2e/secret:v1"
	stdout, stderr, err := runCLI(t, "build", "--progress", "plain", "-t", tag,
		"--build-arg", "GOLANG_IMAGE="+st.GolangImage, "--secret", "id=npm_token,src="+secretFile, dir)
	if err != nil {
		t.Fatalf("hallmark build: %v\n%s", err, stderr)
	}
	if strings.Contains(stderr, value) {
		t.Error("the secret value appears in the build output")
	}
	pinned := strings.TrimSpace(stdout)

	// Not in any layer, nor in the config.
	desc, err := remoteImage(t, pinned)
	if err != nil {
		t.Fatal(err)
	}
	img, err := desc.Image()
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := img.RawConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(cfg, []byte(value)) {
		t.Error("the secret value is in the image config")
	}
	var sawOK bool
	tr := tar.NewReader(mutate.Extract(img))
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(data, []byte(value)) {
			t.Errorf("the secret value is in the image file %s", hdr.Name)
		}
		sawOK = sawOK || (hdr.Name == "ok" && string(data) == "secret-ok\n")
	}
	if !sawOK {
		t.Error("the RUN step that reads the secret did not leave /ok")
	}

	// The provenance names the secret's id, never its value.
	statements := verifiedStatements(t, pinned)
	prov := statements[hallmark.PredicateSLSAProvenanceV1]
	if prov == nil {
		t.Fatal("no provenance")
	}
	raw, _ := json.Marshal(prov.Predicate)
	if bytes.Contains(raw, []byte(value)) || !bytes.Contains(raw, []byte("npm_token")) {
		t.Errorf("provenance should name npm_token and not hold its value: %s", raw)
	}
}
