package testkit

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base32"
	"encoding/binary"
	"fmt"
	"strings"
	"testing"
)

// HOTP is RFC 4226 over HMAC-SHA-1 with dynamic truncation: the code of
// key for counter, digits long. With counter = unix time / 30 it is the
// RFC 6238 TOTP an authenticator app shows. It is written from the RFCs,
// independent of the OTP library the server uses, to check it against.
func HOTP(key []byte, counter uint64, digits int) string {
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], counter)
	mac := hmac.New(sha1.New, key)
	mac.Write(msg[:])
	sum := mac.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	bin := binary.BigEndian.Uint32(sum[off:off+4]) & 0x7fffffff
	mod := uint32(1)
	for range digits {
		mod *= 10
	}
	return fmt.Sprintf("%0*d", digits, bin%mod)
}

// TOTPStep is the 6-digit code of the base32 secret (padded or not, any
// case) for the 30 s time step step.
func TOTPStep(tb testing.TB, secret string, step int64) string {
	tb.Helper()
	key, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.ToUpper(strings.TrimRight(secret, "=")))
	if err != nil {
		tb.Fatalf("secret %q is not base32: %v", secret, err)
	}
	return HOTP(key, uint64(step), 6)
}
