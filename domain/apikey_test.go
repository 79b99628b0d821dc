package domain_test

import (
	"crypto/rand"
	"errors"
	"hash/crc32"
	"math/big"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/domain"
)

// base62Independent writes n in base62 (0-9A-Za-z) with math/big, not with
// the production encoder: math/big's own base-62 digits are 0-9a-zA-Z, so
// they are mapped to the key alphabet here.
func base62Independent(n uint32) string {
	s := new(big.Int).SetUint64(uint64(n)).Text(62)
	var b strings.Builder
	for _, c := range s {
		switch {
		case c >= '0' && c <= '9':
			b.WriteRune(c)
		case c >= 'a' && c <= 'z':
			b.WriteRune(c - 'a' + 'A')
		default:
			b.WriteRune(c - 'A' + 'a')
		}
	}
	out := b.String()
	return strings.Repeat("0", 6-len(out)) + out
}

func TestAPIKeyChecksumLiteralVectors(t *testing.T) {
	t.Parallel()
	// Computed once with Python's zlib.crc32 and a hand-written base62
	// loop, and with a throwaway Go program (hash/crc32 + math/big).
	for _, v := range []struct{ random, sum string }{
		{"0000000000000000000000000000000000000000", "2kaqcA"},
		{"abcdefghijABCDEFGHIJ0123456789klmnopqrst", "2ywciD"},
		{"zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz", "2x81PZ"},
		{"Gatehouse0Gatehouse0Gatehouse0Gatehouse0", "0ZOe5U"}, // left-padded
	} {
		if got := domain.APIKeyChecksum(v.random); got != v.sum {
			t.Errorf("APIKeyChecksum(%q) = %q; want %q", v.random, got, v.sum)
		}
		key := "gth_" + v.random + v.sum
		if got := domain.FormatAPIKey("gth", v.random); got != key {
			t.Errorf("FormatAPIKey = %q; want %q", got, key)
		}
		if !domain.CheckAPIKey("gth", key) {
			t.Errorf("CheckAPIKey(%q) = false; want true", key)
		}
	}
}

func TestAPIKeyChecksumIndependent(t *testing.T) {
	t.Parallel()
	for range 500 {
		random := rand.Text() + rand.Text() // base32, a subset of base62
		random = random[:domain.APIKeyRandomLen]
		if got, want := domain.CRCIEEE(random), crc32.ChecksumIEEE([]byte(random)); got != want {
			t.Fatalf("crcIEEE(%q) = %d; want hash/crc32's %d", random, got, want)
		}
		want := base62Independent(crc32.ChecksumIEEE([]byte(random)))
		if got := domain.APIKeyChecksum(random); got != want {
			t.Fatalf("APIKeyChecksum(%q) = %q; want %q", random, got, want)
		}
	}
}

func TestCheckAPIKeyRefuses(t *testing.T) {
	t.Parallel()
	good := "gth_abcdefghijABCDEFGHIJ0123456789klmnopqrst2ywciD"
	for _, k := range []string{
		"",
		"gth_",
		good[:len(good)-1],
		good + "A",
		"gth_abcdefghijABCDEFGHIJ0123456789klmnopqrsu2ywciD", // one random char changed
		"gth_abcdefghijABCDEFGHIJ0123456789klmnopqrst2ywciE", // checksum changed
		"gtx_abcdefghijABCDEFGHIJ0123456789klmnopqrst2ywciD", // other prefix
		"gth-abcdefghijABCDEFGHIJ0123456789klmnopqrst2ywciD",
		"gth_abcdefghij-BCDEFGHIJ0123456789klmnopqrst2ywciD",
	} {
		if domain.CheckAPIKey("gth", k) {
			t.Errorf("CheckAPIKey(%q) = true; want false", k)
		}
	}
	if !domain.LooksLikeAPIKey("gth", good) || domain.LooksLikeAPIKey("gth", "eyJhbGciOi.x.y") {
		t.Error("LooksLikeAPIKey misjudges")
	}
}

func TestValidateAPIKeyPrefix(t *testing.T) {
	t.Parallel()
	for p, ok := range map[string]bool{
		"gth": true, "ab": true, "a1234567890bcdef": true,
		"": false, "a": false, "1ab": false, "Gth": false, "g_h": false, "a1234567890bcdefg": false,
	} {
		if err := domain.ValidateAPIKeyPrefix(p); (err == nil) != ok {
			t.Errorf("ValidateAPIKeyPrefix(%q) = %v; want ok=%v", p, err, ok)
		}
	}
}

