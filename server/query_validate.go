package server

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/go-containerregistry/pkg/name"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	hallmark "github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/store"
)

// Limits of QueryService request fields.
const (
	// maxQueryRefBytes bounds the repository, base, package and image
	// filters.
	maxQueryRefBytes = 512
	// maxSubjectBytes bounds the subject filter.
	maxSubjectBytes = 512
	// maxBuildIDBytes bounds a build id.
	maxBuildIDBytes = 128
	// maxPageTokenBytes bounds a page token; the store's cursors are far
	// shorter.
	maxPageTokenBytes = 2048
)

var (
	// pageTokenRE is the alphabet of the store's cursors (unpadded
	// base64url).
	pageTokenRE = regexp.MustCompile(`^[A-Za-z0-9_-]*$`)
	// buildIDRE is the alphabet of build ids ("b-20260102T030405-1a2b3c4d").
	buildIDRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]*$`)
	// auditKinds are the kinds ListAudit filters by.
	auditKinds = []string{store.KindBuild, store.KindBase, store.KindVerify, store.KindAdmission,
		store.KindTag, store.KindPush, store.KindPull, store.KindDelete, store.KindImport}
)

// noUnknownFields rejects a request that carries fields this gateway does
// not know: a misspelt filter must not widen a query silently. (JSON
// requests are decoded strictly; see strictJSON.)
func noUnknownFields(m proto.Message) error {
	if len(m.ProtoReflect().GetUnknown()) > 0 {
		return invalid("request", "unknown fields: this gateway's QueryService does not know them")
	}
	return nil
}

// page validates a page size and token.
func page(size int32, token string) (store.Page, error) {
	if size < 0 || size > store.MaxLimit {
		return store.Page{}, invalid("page_size", "%d: want 0 (for %d) to %d", size, store.DefaultLimit, store.MaxLimit)
	}
	if len(token) > maxPageTokenBytes || !pageTokenRE.MatchString(token) {
		return store.Page{}, invalid("page_token", "malformed: pass the next_page_token of the page before, unchanged")
	}
	return store.Page{Limit: int(size), Cursor: token}, nil
}

// checkText checks that v is valid UTF-8 of at most limit bytes without
// control characters.
func checkText(field, v string, limit int) error {
	switch {
	case len(v) > limit:
		return invalid(field, "%d bytes, over the %d-byte limit", len(v), limit)
	case !utf8.ValidString(v):
		return invalid(field, "not valid UTF-8")
	case strings.IndexFunc(v, unicode.IsControl) >= 0:
		return invalid(field, "contains control characters")
	}
	return nil
}

// checkWord is checkText for a value without whitespace, quotes,
// backslashes or semicolons: no subject, package name or version needs
// them, and a filter that has them is a mistake or a probe.
func checkWord(field, v string, limit int) error {
	if err := checkText(field, v, limit); err != nil {
		return err
	}
	if strings.IndexFunc(v, unicode.IsSpace) >= 0 || strings.ContainsAny(v, "'\"`\\;") {
		return invalid(field, "%q contains whitespace, quotes, backslashes or semicolons", hallmark.Clip(v, 100))
	}
	return nil
}

// repositoryFilter normalizes an optional "registry/repository" filter
// the way the gateway records repositories ("alpine" is
// "index.docker.io/library/alpine").
func repositoryFilter(field, v string) (string, error) {
	if v == "" {
		return "", nil
	}
	if err := checkText(field, v, maxQueryRefBytes); err != nil {
		return "", err
	}
	r, err := name.NewRepository(v)
	if err != nil {
		return "", invalid(field, "%q is not a repository, registry/repository", hallmark.Clip(v, 100))
	}
	return r.Name(), nil
}

// digestFilter checks an optional digest filter.
func digestFilter(field, v string) (hallmark.Digest, error) {
	if v == "" {
		return "", nil
	}
	d, err := hallmark.ParseDigest(v)
	if err != nil {
		return "", invalid(field, "%q is not sha256:<64 lowercase hex>", hallmark.Clip(v, 100))
	}
	return d, nil
}

// baseFilter reads ListImagesRequest.base: a digest, a reference by digest
// (its digest), or a reference by tag, normalized as the gateway records
// base references ("alpine:3.20" is "index.docker.io/library/alpine:3.20").
func baseFilter(v string) (hallmark.Digest, string, error) {
	if v == "" {
		return "", "", nil
	}
	if err := checkText("base", v, maxQueryRefBytes); err != nil {
		return "", "", err
	}
	d, ref, err := store.ParseBaseFilter(v)
	if err != nil {
		return "", "", fmt.Errorf("base: %w", err)
	}
	return d, ref, nil
}

// packageFilter reads ListImagesRequest.package: a purl, or NAME[@VERSION].
func packageFilter(v string) (*store.Package, error) {
	if v == "" {
		return nil, nil
	}
	if err := checkWord("package", v, maxQueryRefBytes); err != nil {
		return nil, err
	}
	p, err := store.ParsePackageFilter(v)
	if err != nil {
		return nil, fmt.Errorf("package: %w", err)
	}
	for _, part := range []string{p.Type, p.Namespace, p.Name, p.Version} {
		if err := checkWord("package", part, maxQueryRefBytes); err != nil {
			return nil, err
		}
	}
	return &p, nil
}

// kindsFilter checks ListAuditRequest.kinds.
func kindsFilter(kinds []string) ([]string, error) {
	if len(kinds) > len(auditKinds) {
		return nil, invalid("kinds", "%d kinds, but there are only %d", len(kinds), len(auditKinds))
	}
	for _, k := range kinds {
		if !slices.Contains(auditKinds, k) {
			return nil, invalid("kinds", "%q: want one of %s", hallmark.Clip(k, 50), strings.Join(auditKinds, ", "))
		}
	}
	return kinds, nil
}

// timeFilter reads an optional timestamp.
func timeFilter(field string, ts *timestamppb.Timestamp) (time.Time, error) {
	if ts == nil {
		return time.Time{}, nil
	}
	if err := ts.CheckValid(); err != nil {
		return time.Time{}, invalid(field, "not a valid timestamp")
	}
	return ts.AsTime(), nil
}
