package http

import (
	"crypto/rand"
	"encoding/hex"
	"strconv"
	"sync/atomic"
)

// requestIDs hands out request ids: a random prefix drawn once per process
// and a counter, e.g. "9f86d081884c7d65-2a". They are unique, which is all a
// request id needs to be; they need not be unguessable, so the hot path
// reads no randomness (Echo's default generator did, at a measurable cost
// per request).
type requestIDs struct {
	prefix []byte // hex of 8 random bytes and a '-'
	n      atomic.Uint64
}

func newRequestIDs() *requestIDs {
	var b [8]byte
	rand.Read(b[:]) // never fails (crypto/rand's documented contract)
	return &requestIDs{prefix: append(hex.AppendEncode(nil, b[:]), '-')}
}

// next returns a fresh id.
func (g *requestIDs) next() string {
	buf := make([]byte, 0, len(g.prefix)+13)
	buf = append(buf, g.prefix...)
	return string(strconv.AppendUint(buf, g.n.Add(1), 36))
}
