package pool

import (
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"slices"
)

// score is the rendezvous weight of addr for key: the first 8 bytes of
// SHA-256(key NUL addr). It is the same in every process, so every gateway
// replica places a key on the same worker.
func score(key, addr string) uint64 {
	h := sha256.New()
	h.Write([]byte(key))
	h.Write([]byte{0})
	h.Write([]byte(addr))
	return binary.BigEndian.Uint64(h.Sum(nil))
}

// rank sorts workers by their score for key, highest first; equal scores
// (never expected) fall back to the address.
func rank(key string, workers []*Worker) []*Worker {
	type scored struct {
		w *Worker
		s uint64
	}
	s := make([]scored, len(workers))
	for i, w := range workers {
		s[i] = scored{w, score(key, w.addr)}
	}
	slices.SortFunc(s, func(a, b scored) int {
		if c := cmp.Compare(b.s, a.s); c != 0 {
			return c
		}
		return cmp.Compare(a.w.addr, b.w.addr)
	})
	out := make([]*Worker, len(s))
	for i := range s {
		out[i] = s[i].w
	}
	return out
}
