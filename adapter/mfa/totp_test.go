package mfa_test

import (
	"encoding/base32"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/adapter/mfa"
	"github.com/gatehouse-auth/gatehouse/internal/testkit"
)

// rfc6238 is the independent TOTP of key at t, to check the library
// against.
func rfc6238(key []byte, t time.Time, digits int) string {
	return testkit.HOTP(key, uint64(t.Unix()/30), digits)
}

func TestTOTPCodes(t *testing.T) {
	t.Parallel()
	// RFC 6238 appendix B, SHA-1 (its 8-digit values cut to 6).
	key := []byte("12345678901234567890")
	secret := base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(key)
	for _, tc := range []struct {
		unix int64
		want string
	}{
		{59, "287082"}, {1111111109, "081804"}, {1111111111, "050471"},
		{1234567890, "005924"}, {2000000000, "279037"}, {20000000000, "353130"},
	} {
		at := time.Unix(tc.unix, 0)
		got, err := mfa.NewTOTP().Code(secret, at)
		if err != nil || got != tc.want || got != rfc6238(key, at, 6) {
			t.Errorf("Code(t=%d) = %q, %v; want %q (independent: %q)", tc.unix, got, err, tc.want, rfc6238(key, at, 6))
		}
	}
	if _, err := mfa.NewTOTP().Code("not base32!", time.Unix(59, 0)); err == nil || strings.Contains(err.Error(), "base32!") {
		t.Errorf("Code(bad secret) error = %v; want one that does not quote the secret", err)
	}
}

func TestTOTPNewSecret(t *testing.T) {
	t.Parallel()
	secret, raw, err := mfa.NewTOTP().NewSecret("Gatehouse", "alice")
	if err != nil {
		t.Fatalf("NewSecret() error = %v", err)
	}
	key, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(secret)
	if err != nil || len(key) != 20 {
		t.Fatalf("secret %q decodes to %d bytes, %v; want 20", secret, len(key), err)
	}
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("URL %q: %v", raw, err)
	}
	q := u.Query()
	if u.Scheme != "otpauth" || u.Host != "totp" || u.Path != "/Gatehouse:alice" || q.Get("secret") != secret ||
		q.Get("issuer") != "Gatehouse" || q.Get("algorithm") != "SHA1" || q.Get("digits") != "6" || q.Get("period") != "30" {
		t.Errorf("URL = %q; want otpauth://totp/Gatehouse:alice?secret=...&issuer=Gatehouse&algorithm=SHA1&digits=6&period=30", raw)
	}
	at := time.Unix(1_900_000_000, 0)
	if got, _ := mfa.NewTOTP().Code(secret, at); got != rfc6238(key, at, 6) {
		t.Errorf("Code of a new secret = %q; want %q", got, rfc6238(key, at, 6))
	}
	other, _, _ := mfa.NewTOTP().NewSecret("Gatehouse", "alice")
	if other == secret {
		t.Error("two new secrets are equal")
	}
}
