package usecase

import (
	"bytes"
	"testing"
)

func TestSealRoundTrip(t *testing.T) {
	t.Parallel()
	prev, next := newSecret(refreshTokenBytes), newSecret(refreshTokenBytes)
	sealed, err := seal(prev, next)
	if err != nil {
		t.Fatalf("seal = %v; want nil", err)
	}
	if bytes.Contains(sealed, []byte(next)) {
		t.Fatalf("seal(prev, next) contains next in the clear")
	}
	got, err := unseal(prev, sealed)
	if err != nil || got != next {
		t.Fatalf("unseal(prev, seal(prev, next)) = %q, %v; want %q, nil", got, err, next)
	}
	again, err := seal(prev, next)
	if err != nil {
		t.Fatalf("seal = %v; want nil", err)
	}
	if bytes.Equal(again, sealed) {
		t.Errorf("seal twice gave the same bytes; want a fresh nonce each time")
	}
}

func TestUnsealRefuses(t *testing.T) {
	t.Parallel()
	prev, next := newSecret(refreshTokenBytes), newSecret(refreshTokenBytes)
	sealed, err := seal(prev, next)
	if err != nil {
		t.Fatalf("seal = %v; want nil", err)
	}
	flipped := bytes.Clone(sealed)
	flipped[len(flipped)-1] ^= 1
	tests := []struct {
		name   string
		prev   string
		sealed []byte
	}{
		{"other predecessor", newSecret(refreshTokenBytes), sealed},
		{"successor as predecessor", next, sealed},
		{"empty predecessor", "", sealed},
		{"tampered", prev, flipped},
		{"truncated", prev, sealed[:len(sealed)-1]},
		{"shorter than a nonce", prev, sealed[:5]},
		{"empty", prev, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got, err := unseal(tt.prev, tt.sealed); err == nil {
				t.Errorf("unseal(%s) = %q, nil; want an error", tt.name, got)
			}
		})
	}
}

func TestHashToken(t *testing.T) {
	t.Parallel()
	a := hashToken("token")
	if len(a) != 32 {
		t.Fatalf("len(hashToken) = %d; want 32 (SHA-256)", len(a))
	}
	if !bytes.Equal(a, hashToken("token")) || bytes.Equal(a, hashToken("token2")) {
		t.Fatalf("hashToken is not a deterministic function of its input")
	}
	if bytes.Contains(a, []byte("token")) {
		t.Fatalf("hashToken(%q) contains its input", "token")
	}
}
