// Command sshapp links golang.org/x/crypto/ssh v0.30.0, which the Go
// vulnerability database lists as affected by CVE-2024-45337 (fixed in
// v0.31.0): the e2e test of build-time vulnerability scanning builds it
// into an image.
package main

import (
	"fmt"
	"os"

	"golang.org/x/crypto/ssh"
)

func main() {
	cfg := &ssh.ClientConfig{
		User:            "e2e",
		HostKeyCallback: ssh.InsecureIgnoreHostKey(),
	}
	if _, err := ssh.ParsePublicKey(nil); err == nil {
		fmt.Fprintln(os.Stderr, "sshapp: an empty key parsed")
		os.Exit(1)
	}
	fmt.Println("sshapp: client config for", cfg.User)
}
