package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/hallmark-dev/hallmark/attest"
	"github.com/hallmark-dev/hallmark/internal/config"
	"github.com/hallmark-dev/hallmark/server"
	"github.com/hallmark-dev/hallmark/vuln"
)

// The gateway's attester signs the scan: server.New refuses a vulnerability
// policy with an attester that cannot.
var _ server.PredicateAttester = (*attest.Attester)(nil)

// vulnPolicy is the build policy of policy.vulnerabilities, with its
// OpenVEX documents read; it warns about a policy that never fails a
// build and about VEX statements it skips.
func vulnPolicy(c config.VulnerabilitiesConfig, log *slog.Logger) (vuln.Policy, error) {
	level, err := vuln.ParseLevel(c.FailOn)
	if err != nil {
		return vuln.Policy{}, fmt.Errorf("policy.vulnerabilities.failOn: %w", err)
	}
	p := vuln.Policy{FailOn: level, OnlyFixed: c.OnlyFixed, MaxDatabaseAge: time.Duration(c.MaxDatabaseAge)}
	if level == vuln.None {
		log.Warn("policy.vulnerabilities.failOn is none: vulnerable images are attested, never refused")
	}
	for i, e := range c.Exceptions {
		expires, err := config.ParseExpiry(e.Expires)
		if err != nil {
			return vuln.Policy{}, fmt.Errorf("policy.vulnerabilities.exceptions[%d].expires: %w", i, err)
		}
		if !time.Now().Before(expires) {
			log.Warn("a vulnerability exception has expired and is ignored", "advisory", e.Advisory, "expires", e.Expires)
		}
		p.Exceptions = append(p.Exceptions, vuln.Exception{Advisory: e.Advisory, Package: e.Package, Reason: e.Reason, Expires: expires, By: vuln.ByPolicy})
	}
	for i, path := range c.VEX {
		data, err := readBounded(path, vuln.MaxVEXBytes)
		if err != nil {
			return vuln.Policy{}, fmt.Errorf("policy.vulnerabilities.vex[%d]: %w", i, err)
		}
		ex, warnings, err := vuln.ParseOpenVEX(path, data)
		if err != nil {
			return vuln.Policy{}, fmt.Errorf("policy.vulnerabilities.vex[%d]: %w", i, err)
		}
		for _, w := range warnings {
			log.Warn(w)
		}
		p.Exceptions = append(p.Exceptions, ex...)
		log.Info("VEX document read", "path", path, "exceptions", len(ex))
	}
	return p, nil
}

// readBounded reads a file of at most limit bytes (one more is an error).
func readBounded(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, limit)
	}
	return data, nil
}
