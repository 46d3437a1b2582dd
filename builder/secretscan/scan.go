package secretscan

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"path"
	"slices"
	"strings"

	hallmark "github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/internal/glob"
)

// Bounds of the secret scan of one image.
const (
	// maxScanFileBytes is the largest file whose content is scanned;
	// larger files are checked by name only.
	maxScanFileBytes = 1 << 20
	// maxScanBytes bounds the file content scanned per build; files after
	// it are checked by name only, and the build gets a warning.
	maxScanBytes = 256 << 20
	// binarySniffBytes is how much of a file is looked at for a NUL byte;
	// binary files are not content-scanned.
	binarySniffBytes = 8 << 10
	// maxReportedFindings bounds the findings named in one error.
	maxReportedFindings = 10
)

// finding is one thing in an image that looks like a secret. It never
// holds the secret.
type finding struct {
	where string // "/path/in/image", "env:NAME" or "label:KEY"
	layer int    // 1-based layer index, 0 for the config
	rule  string
	what  string
}

func (f finding) String() string {
	if f.layer > 0 {
		return fmt.Sprintf("%s (layer %d): %s [rule %s]", f.where, f.layer, f.what, f.rule)
	}
	return fmt.Sprintf("%s: %s [rule %s]", f.where, f.what, f.rule)
}

// scan applies the secret rules to the layers and configs of one image,
// within a budget.
type scan struct {
	budget    int64  // content bytes left
	exhausted string // the first path not content-scanned for the budget
	findings  []finding
}

func newScan() *scan { return &scan{budget: maxScanBytes} }

// scanLayer reads an uncompressed layer tar.
func (s *scan) scanLayer(r io.Reader, layer int) error {
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read layer %d: %w", layer, err)
		}
		if hdr.Typeflag != tar.TypeReg || strings.HasPrefix(path.Base(hdr.Name), ".wh.") {
			continue
		}
		if err := s.scanFile(path.Clean("/"+hdr.Name), hdr.Size, tr, layer); err != nil {
			return fmt.Errorf("read layer %d: %w", layer, err)
		}
	}
}

// scanFile checks one regular file of size bytes, read from r.
func (s *scan) scanFile(p string, size int64, r io.Reader, layer int) error {
	if size <= 0 {
		return nil
	}
	base := path.Base(p)
	var named []fileRule
	needContent := !isFixture(p) && size <= maxScanFileBytes
	contentRules := needContent
	for _, fr := range fileRules {
		if fr.match(p, base) {
			named = append(named, fr)
			needContent = needContent || fr.content != nil
		}
	}
	var data []byte
	if needContent {
		n := min(size, maxScanFileBytes)
		if n > s.budget {
			if s.exhausted == "" {
				s.exhausted = p
			}
			contentRules = false
		} else {
			s.budget -= n
			data = make([]byte, n)
			if _, err := io.ReadFull(r, data); err != nil {
				return fmt.Errorf("read %s: %w", p, err)
			}
		}
	}
	for _, fr := range named {
		if fr.content == nil || (data != nil && fr.content.Match(data)) {
			s.findings = append(s.findings, finding{where: p, layer: layer, rule: fr.id, what: fr.what})
		}
	}
	if !contentRules || data == nil || bytes.IndexByte(data[:min(len(data), binarySniffBytes)], 0) >= 0 || !contentHint.Match(data) {
		return nil
	}
	if vr, ok := findValue(fileValueRules, data); ok {
		s.findings = append(s.findings, finding{where: p, layer: layer, rule: vr.id, what: vr.what})
	}
	return nil
}

// scanConfig checks the environment variables and labels that the build
// added to those of the runtime base (baseEnv holds its "K=V" entries).
func (s *scan) scanConfig(env []string, labels map[string]string, baseEnv map[string]bool, baseLabels map[string]string) {
	for _, e := range env {
		if baseEnv[e] {
			continue
		}
		k, v, _ := strings.Cut(e, "=")
		if v == "" {
			continue
		}
		if why, ok := credentialName(k); ok {
			s.findings = append(s.findings, finding{where: "env:" + k, rule: "credential-name", what: "a credential-like variable name (" + why + ")"})
		} else if vr, ok := findValue(valueRules, []byte(v)); ok {
			s.findings = append(s.findings, finding{where: "env:" + k, rule: vr.id, what: vr.what})
		}
	}
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		if bv, ok := baseLabels[k]; ok && bv == labels[k] {
			continue
		}
		if vr, ok := findValue(valueRules, []byte(labels[k])); ok {
			s.findings = append(s.findings, finding{where: "label:" + k, rule: vr.id, what: vr.what})
		}
	}
}

// verdict splits the findings into those the allowlist accepts, returned
// as warnings, and a *FindingsError for the rest.
func (s *scan) verdict(allow []glob.Pattern) ([]string, error) {
	var warnings, blocked []string
	seen := map[string]bool{}
	for _, f := range s.findings {
		key := f.String()
		if seen[key] {
			continue
		}
		seen[key] = true
		if by, ok := glob.First(allow, f.where); ok {
			warnings = append(warnings, fmt.Sprintf("HallmarkSecretScan: allowed by the gateway's allowlist (%s): %s", by, key))
			continue
		}
		blocked = append(blocked, key)
	}
	if s.exhausted != "" {
		warnings = append(warnings, fmt.Sprintf("HallmarkSecretScan: scanned the first %d MiB of file content; %s and later files were checked by name only", maxScanBytes>>20, s.exhausted))
	}
	if len(blocked) == 0 {
		return warnings, nil
	}
	return warnings, &FindingsError{Refused: blocked}
}

// FindingsError is the error for an image that holds what looks like
// secrets the allowlist does not accept. It wraps hallmark.ErrInvalid. Its
// message names the first findings and never a secret.
type FindingsError struct {
	// Refused are the findings, each as "where (layer N): what [rule id]"
	// or, for the config, "where: what [rule id]"; where is a path in the
	// image, "env:NAME" or "label:KEY".
	Refused []string
}

func (e *FindingsError) Error() string {
	shown, more := e.Refused, ""
	if len(shown) > maxReportedFindings {
		more = fmt.Sprintf("; and %d more", len(shown)-maxReportedFindings)
		shown = shown[:maxReportedFindings]
	}
	return fmt.Sprintf("%v: the image holds what looks like secrets (values are never shown): %s%s; remove them from the image (pass build secrets with --secret: they are mounted for a RUN step, never stored in a layer), or, for a false positive, ask the gateway's operator to allow the path",
		hallmark.ErrInvalid, strings.Join(shown, "; "), more)
}

// Unwrap returns hallmark.ErrInvalid.
func (e *FindingsError) Unwrap() error { return hallmark.ErrInvalid }
