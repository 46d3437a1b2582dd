package gctune

import (
	"os"
	"runtime/debug"
)

func init() { Tune(os.Getenv) }

// Tune sets the collector's growth to 400% and a soft memory limit of
// 1 GiB, each unless getenv names GOGC or GOMEMLIMIT.
func Tune(getenv func(string) string) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	if getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(1 << 30)
	}
}
