// Command hallmark-tsa runs sigstore's timestamp authority API server
// (github.com/sigstore/timestamp-authority/v2, the version in this module's
// go.mod) with a file signer, for Hallmark's dev stack and e2e tests.
//
// It exists because the upstream timestamp-server binary always binds its
// metrics listener to the fixed address :2112, so two stacks (a developer's
// `hallmark dev up` and `make e2e`) cannot run on one host. This wrapper
// serves the same REST API, configured the same way, without that listener.
package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/sigstore/timestamp-authority/v2/pkg/log"
	"github.com/sigstore/timestamp-authority/v2/pkg/server"
	"github.com/spf13/viper"
)

func main() {
	host := flag.String("host", "127.0.0.1", "address to listen on")
	port := flag.Uint("port", 3000, "port to listen on")
	key := flag.String("file-signer-key-path", "", "PEM private key of the timestamping certificate")
	chain := flag.String("certificate-chain-path", "", "PEM chain: timestamping certificate first, root last")
	flag.Parse()
	if *key == "" || *chain == "" {
		fmt.Fprintln(os.Stderr, "hallmark-tsa: --file-signer-key-path and --certificate-chain-path are required")
		os.Exit(2)
	}
	log.ConfigureLogger("prod")
	for k, v := range map[string]any{
		"timestamp-signer":          "file",
		"timestamp-signer-hash":     "sha256",
		"file-signer-key-path":      *key,
		"certificate-chain-path":    *chain,
		"enforce-intermediate-eku":  true,
		"include-chain-in-response": false,
		"allow-custom-extensions":   false,
		"default-policy-oid":        "1.3.6.1.4.1.57264.2",
		"accepted-policy-oids":      []string{"1.3.6.1.4.1.57264.2"},
	} {
		viper.Set(k, v)
	}
	srv := server.NewRestAPIServer(*host, int(*port), []string{"http"}, false, 10*time.Second, 10*time.Second)
	defer srv.Shutdown()
	if err := srv.Serve(); err != nil {
		fmt.Fprintln(os.Stderr, "hallmark-tsa:", err)
		os.Exit(1)
	}
}
