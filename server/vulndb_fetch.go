package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/hallmark-dev/hallmark/internal/config"
)

// fetchTimeout bounds one download of an advisory file.
const fetchTimeout = 10 * time.Minute

// checkSourceRedirect follows at most 5 redirects, each to a URL a source
// may name.
func checkSourceRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 5 {
		return errors.New("more than 5 redirects")
	}
	if _, _, err := config.VulnSourceURL(req.URL.String()); err != nil {
		return fmt.Errorf("redirected: %w", err)
	}
	return nil
}

// safeURL is u without its query and fragment, which may carry tokens: how
// a fetched source is named in logs and in the import's record.
func safeURL(u *url.URL) string {
	c := *u
	c.RawQuery, c.Fragment, c.User = "", "", nil
	return c.String()
}

// fetchState remembers a URL's validators, so that an unchanged file is
// not downloaded again.
type fetchState struct {
	etag, lastModified string
}

// importURL downloads one advisory file (unless the server says it did
// not change since the last download) into the spool directory and
// imports it unless an import already has its sha256.
func (v *VulnLoader) importURL(ctx context.Context, u *url.URL, known map[string]bool) error {
	ctx, cancel := context.WithTimeout(ctx, fetchTimeout)
	defer cancel()
	name := safeURL(u)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return err
	}
	st := v.fetched[u.String()]
	if st.etag != "" {
		req.Header.Set("If-None-Match", st.etag)
	}
	if st.lastModified != "" {
		req.Header.Set("If-Modified-Since", st.lastModified)
	}
	resp, err := v.client.Do(req)
	if err != nil {
		return fmt.Errorf("fetch %s: %w", name, redactURLError(err))
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusNotModified:
		return nil
	case http.StatusOK:
	default:
		return fmt.Errorf("fetch %s: %s", name, resp.Status)
	}
	if resp.ContentLength > v.maxBytes {
		return fmt.Errorf("fetch %s: %d bytes, over vulndb.maxImportBytes (%d)", name, resp.ContentLength, v.maxBytes)
	}
	f, err := os.CreateTemp(v.spool, "vulndb-fetch-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), io.LimitReader(resp.Body, v.maxBytes+1))
	if err != nil {
		return fmt.Errorf("fetch %s: %w", name, redactURLError(err))
	}
	if n > v.maxBytes {
		return fmt.Errorf("fetch %s: over vulndb.maxImportBytes (%d bytes)", name, v.maxBytes)
	}
	sum := hex.EncodeToString(h.Sum(nil))
	next := fetchState{etag: resp.Header.Get("ETag"), lastModified: resp.Header.Get("Last-Modified")}
	if known[sum] || v.failed[sum] {
		v.fetched[u.String()] = next
		return nil
	}
	imp, err := v.Import(ctx, sourcesActor, name, f, n)
	if err != nil {
		v.failed[sum] = true
		v.fetched[u.String()] = next
		return err
	}
	known[sum] = true
	v.fetched[u.String()] = next
	v.log.InfoContext(ctx, "advisories imported from vulndb.sources", "url", name, "records", imp.Records, "changed", imp.Changed)
	return nil
}

// redactURLError drops the URL (and its query) from a client error.
func redactURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
