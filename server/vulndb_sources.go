package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hallmark-dev/hallmark/internal/config"
)

// sourcesActor is the actor of the imports Run takes from vulndb.sources.
const sourcesActor = "hallmarkd vulndb.sources"

// WithVulnSources makes Run import, before each refresh, the advisory
// files at sources that no recorded import has (by sha256): files as they
// are, the .json and .zip files under directories (hidden entries
// skipped), each as an import of its own named by its path, and files at
// https URLs (http only on loopback), downloaded again only when the
// server says they changed (ETag, Last-Modified) and named by the URL
// without its query. The default is none.
func WithVulnSources(sources ...string) VulnLoaderOption {
	return func(v *VulnLoader) error {
		for _, p := range sources {
			u, isURL, err := config.VulnSourceURL(p)
			switch {
			case err != nil:
				return fmt.Errorf("vulndb source: %w", err)
			case isURL:
				v.urls = append(v.urls, u)
			case !filepath.IsAbs(p):
				return fmt.Errorf("vulndb source %q is not an absolute path or a URL", p)
			default:
				v.sources = append(v.sources, p)
			}
		}
		return nil
	}
}

// fileKey identifies a version of a file without reading it.
type fileKey struct {
	path    string
	size    int64
	modTime time.Time
}

// pollSources imports the files of the sources that are new, logging
// what fails; a file that failed is tried again only once it changes.
func (v *VulnLoader) pollSources(ctx context.Context) {
	if len(v.sources) == 0 && len(v.urls) == 0 {
		return
	}
	imports, err := v.st.VulnImports(ctx)
	if err != nil {
		v.log.WarnContext(ctx, "vulndb sources not read", "err", err)
		return
	}
	known := map[string]bool{}
	for _, imp := range imports {
		known[imp.SHA256] = true
	}
	for _, path := range sourceFiles(ctx, v.sources, v.log.WarnContext) {
		if ctx.Err() != nil {
			return
		}
		if err := v.importSource(ctx, path, known); err != nil {
			v.log.WarnContext(ctx, "vulndb source not imported", "path", path, "err", err)
		}
	}
	for _, u := range v.urls {
		if ctx.Err() != nil {
			return
		}
		if err := v.importURL(ctx, u, known); err != nil {
			v.log.WarnContext(ctx, "vulndb source not imported", "url", safeURL(u), "err", err)
		}
	}
}

// importSource imports one file unless its sha256 is known or it failed
// before unchanged.
func (v *VulnLoader) importSource(ctx context.Context, path string, known map[string]bool) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	key := fileKey{path, fi.Size(), fi.ModTime()}
	sum, ok := v.hashes[key]
	if !ok {
		h := sha256.New()
		if _, err := io.Copy(h, f); err != nil {
			return err
		}
		sum = hex.EncodeToString(h.Sum(nil))
		v.hashes[key] = sum
	}
	if known[sum] || v.failed[sum] {
		return nil
	}
	imp, err := v.Import(ctx, sourcesActor, path, f, fi.Size())
	if err != nil {
		v.failed[sum] = true
		return err
	}
	known[sum] = true
	v.log.InfoContext(ctx, "advisories imported from vulndb.sources", "path", path, "records", imp.Records, "changed", imp.Changed)
	return nil
}

// sourceFiles lists the files of sources, in order: files as they are,
// the .json and .zip files under directories.
func sourceFiles(ctx context.Context, sources []string, warn func(context.Context, string, ...any)) []string {
	var out []string
	for _, src := range sources {
		err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
			switch {
			case err != nil:
				return err
			case p == src && !d.IsDir():
				out = append(out, p)
			case p != src && strings.HasPrefix(d.Name(), "."):
				if d.IsDir() {
					return filepath.SkipDir
				}
			case d.Type().IsRegular() && (strings.HasSuffix(d.Name(), ".json") || strings.HasSuffix(d.Name(), ".zip")):
				out = append(out, p)
			}
			return nil
		})
		if err != nil {
			warn(ctx, "vulndb source not read", "path", src, "err", err)
		}
	}
	return out
}
