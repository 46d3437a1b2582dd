package secretscan

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	hallmark "github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/builder/secretscan/scantest"
)

func TestScan(t *testing.T) {
	key := scantest.PrivateKeyPEM(t)

	// The base has a key and a credential-like variable of its own: they
	// are the base's business, not this build's.
	base := scantest.WithLayer(t, empty.Image, map[string]string{"etc/ssl/private/base.key": key, "etc/passwd": "root:x:0:0::/root:/bin/sh\n"}, "BASE_PASSWORD=from-the-base")
	clean := scantest.WithLayer(t, base, map[string]string{"app/hello": "\x7fELF\x00binary", "app/README.md": "Keep the PRIVATE KEY in a secret.\n"})
	withKey := scantest.WithLayer(t, base, map[string]string{"app/deploy.key": key})
	withEnv := scantest.WithLayer(t, base, map[string]string{"app/hello": "x"}, "API_TOKEN=abc123")
	withLabel, err := mutate.Config(clean, v1.Config{Labels: map[string]string{"ci.token": testSlack}})
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name     string
		images   []v1.Image
		base     []v1.Image
		opts     []Option
		wantErr  string // substring; "" means accepted
		refused  int    // findings refused, when more than one
		wantWarn string // substring of the only warning; "" means none
	}{
		{name: "clean", images: []v1.Image{clean}, base: []v1.Image{base}},
		{name: "key", images: []v1.Image{withKey}, base: []v1.Image{base}, wantErr: "/app/deploy.key (layer 2): a PEM private key [rule private-key]"},
		{name: "key allowed", images: []v1.Image{withKey}, base: []v1.Image{base}, opts: []Option{WithAllowPaths("app/*.key")},
			wantWarn: "allowed by the gateway's allowlist (/app/*.key): /app/deploy.key (layer 2)"},
		{name: "env", images: []v1.Image{withEnv}, base: []v1.Image{base}, wantErr: "env:API_TOKEN: a credential-like variable name (ends in TOKEN) [rule credential-name]"},
		{name: "label", images: []v1.Image{withLabel}, base: []v1.Image{base}, wantErr: "label:ci.token: a Slack token [rule slack-token]"},
		{name: "from scratch, every layer is the build's", images: []v1.Image{clean}, wantErr: "/etc/ssl/private/base.key (layer 1)", refused: 2},
		{name: "platforms", images: []v1.Image{clean, withKey}, base: []v1.Image{base}, wantErr: "/app/deploy.key (layer 2)"},
		{name: "a layer two platforms share is scanned once", images: []v1.Image{withKey, withKey}, base: []v1.Image{base}, wantErr: "/app/deploy.key (layer 2)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := New(tt.opts...)
			if err != nil {
				t.Fatal(err)
			}
			warnings, err := s.Scan(t.Context(), tt.images, tt.base)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Scan: %v", err)
			case tt.wantErr != "" && (!errors.Is(err, hallmark.ErrInvalid) || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("Scan = %v, want ErrInvalid saying %q", err, tt.wantErr)
			}
			var fe *FindingsError
			if tt.wantErr != "" && (!errors.As(err, &fe) || len(fe.Refused) != max(tt.refused, 1)) {
				t.Errorf("Scan error %#v is not a *FindingsError with %d findings", err, max(tt.refused, 1))
			}
			if err != nil && (strings.Contains(err.Error(), "BEGIN") || strings.Contains(err.Error(), "abc123") || strings.Contains(err.Error(), "from-the-base")) {
				t.Errorf("error %q shows a secret", err)
			}
			if tt.wantErr == "" && (len(warnings) > 1 || (tt.wantWarn == "") != (len(warnings) == 0) ||
				(tt.wantWarn != "" && !strings.Contains(warnings[0], tt.wantWarn))) {
				t.Errorf("warnings = %q, want one saying %q", warnings, tt.wantWarn)
			}
		})
	}
}

// brokenImage fails to read its config.
type brokenImage struct {
	v1.Image
	err error
}

func (b brokenImage) ConfigFile() (*v1.ConfigFile, error) { return nil, b.err }

