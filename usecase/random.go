package usecase

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"time"

	"github.com/gatehouse-auth/gatehouse/domain"
)

// newID returns a UUIDv7 string: a millisecond timestamp followed by random
// bits, so IDs sort in creation order (the admin list pages by ID).
func newID(now time.Time) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(now.UnixMilli())<<16)
	rand.Read(b[6:]) // never fails: crypto/rand crashes the program instead (Go 1.24+)
	b[6] = b[6]&0x0f | 0x70
	b[8] = b[8]&0x3f | 0x80
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:], b[10:])
	return string(s[:])
}

// newSecret returns n random bytes encoded as unpadded base64url.
func newSecret(n int) string {
	b := make([]byte, n)
	rand.Read(b) // never fails, see newID
	return base64.RawURLEncoding.EncodeToString(b)
}

// newAPIKey returns a new API key with prefix: APIKeyRandomLen characters
// drawn uniformly from the base62 alphabet (bytes of 248 and over are
// rejected, so no character is likelier than another), then the checksum.
func newAPIKey(prefix string) string {
	var random [domain.APIKeyRandomLen]byte
	var buf [64]byte
	n := 0
	for n < len(random) {
		rand.Read(buf[:]) // never fails, see newID
		for _, b := range buf {
			if b >= 248 || n == len(random) {
				continue
			}
			random[n] = domain.Base62[b%62]
			n++
		}
	}
	return domain.FormatAPIKey(prefix, string(random[:]))
}
