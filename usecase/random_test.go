package usecase

import (
	"encoding/base64"
	"encoding/hex"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/domain"
)

func TestNewIDFormat(t *testing.T) {
	t.Parallel()
	now := epoch.Add(123 * time.Millisecond)
	seen := make(map[string]bool)
	for range 1000 {
		id := newID(now)
		if len(id) != 36 {
			t.Fatalf("newID() = %q, length %d; want 36", id, len(id))
		}
		for _, i := range []int{8, 13, 18, 23} {
			if id[i] != '-' {
				t.Fatalf("newID() = %q; want '-' at %d", id, i)
			}
		}
		if _, err := hex.DecodeString(strings.ReplaceAll(id, "-", "")); err != nil {
			t.Fatalf("newID() = %q; want lower-case hex: %v", id, err)
		}
		if id[14] != '7' {
			t.Fatalf("newID() = %q, version %c; want 7", id, id[14])
		}
		if !strings.ContainsRune("89ab", rune(id[19])) {
			t.Fatalf("newID() = %q, variant nibble %c; want one of 8 9 a b", id, id[19])
		}
		ms, err := strconv.ParseInt(strings.ReplaceAll(id[:13], "-", ""), 16, 64)
		if err != nil || ms != now.UnixMilli() {
			t.Fatalf("newID() = %q, timestamp %d (%v); want %d", id, ms, err, now.UnixMilli())
		}
		if seen[id] {
			t.Fatalf("newID() = %q twice in the same millisecond", id)
		}
		seen[id] = true
	}
}

func TestNewIDSortsByTime(t *testing.T) {
	t.Parallel()
	prev := newID(epoch)
	for _, d := range []time.Duration{time.Millisecond, 2 * time.Millisecond, time.Second, time.Hour, 24 * time.Hour, 365 * 24 * time.Hour} {
		for range 50 {
			id := newID(epoch.Add(d))
			if id <= prev {
				t.Fatalf("newID(epoch+%v) = %q; want > %q (the id of an earlier time)", d, id, prev)
			}
		}
		prev = newID(epoch.Add(d))
	}
}

func TestNewSecret(t *testing.T) {
	t.Parallel()
	a, b := newSecret(refreshTokenBytes), newSecret(refreshTokenBytes)
	if a == b {
		t.Fatalf("newSecret(32) twice = %q; want different values", a)
	}
	raw, err := base64.RawURLEncoding.DecodeString(a)
	if err != nil || len(raw) != 32 {
		t.Fatalf("newSecret(32) = %q decodes to %d bytes (%v); want 32 bytes of unpadded base64url", a, len(raw), err)
	}
}

func TestNewAPIKey(t *testing.T) {
	t.Parallel()
	counts := map[rune]int{}
	seen := map[string]bool{}
	for range 2000 {
		k := newAPIKey("gth")
		if !domain.CheckAPIKey("gth", k) {
			t.Fatalf("newAPIKey() = %q fails CheckAPIKey", k)
		}
		if !regexp.MustCompile(`^gth_[0-9A-Za-z]{46}$`).MatchString(k) || seen[k] {
			t.Fatalf("newAPIKey() = %q: bad shape or repeated", k)
		}
		seen[k] = true
		for _, c := range k[4 : 4+domain.APIKeyRandomLen] {
			counts[c]++
		}
	}
	// 80,000 characters over 62 symbols: about 1290 each; every symbol
	// must appear, none far more often than the others.
	if len(counts) != 62 {
		t.Fatalf("newAPIKey used %d distinct characters; want 62", len(counts))
	}
	for c, n := range counts {
		if n < 1000 || n > 1600 {
			t.Errorf("character %q drawn %d times of 80000; want about 1290", c, n)
		}
	}
}
