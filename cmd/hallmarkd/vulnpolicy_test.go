package main

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hallmark-dev/hallmark/internal/config"
	"github.com/hallmark-dev/hallmark/vuln"
)

func TestVulnPolicy(t *testing.T) {
	vex := filepath.Join(t.TempDir(), "app.vex.json")
	if err := os.WriteFile(vex, []byte(`{"@context":"https://openvex.dev/ns/v0.2.0","@id":"x","statements":[
	  {"vulnerability":{"name":"CVE-2024-45337"},"products":[{"@id":"pkg:golang/golang.org/x/crypto"}],"status":"not_affected","justification":"vulnerable_code_not_in_execute_path"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := vulnPolicy(config.VulnerabilitiesConfig{
		FailOn: "critical", OnlyFixed: true, MaxDatabaseAge: config.Duration(24 * time.Hour),
		Exceptions: []config.VulnException{{Advisory: "GHSA-v778-237x-gjrc", Reason: "no ssh", Expires: "2027-01-31"}},
		VEX:        []string{vex},
	}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if p.FailOn != vuln.Critical || !p.OnlyFixed || p.MaxDatabaseAge != 24*time.Hour || len(p.Exceptions) != 2 ||
		p.Exceptions[0].By != vuln.ByPolicy || !p.Exceptions[0].Expires.Equal(time.Date(2027, 1, 31, 0, 0, 0, 0, time.UTC)) || p.Exceptions[1].By != vuln.ByVEX {
		t.Errorf("policy %+v", p)
	}

	_, err = vulnPolicy(config.VulnerabilitiesConfig{FailOn: "none", VEX: []string{filepath.Join(t.TempDir(), "missing.json")}}, slog.New(slog.DiscardHandler))
	if err == nil || !strings.Contains(err.Error(), "policy.vulnerabilities.vex[0]") {
		t.Errorf("missing VEX file: %v", err)
	}
}