// TestScanReadErrors: errors reading an image go through WithReadErrors,
// and a done context stops the scan before a layer is read.
func TestScanReadErrors(t *testing.T) {
	errRead := errors.New("GET /v2/app/blobs/sha256:abc: connection reset")
	img := scantest.WithLayer(t, empty.Image, map[string]string{"app/hello": "x"})
	classify := func(_ context.Context, err error) error { return fmt.Errorf("%w: %w", hallmark.ErrUnavailable, err) }
	s, err := New(WithReadErrors(classify))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		images []v1.Image
		base   []v1.Image
		want   string
		class  error
	}{
		{name: "image config", images: []v1.Image{brokenImage{img, errRead}}, class: hallmark.ErrUnavailable,
			want: "scan for secrets: read image config: unavailable: " + errRead.Error()},
		{name: "base config", images: []v1.Image{img}, base: []v1.Image{brokenImage{img, errRead}}, class: hallmark.ErrUnavailable,
			want: "scan for secrets: read runtime base config: unavailable: " + errRead.Error()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.Scan(t.Context(), tt.images, tt.base)
			if !errors.Is(err, tt.class) || !errors.Is(err, errRead) || err.Error() != tt.want {
				t.Fatalf("Scan = %v, want %q", err, tt.want)
			}
		})
	}

	ctx, cancel := context.WithCancelCause(t.Context())
	cancel(errors.New("build timed out"))
	if _, err := s.Scan(ctx, []v1.Image{img}, nil); !errors.Is(err, hallmark.ErrCanceled) || err.Error() != "canceled: build timed out" {
		t.Errorf("Scan after cancel = %v, want ErrCanceled with the cause", err)
	}
	if _, err := New(WithReadErrors(nil)); !errors.Is(err, hallmark.ErrInvalid) {
		t.Errorf("New(WithReadErrors(nil)) = %v, want ErrInvalid", err)
	}
}

// countingImage counts the reads of its layers' contents.
type countingImage struct {
	v1.Image
	reads *int
}

func (c countingImage) Layers() ([]v1.Layer, error) {
	ls, err := c.Image.Layers()
	for i, l := range ls {
		ls[i] = countingLayer{l, c.reads}
	}
	return ls, err
}

type countingLayer struct {
	v1.Layer
	reads *int
}

func (c countingLayer) Uncompressed() (io.ReadCloser, error) {
	*c.reads++
	return c.Layer.Uncompressed()
}

// TestScanRemembersLayers: a layer read in full is not read again by the
// same Scanner, and its findings still count, at the layer's index in each
// image, under each scan's own allowlist.
func TestScanRemembersLayers(t *testing.T) {
	key := scantest.PrivateKeyPEM(t)
	base := scantest.WithLayer(t, empty.Image, map[string]string{"etc/passwd": "root:x:0:0::/root:/bin/sh\n"})
	withKey := scantest.WithLayer(t, base, map[string]string{"app/deploy.key": key})
	s, err := New()
	if err != nil {
		t.Fatal(err)
	}
	reads := 0
	img := countingImage{withKey, &reads}
	for i := range 3 {
		_, err := s.Scan(t.Context(), []v1.Image{img}, []v1.Image{base})
		if !strings.Contains(fmt.Sprint(err), "/app/deploy.key (layer 2): a PEM private key") {
			t.Fatalf("scan %d: %v, want the key found in layer 2", i, err)
		}
	}
	if reads != 1 {
		t.Errorf("the layer was read %d times in 3 scans, want once", reads)
	}
	// From scratch the same layer is layer 2 of 2 and still found; the base
	// layer is read once more (it was the base's before).
	if _, err := s.Scan(t.Context(), []v1.Image{img}, nil); !strings.Contains(fmt.Sprint(err), "(layer 2)") {
		t.Errorf("scan from scratch: %v, want the key in layer 2", err)
	}
	if reads != 2 {
		t.Errorf("reads = %d after a scan from scratch, want 2 (the base layer only)", reads)
	}
}

// TestScanRemembersOnlyWholeLayers: a layer scanned after the budget ran
// out may have files that were checked by name only, so it is not
// remembered, and a later scan with budget left reads it and finds what it
// holds.
func TestScanRemembersOnlyWholeLayers(t *testing.T) {
	key := scantest.PrivateKeyPEM(t)
	big := scantest.WithLayer(t, empty.Image, map[string]string{"app/big.txt": strings.Repeat("x", 5000)})
	notes := map[string]string{"app/notes.txt": key + strings.Repeat("x", 5000)}
	both := scantest.WithLayer(t, big, notes)
	notesOnly := scantest.WithLayer(t, empty.Image, notes)
	s, err := New()
	if err != nil {
		t.Fatal(err)
	}
	s.budget = 4096 // neither file fits
	warnings, err := s.Scan(t.Context(), []v1.Image{both}, nil)
	if err != nil || !strings.Contains(strings.Join(warnings, "\n"), "/app/big.txt and later files were checked by name only") {
		t.Fatalf("scan over the budget = %q, %v; want only a warning that the files were checked by name only", warnings, err)
	}
	l1, _ := both.Layers()
	l2, _ := notesOnly.Layers()
	d1, _ := l1[1].DiffID()
	d2, _ := l2[0].DiffID()
	if d1 != d2 {
		t.Fatalf("the notes layers differ (%s, %s): the test needs one layer in both images", d1, d2)
	}
	s.budget = maxScanBytes
	if _, err := s.Scan(t.Context(), []v1.Image{notesOnly}, nil); !strings.Contains(fmt.Sprint(err), "/app/notes.txt") {
		t.Fatalf("the notes layer scanned again with budget left: %v, want the key found (a partly read layer must not be remembered)", err)
	}
}
