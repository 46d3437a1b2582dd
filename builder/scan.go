package builder

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

// WithSecretScanAllowPaths lets the secret scan accept findings at paths
// that match one of patterns: absolute paths in the image ("/etc/ssl/private/*",
// "/app/**/fixtures/**"; a leading "/" is implied), or "env:NAME" and
// "label:KEY" for the image's environment and labels. Patterns use the
// syntax of WithBaseImageAllow. Accepted findings become build warnings,
// recorded in the provenance. The default is none.
func WithSecretScanAllowPaths(patterns ...string) Option {
	return func(o *options) error {
		norm := make([]string, len(patterns))
		for i, p := range patterns {
			norm[i] = normalizeAllowPath(p)
		}
		g, err := glob.CompileAll("secret scan allow path", norm)
		if err != nil {
			return err
		}
		o.secretAllow = append(o.secretAllow, g...)
		return nil
	}
}

// normalizeAllowPath adds the implied leading "/" to a path pattern.
func normalizeAllowPath(p string) string {
	if p == "" || strings.HasPrefix(p, "/") || strings.HasPrefix(p, "env:") || strings.HasPrefix(p, "label:") {
		return p
	}
	return "/" + p
}

// WithoutSecretScanUnsafe turns off the scan of built images for secrets.
// Dangerous: an image with a private key or token in a layer gets tagged
// and published; every build then carries a warning saying so. The default
// is to scan every image before it is attested and tagged.
func WithoutSecretScanUnsafe() Option {
	return func(o *options) error { o.noSecretScan = true; return nil }
}

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

// scanner applies the secret rules to layers and configs, within a budget.
type scanner struct {
	budget    int64  // content bytes left
	exhausted string // the first path not content-scanned for the budget
	findings  []finding
}

func newScanner() *scanner { return &scanner{budget: maxScanBytes} }

// scanLayer reads an uncompressed layer tar.
func (s *scanner) scanLayer(r io.Reader, layer int) error {
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
func (s *scanner) scanFile(p string, size int64, r io.Reader, layer int) error {
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
func (s *scanner) scanConfig(env []string, labels map[string]string, baseEnv map[string]bool, baseLabels map[string]string) {
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
// as warnings, and an error for the rest, which wraps hallmark.ErrInvalid.
func (s *scanner) verdict(allow []glob.Pattern) ([]string, error) {
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
	more := ""
	if len(blocked) > maxReportedFindings {
		more = fmt.Sprintf("; and %d more", len(blocked)-maxReportedFindings)
		blocked = blocked[:maxReportedFindings]
	}
	return warnings, fmt.Errorf("%w: the image holds what looks like secrets (values are never shown): %s%s; remove them from the image (pass build secrets with --secret: they are mounted for a RUN step, never stored in a layer), or, for a false positive, ask the gateway's operator to allow the path",
		hallmark.ErrInvalid, strings.Join(blocked, "; "), more)
}
