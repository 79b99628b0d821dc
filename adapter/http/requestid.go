package http

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	mrand "math/rand/v2"
)

// requestIDs hands out request ids: a random prefix drawn once per process
// and 64 more random bits per request from math/rand/v2, e.g.
// "9f86d081884c7d65-2a1c0b7de39f4e11". They are unique without coordination
// between replicas, they do not tell a client how many requests came in
// between two of its own (a counter would), and the hot path takes no lock:
// Echo's default generator, a mutex around math/rand, was a measurable
// share of a cached token check. Request ids are not secrets; nothing needs
// them to be unpredictable.
type requestIDs struct {
	prefix []byte // hex of 8 random bytes and a '-'
}

func newRequestIDs() *requestIDs {
	var b [8]byte
	rand.Read(b[:]) // never fails (crypto/rand's documented contract)
	return &requestIDs{prefix: append(hex.AppendEncode(nil, b[:]), '-')}
}

// next returns a fresh id.
func (g *requestIDs) next() string {
	var buf [48]byte // prefix (17 bytes) and 16 hex digits, on the stack
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], mrand.Uint64())
	return string(hex.AppendEncode(append(buf[:0], g.prefix...), n[:]))
}
