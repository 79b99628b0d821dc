package rest

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	mrand "math/rand/v2"

	"github.com/labstack/echo/v4"
)

// headerRequestID is X-Request-ID in canonical form, so reading and writing
// it skips the canonicalisation (and its allocation) on every request.
const headerRequestID = "X-Request-Id"

// maxRequestIDLen bounds a caller's X-Request-ID (DESIGN.md).
const maxRequestIDLen = 64

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

// middleware sets X-Request-ID on the response before the rest of the
// chain runs (the access log and the error handler read it from there). A
// caller's id is kept only when validRequestID accepts it; anything else,
// or none, gets a fresh id, so a client cannot put arbitrary text, markup
// or a 15 kB blob into our logs under the request id.
func (g *requestIDs) middleware(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		id := c.Request().Header.Get(headerRequestID)
		if !validRequestID(id) {
			id = g.next()
		}
		c.Response().Header().Set(headerRequestID, id)
		return next(c)
	}
}

// validRequestID reports whether id is 1 to maxRequestIDLen characters of
// A-Za-z0-9._- (enough for UUIDs, ULIDs and our own ids).
func validRequestID(id string) bool {
	if len(id) == 0 || len(id) > maxRequestIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		switch c := id[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '.', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}
