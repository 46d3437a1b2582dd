package main

import (
	"runtime/debug"
	"strconv"
	"strings"
)

// gcPercent is the collector's target unless GOGC is set: a reviewed Pod
// allocates mostly short-lived decoding garbage, and collecting at fourfold
// rather than twofold heap growth serves about a sixth more admission
// reviews per core (docs/performance.md).
const gcPercent = 300

// cgroupMemoryFiles hold the container's memory limit: cgroup v2, then v1.
var cgroupMemoryFiles = []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"}

// tuneGC sets the collector's target and, in a container with a memory
// limit, a soft memory limit at 90% of it, so that the larger target never
// costs an out-of-memory kill: near the limit the collector runs more
// often instead. GOGC and GOMEMLIMIT, when set, win. It returns the limit
// it set, or 0.
func tuneGC(getenv func(string) string, readFile func(string) ([]byte, error)) int64 {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	if getenv("GOMEMLIMIT") != "" {
		return 0
	}
	for _, f := range cgroupMemoryFiles {
		data, err := readFile(f)
		if err != nil {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSpace(string(data)), 10, 64)
		if err != nil || n <= 0 || n >= 1<<60 { // "max", or v1's "no limit"
			return 0
		}
		limit := n / 10 * 9
		debug.SetMemoryLimit(limit)
		return limit
	}
	return 0
}
