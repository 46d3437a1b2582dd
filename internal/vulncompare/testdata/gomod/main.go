// Command vulnfixture links modules with published advisories for the
// comparison with osv-scalibr: golang.org/x/crypto v0.30.0
// (GO-2024-3321 and others), golang.org/x/text v0.3.7 (GO-2022-1059) and
// golang.org/x/net at a 2022 pseudo-version (GO-2022-0969, fixed in a
// pseudo-version, and others fixed in tagged versions).
package main

import (
	"fmt"

	"golang.org/x/crypto/ssh"
	"golang.org/x/net/idna"
	"golang.org/x/text/language"
)

func main() {
	cfg := &ssh.ServerConfig{NoClientAuth: true}
	tag, err := language.Parse("en-US")
	host, herr := idna.ToASCII("bücher.example")
	fmt.Println(cfg.NoClientAuth, tag, err, host, herr)
}
