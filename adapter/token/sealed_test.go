package token_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/adapter/token"
	"github.com/gatehouse-auth/gatehouse/domain"
)

func TestSealedKeyStore(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	now := func() time.Time { return t0 }
	kek := []byte(strings.Repeat("k", 32))
	raw := newFakeStore()
	sealed, err := token.NewSealedKeyStore(raw, kek)
	if err != nil {
		t.Fatal(err)
	}
	ring, err := token.NewKeyring(sealed, token.AlgEdDSA, nil, time.Hour, now)
	if err != nil {
		t.Fatal(err)
	}
	if err := ring.Load(ctx); err != nil {
		t.Fatalf("Load through the sealed store: %v", err)
	}
	stored, err := raw.ListKeys(ctx)
	if err != nil || len(stored) != 1 {
		t.Fatalf("raw keys = %v, %v; want one", stored, err)
	}
	if !bytes.HasPrefix(stored[0].Private, []byte("gatehouse-sealed-v1:")) {
		t.Fatalf("stored private key is not sealed: %q", stored[0].Private[:20])
	}
	// Tokens signed through the sealed ring verify with a ring that has the
	// same key-encryption key.
	c := domain.Claims{Subject: "u1", ID: "j", IssuedAt: t0, NotBefore: t0, ExpiresAt: t0.Add(time.Minute)}
	tok, err := token.NewIssuer(ring, "iss", "aud").Issue(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := token.NewSealedKeyStore(raw, kek)
	ring2, _ := token.NewKeyring(again, token.AlgEdDSA, nil, time.Hour, now)
	if err := ring2.Load(ctx); err != nil {
		t.Fatalf("second ring Load: %v", err)
	}
	if _, err := token.NewVerifier(ring2, "iss", "aud", 0, now, 0).Verify(ctx, tok); err != nil {
		t.Errorf("Verify with the same KEK: %v", err)
	}

	// A wrong KEK, or none, refuses to start rather than minting a new key.
	wrong, _ := token.NewSealedKeyStore(raw, []byte(strings.Repeat("x", 32)))
	ring3, _ := token.NewKeyring(wrong, token.AlgEdDSA, nil, time.Hour, now)
	if err := ring3.Load(ctx); err == nil || !strings.Contains(err.Error(), "decrypt") {
		t.Errorf("Load with a wrong KEK = %v; want a decrypt error", err)
	}
	ring4, _ := token.NewKeyring(raw, token.AlgEdDSA, nil, time.Hour, now)
	if err := ring4.Load(ctx); err == nil || !strings.Contains(err.Error(), "GATEHOUSE_KEY_ENCRYPTION_KEY") {
		t.Errorf("Load without a KEK = %v; want an error naming GATEHOUSE_KEY_ENCRYPTION_KEY", err)
	}
	if _, err := token.NewSealedKeyStore(raw, []byte("short")); err == nil {
		t.Error("NewSealedKeyStore accepted a 5-byte key")
	}
}
