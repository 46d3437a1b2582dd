package config

import (
	"strings"
	"testing"
	"time"
)

func TestVulnerabilitiesConfig(t *testing.T) {
	c, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	if v := c.Policy.Vulnerabilities; v.FailOn != "none" || v.OnlyFixed || v.MaxDatabaseAge != 0 || len(v.Exceptions) != 0 || len(v.VEX) != 0 {
		t.Errorf("default vulnerabilities = %+v", v)
	}
	c, err = Load(writeConfig(t, issuers+`
policy:
  vulnerabilities:
    failOn: critical
    onlyFixed: true
    maxDatabaseAge: 24h
    exceptions:
      - advisory: CVE-2024-45337
        package: pkg:golang/golang.org/x/crypto
        reason: the image runs no SSH server
        expires: "2027-01-31"
      - advisory: GHSA-v778-237x-gjrc
        reason: accepted until the next release
        expires: "2027-01-31T12:00:00Z"
    vex: [/etc/hallmark/app.vex.json]
`))
	if err != nil {
		t.Fatal(err)
	}
	v := c.Policy.Vulnerabilities
	if v.FailOn != "critical" || !v.OnlyFixed || time.Duration(v.MaxDatabaseAge) != 24*time.Hour || len(v.Exceptions) != 2 ||
		v.Exceptions[0].Package != "pkg:golang/golang.org/x/crypto" || len(v.VEX) != 1 {
		t.Errorf("vulnerabilities = %+v", v)
	}
	// A file that sets only exceptions keeps the default failOn.
	c, err = Load(writeConfig(t, issuers+"policy:\n  vulnerabilities:\n    onlyFixed: true\n"))
	if err != nil || c.Policy.Vulnerabilities.FailOn != "none" {
		t.Errorf("failOn = %q, %v; want the default none", c.Policy.Vulnerabilities.FailOn, err)
	}
}

func TestVulnerabilitiesConfigMistakes(t *testing.T) {
	const pre = "policy:\n  vulnerabilities:\n"
	tests := []struct {
		name string
		yaml string
		want []string
	}{
		{name: "unknown level", yaml: pre + "    failOn: severe\n", want: []string{`policy.vulnerabilities.failOn: "severe" is not critical, high, medium, low or none`}},
		{name: "negative age", yaml: pre + "    maxDatabaseAge: -1h\n", want: []string{"policy.vulnerabilities.maxDatabaseAge: must not be negative"}},
		{name: "bad age", yaml: pre + "    maxDatabaseAge: 1 day\n", want: []string{"want a duration", "maxDatabaseAge"}},
		{name: "exception in field order", yaml: pre + "    exceptions:\n      - {advisory: \"CVE 1\", package: \"pkg:\", reason: \" \"}\n",
			want: []string{
				`policy.vulnerabilities.exceptions[0].advisory: "CVE 1" is not an advisory id`,
				`policy.vulnerabilities.exceptions[0].package: "pkg:" is not a package URL`,
				"policy.vulnerabilities.exceptions[0].reason: is required",
				"policy.vulnerabilities.exceptions[0].expires: is required",
			}},
		{name: "bad expiry", yaml: pre + "    exceptions:\n      - {advisory: CVE-2024-1, reason: r, expires: next week}\n",
			want: []string{`policy.vulnerabilities.exceptions[0].expires: "next week" is not an RFC 3339 date`}},
		{name: "package with spaces", yaml: pre + "    exceptions:\n      - {advisory: CVE-2024-1, package: \"a b\", reason: r, expires: 2027-01-01}\n",
			want: []string{`policy.vulnerabilities.exceptions[0].package: "a b" is not a purl or package name`}},
		{name: "empty vex path", yaml: pre + "    vex: [\"\"]\n", want: []string{"policy.vulnerabilities.vex[0]: empty path"}},
		{name: "signed vex", yaml: pre + "    signedVex:\n      - {document: /etc/vex.json, signers: [{issuer: https://accounts.example}]}\n",
			want: []string{
				"policy.vulnerabilities.signedVex[0].bundle: is required",
				"policy.vulnerabilities.signedVex[0].signers[0]: needs issuer and subjectAlternativeName",
			}},
		{name: "unknown field", yaml: pre + "    failOnSeverity: high\n", want: []string{"policy.vulnerabilities.failOnSeverity: unknown field"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(writeConfig(t, tt.yaml+issuers))
			if err == nil {
				t.Fatal("Load succeeded")
			}
			last := -1
			for _, w := range tt.want {
				i := strings.Index(err.Error(), w)
				if i < 0 {
					t.Errorf("error %q does not contain %q", err, w)
				} else if i < last {
					t.Errorf("%q is out of field order in %q", w, err)
				}
				last = i
			}
		})
	}
}