// TestDocsVectors: every example key in docs/api-keys.md passes the
// checksum, and the documented regular expression finds them.
func TestDocsVectors(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("../docs/api-keys.md")
	if err != nil {
		t.Fatal(err)
	}
	keys := regexp.MustCompile(`\bgth_[0-9A-Za-z]{46}\b`).FindAllString(string(doc), -1)
	if len(keys) < 4 {
		t.Fatalf("docs/api-keys.md has %d example keys; want the 4 vectors", len(keys))
	}
	for _, k := range keys {
		if !domain.CheckAPIKey("gth", k) {
			t.Errorf("docs/api-keys.md example %q fails the checksum", k)
		}
	}
}

func BenchmarkCheckAPIKey(b *testing.B) {
	key := "gth_abcdefghijABCDEFGHIJ0123456789klmnopqrst2ywciD"
	b.ReportAllocs()
	for b.Loop() {
		if !domain.CheckAPIKey("gth", key) {
			b.Fatal("CheckAPIKey = false")
		}
	}
}

// TestAPIKeyShapeAnyPrefix: a key of any prefix GATEHOUSE_API_KEY_PREFIX
// may name has a key's shape, and passes CheckAnyAPIKey with a good
// checksum; JWTs, opaque tokens and bad prefixes do not.
func TestAPIKeyShapeAnyPrefix(t *testing.T) {
	t.Parallel()
	body := "abcdefghijABCDEFGHIJ0123456789klmnopqrst2ywciD"
	for _, p := range []string{"gth", "ab", "a1234567890bcdef", "acme2"} {
		key := p + "_" + body
		if got, ok := domain.APIKeyShape(key); !ok || got != p {
			t.Errorf("APIKeyShape(%q) = %q, %v; want %q, true", key, got, ok, p)
		}
		if !domain.CheckAnyAPIKey(key) {
			t.Errorf("CheckAnyAPIKey(%q) = false; want true", key)
		}
		if bad := key[:len(key)-1] + "E"; !func() bool { _, ok := domain.APIKeyShape(bad); return ok }() || domain.CheckAnyAPIKey(bad) {
			t.Errorf("%q (bad checksum): want a key's shape that fails the check", bad)
		}
	}
	for _, token := range []string{
		"", body, "_" + body, "a_" + body, "Gth_" + body, "1ab_" + body, "g-h_" + body, "a1234567890bcdefg_" + body,
		"gth_" + body + "x", "gth_" + body[1:],
		"eyJhbGciOiJFZERTQSIsImtpZCI6IjEifQ.eyJzdWIiOiJ1MSJ9.c2ln", // a JWT
		"Zm9vYmFyYmF6cXV4cXV1eHF1dXhxdXV4cXV1eHF1dXg",              // a refresh token (43 characters)
	} {
		if p, ok := domain.APIKeyShape(token); ok {
			t.Errorf("APIKeyShape(%q) = %q, true; want not a key", token, p)
		}
		if domain.CheckAnyAPIKey(token) {
			t.Errorf("CheckAnyAPIKey(%q) = true; want false", token)
		}
	}
}

func TestValidateAPIKeyName(t *testing.T) {
	t.Parallel()
	for name, ok := range map[string]bool{
		"ci": true, "n": true, strings.Repeat("é", 64): true, "nightly export (prod)": true, "日本語のキー": true,
		"": false, strings.Repeat("n", 65): false, strings.Repeat("é", 65): false,
		"ci\n": false, "a\tb": false, "\x00": false, "bell\a": false, "esc\x1b[31m": false, "del\x7f": false,
		"c1\u0085": false, "c1\u009b": false, "bad utf-8 \xff": false,
	} {
		err := domain.ValidateAPIKeyName(name)
		var ve *domain.ValidationError
		if ok && err != nil || !ok && (!errors.As(err, &ve) || ve.Code != "invalid_request") {
			t.Errorf("ValidateAPIKeyName(%q) = %v; want ok=%v (else invalid_request)", name, err, ok)
		}
	}
}

func BenchmarkCheckAnyAPIKey(b *testing.B) {
	key := "gth_abcdefghijABCDEFGHIJ0123456789klmnopqrst2ywciD"
	b.ReportAllocs()
	for b.Loop() {
		if !domain.CheckAnyAPIKey(key) {
			b.Fatal("CheckAnyAPIKey = false")
		}
	}
}
