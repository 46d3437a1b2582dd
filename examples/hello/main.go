// Command hello is Hallmark's example image: a static Go binary on the
// minimal hallmark/static base, running as a non-root user.
package main

import (
	"fmt"
	"os"
	"runtime"
)

func main() {
	fmt.Printf("hello from a Hallmark-built image (%s, uid %d)\n", runtime.Version(), os.Getuid())
}
