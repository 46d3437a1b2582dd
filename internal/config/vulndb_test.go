package config

import (
	"strings"
	"testing"
	"time"
)

func TestVulnDBConfig(t *testing.T) {
	if c := Default(); c.VulnDB.MaxImportBytes != 512<<20 || time.Duration(c.VulnDB.Refresh) != time.Minute {
		t.Errorf("default vulndb = %+v, want 512 MiB and 1m", c.VulnDB)
	}
	for _, tt := range []struct {
		name, yaml, want string
	}{
		{"set", "vulndb: {maxImportBytes: 1073741824, refresh: 5m}\n", ""},
		{"import too small", "vulndb: {maxImportBytes: 1000}\n", "vulndb.maxImportBytes: 1000 is not between 1 MiB and 16 GiB"},
		{"import too large", "vulndb: {maxImportBytes: 17179869185}\n", "vulndb.maxImportBytes"},
		{"refresh too short", "vulndb: {refresh: 100ms}\n", "vulndb.refresh: 100ms is not between 1s and 24h"},
		{"refresh too long", "vulndb: {refresh: 48h}\n", "vulndb.refresh"},
		{"relative source", "vulndb: {sources: [/var/lib/osv, osv/Go-all.zip]}\n", `vulndb.sources[1]: "osv/Go-all.zip" is not an absolute path`},
		{"url sources", "vulndb: {maxImportBytes: 1073741824, refresh: 5m, sources: [\"https://osv-vulnerabilities.storage.googleapis.com/Go/all.zip\", \"http://127.0.0.1:8080/Debian/all.zip\"]}\n", ""},
		{"http source", "vulndb: {sources: [\"http://mirror.example/Go/all.zip\"]}\n", "vulndb.sources[0]: http://mirror.example…: only https URLs (or http on loopback) are fetched"},
		{"credentials in a source", "vulndb: {sources: [\"https://u:pw@mirror.example/Go/all.zip\"]}\n", "carries user information"},
		{"unknown field", "vulndb: {source: /x}\n", "source"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(writeConfig(t, tt.yaml+issuers))
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("Load: %v", err)
			case tt.want == "" && (c.VulnDB.MaxImportBytes != 1<<30 || time.Duration(c.VulnDB.Refresh) != 5*time.Minute):
				t.Errorf("vulndb = %+v", c.VulnDB)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("Load = %v, want %q", err, tt.want)
			}
		})
	}
}
