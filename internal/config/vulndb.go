package config

import (
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"time"
)

// VulnDBConfig configures the advisory database builds are matched
// against: what `hallmark vulndb import` (VulnDBService.Import) may load
// and how often the gateway looks for imports by other replicas
// (docs/vulnerabilities.md, "Loading advisories").
type VulnDBConfig struct {
	// MaxImportBytes bounds one imported file (a JSON record or a zip
	// archive such as osv.dev's all.zip), spooled under dataDir while it
	// is read. The default is 512 MiB.
	MaxImportBytes int64 `json:"maxImportBytes"`
	// Refresh is how often the gateway reads the store for imports other
	// replicas recorded, so that replicas sharing a store converge, reads
	// Sources for new files, and matches the images other replicas
	// recorded (its own imports and builds are matched at once). The
	// default is 1m.
	Refresh Duration `json:"refresh"`
	// Sources are absolute paths of advisory files, or of directories
	// whose .json and .zip files (hidden entries skipped) are each
	// imported, as `hallmark vulndb import` would, or https URLs of
	// advisory files (http only on loopback; osv.dev's
	// https://osv-vulnerabilities.storage.googleapis.com/<Ecosystem>/all.zip
	// or a mirror), downloaded again only when the server says they
	// changed: imported when no recorded import has their sha256, at start
	// and every Refresh. A file that is refused is logged and tried again
	// once it changes. The default is none.
	Sources []string `json:"sources,omitempty"`
}

// Defaults of vulndb.
const (
	DefaultVulnDBMaxImportBytes = 512 << 20
	DefaultVulnDBRefresh        = Duration(time.Minute)
)

func (c Config) validateVulnDB(v *validation) {
	if n := c.VulnDB.MaxImportBytes; n < 1<<20 || n > 16<<30 {
		v.bad("vulndb.maxImportBytes", "%d is not between 1 MiB and 16 GiB", n)
	}
	if d := time.Duration(c.VulnDB.Refresh); d < time.Second || d > 24*time.Hour {
		v.bad("vulndb.refresh", "%s is not between 1s and 24h", d)
	}
	for i, p := range c.VulnDB.Sources {
		field := fmt.Sprintf("vulndb.sources[%d]", i)
		_, isURL, err := VulnSourceURL(p)
		switch {
		case err != nil:
			v.bad(field, "%v", err)
		case !isURL && !filepath.IsAbs(p):
			v.bad(field, "%q is not an absolute path or a URL", p)
		}
	}
}

// VulnSourceURL reads a vulndb source that is a URL ("scheme://…"; isURL
// is false for a path): it must be https, or http to a loopback host (a
// mirror on the same machine), and carry no user information. The gateway
// checks every redirect of a download with it too.
func VulnSourceURL(s string) (u *url.URL, isURL bool, err error) {
	if !strings.Contains(s, "://") {
		return nil, false, nil
	}
	u, err = url.Parse(s)
	switch {
	case err != nil || u.Host == "":
		return nil, true, fmt.Errorf("%q is not a URL", s)
	case u.User != nil:
		return nil, true, fmt.Errorf("%s carries user information: serve the files without credentials", u.Redacted())
	case u.Scheme != "https" && (u.Scheme != "http" || !IsLoopback(u.Hostname())):
		return nil, true, fmt.Errorf("%s://%s…: only https URLs (or http on loopback) are fetched", u.Scheme, u.Host)
	}
	return u, true, nil
}
