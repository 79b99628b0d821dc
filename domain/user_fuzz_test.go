package domain_test

import (
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/domain"
)

// usernameRule is DESIGN.md's username rule, written independently of
// NormalizeUsername: 3-64 characters of a-z 0-9 . _ @ -.
var usernameRule = regexp.MustCompile(`^[a-z0-9._@-]{3,64}$`)

func FuzzNormalizeUsername(f *testing.F) {
	for _, s := range []string{
		"alice", "Alice", "  BOB@example.com ", "a.b_c-d@e", "ab", "abc",
		strings.Repeat("a", 64), strings.Repeat("a", 65), "x' OR 1=1 --",
		"ålice", "\u212Aelvin", "İstanbul", "ǅemal", "al\x00ice", "al ice",
		"\talice\n", "\xff\xfeabc", "../../etc/passwd", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, err := domain.NormalizeUsername(in)
		accepted := usernameRule.MatchString(strings.ToLower(strings.TrimSpace(in)))
		if err != nil {
			var ve *domain.ValidationError
			if !errors.As(err, &ve) || ve.Code != "invalid_username" {
				t.Fatalf("NormalizeUsername(%q) error %v; want *ValidationError invalid_username", in, err)
			}
			if accepted {
				t.Fatalf("NormalizeUsername(%q) refused a name that lower-cases to a valid one", in)
			}
			return
		}
		if !usernameRule.MatchString(out) {
			t.Fatalf("NormalizeUsername(%q) = %q, which breaks the username rule", in, out)
		}
		if !accepted {
			t.Fatalf("NormalizeUsername(%q) = %q; accepted a name whose lower-case form breaks the rule", in, out)
		}
		again, err := domain.NormalizeUsername(out)
		if err != nil || again != out {
			t.Fatalf("NormalizeUsername(%q) = %q, %v; not idempotent on %q", out, again, err, in)
		}
		// Case-insensitive comparison: every casing of an accepted name is
		// the same account.
		if up, err := domain.NormalizeUsername(strings.ToUpper(out)); err != nil || up != out {
			t.Fatalf("NormalizeUsername(%q) = %q, %v; want %q", strings.ToUpper(out), up, err, out)
		}
	})
}

// FuzzCheckAPIKey: CheckAPIKey never panics, and accepts only what has
// the documented shape and checksum.
func FuzzCheckAPIKey(f *testing.F) {
	f.Add("gth_abcdefghijABCDEFGHIJ0123456789klmnopqrst2ywciD")
	f.Add("gth_")
	f.Add("")
	f.Fuzz(func(t *testing.T, key string) {
		if !domain.CheckAPIKey("gth", key) {
			return
		}
		if len(key) != 50 || !strings.HasPrefix(key, "gth_") || domain.APIKeyChecksum(key[4:44]) != key[44:] {
			t.Fatalf("CheckAPIKey accepted %q", key)
		}
	})
}
