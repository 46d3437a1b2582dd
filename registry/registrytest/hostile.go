package registrytest

import (
	"net/http"
	"runtime"
	"strconv"
)

// Endless answers a request with a body that does not end: no
// Content-Length, 32 KiB chunks until the client hangs up or max bytes are
// written (a bound only so that a client that never hangs up cannot make
// the test run forever). It returns the bytes written.
func Endless(w http.ResponseWriter, contentType string, max int64) int64 {
	if contentType != "" {
		w.Header().Set("Content-Type", contentType)
	}
	chunk := make([]byte, 32<<10)
	for i := range chunk {
		chunk[i] = ' '
	}
	var n int64
	for n < max {
		m, err := w.Write(chunk)
		n += int64(m)
		if err != nil {
			break
		}
	}
	return n
}

// Huge answers a request with a Content-Length of size bytes and sends
// only a few of them.
func Huge(w http.ResponseWriter, contentType string, size int64) {
	if contentType != "" {
		w.Header().Set("Content-Type", contentType)
	}
	w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte("{}"))
}

// Allocated returns how many bytes the whole process allocated while f
// ran (runtime.MemStats.TotalAlloc): a loose bound on the memory a call
// needed, the test's registry included.
func Allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}
