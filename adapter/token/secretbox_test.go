package token_test

import (
	"bytes"
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gatehouse-auth/gatehouse/adapter/token"
	"github.com/gatehouse-auth/gatehouse/domain"
)

// TestAMRACRRoundTrip: amr (an array) and acr are encoded when set and
// decoded into the claims; absent, they stay empty.
func TestAMRACRRoundTrip(t *testing.T) {
	t.Parallel()
	e := newEnv(t, token.AlgEdDSA, 16)
	in := e.userClaims()
	in.AMR, in.ACR = []string{domain.AMRPassword, domain.AMROTP}, domain.ACRAAL2
	tok := e.issue(t, in)
	payload := decodeSegment(t, tok, 1)
	if !reflect.DeepEqual(payload["amr"], []any{"pwd", "otp"}) || payload["acr"] != "aal2" {
		t.Errorf("payload amr, acr = %#v, %#v; want [pwd otp], aal2", payload["amr"], payload["acr"])
	}
	for range 2 { // the second is a cache hit
		got, err := e.ver.Verify(context.Background(), tok)
		if err != nil || !reflect.DeepEqual(*got, in) {
			t.Fatalf("Verify() = %+v, %v; want %+v", got, err, in)
		}
	}

	plain := e.userClaims()
	tok = e.issue(t, plain)
	payload = decodeSegment(t, tok, 1)
	for _, absent := range []string{"amr", "acr"} {
		if _, ok := payload[absent]; ok {
			t.Errorf("token without amr/acr has %q; want it omitted", absent)
		}
	}
	got, err := e.ver.Verify(context.Background(), tok)
	if err != nil || got.AMR != nil || got.ACR != "" {
		t.Errorf("Verify(no amr) = %+v, %v; want empty AMR and ACR", got, err)
	}

	// A hand-made token with "amr": [] reads as none; a string amr is refused.
	empty := e.signWith(t, func(_ map[string]any, c jwt.MapClaims) { c["amr"] = []any{} })
	if got, err := e.ver.Verify(context.Background(), empty); err != nil || got.AMR != nil {
		t.Errorf(`Verify("amr": []) = %+v, %v; want no AMR`, got, err)
	}
	str := e.signWith(t, func(_ map[string]any, c jwt.MapClaims) { c["amr"] = "pwd" })
	if got, err := e.ver.Verify(context.Background(), str); err == nil {
		t.Errorf(`Verify("amr": "pwd") = %+v; want it refused`, got)
	}
}

func TestSecretBox(t *testing.T) {
	t.Parallel()
	kek := []byte(strings.Repeat("k", 32))
	box, err := token.NewSecretBox(kek)
	if err != nil {
		t.Fatalf("NewSecretBox() error = %v", err)
	}
	plain := []byte("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")
	sealed, err := box.Seal(plain, "user-1")
	if err != nil {
		t.Fatalf("Seal() error = %v", err)
	}
	if !bytes.HasPrefix(sealed, []byte("gatehouse-secret-v1:")) || bytes.Contains(sealed, plain) {
		t.Fatalf("Seal() = %q; want a versioned ciphertext without the secret", sealed)
	}
	again, _ := box.Seal(plain, "user-1")
	if bytes.Equal(again, sealed) {
		t.Error("two seals of one secret are equal; want a fresh nonce each")
	}

	t.Run("round trip", func(t *testing.T) {
		t.Parallel()
		other, _ := token.NewSecretBox(kek) // another replica with the same KEK
		got, err := other.Open(sealed, "user-1")
		if err != nil || !bytes.Equal(got, plain) {
			t.Errorf("Open() = %q, %v; want %q", got, err, plain)
		}
	})
	t.Run("wrong label", func(t *testing.T) {
		t.Parallel()
		if got, err := box.Open(sealed, "user-2"); err == nil {
			t.Errorf("Open(other label) = %q; want an error", got)
		}
	})
	t.Run("wrong kek", func(t *testing.T) {
		t.Parallel()
		other, _ := token.NewSecretBox([]byte(strings.Repeat("x", 32)))
		if got, err := other.Open(sealed, "user-1"); err == nil {
			t.Errorf("Open(other KEK) = %q; want an error", got)
		}
	})
	t.Run("tampered", func(t *testing.T) {
		t.Parallel()
		for i := len("gatehouse-secret-v1:"); i < len(sealed); i++ {
			bad := bytes.Clone(sealed)
			bad[i] ^= 1
			if got, err := box.Open(bad, "user-1"); err == nil {
				t.Fatalf("Open(byte %d flipped) = %q; want an error", i, got)
			}
		}
		for _, bad := range [][]byte{sealed[:len(sealed)-1], sealed[:25], []byte("gatehouse-secret-v1:")} {
			if _, err := box.Open(bad, "user-1"); err == nil {
				t.Errorf("Open(truncated to %d) succeeded; want an error", len(bad))
			}
		}
	})
	t.Run("stored in the clear", func(t *testing.T) {
		t.Parallel()
		if got, err := box.Open(plain, "user-1"); err == nil {
			t.Errorf("Open(plain secret) = %q; want it refused under a KEK", got)
		}
	})
	t.Run("errors name no secret", func(t *testing.T) {
		t.Parallel()
		_, err := box.Open(append(bytes.Clone(sealed[:30]), plain...), "user-1")
		if err == nil || strings.Contains(err.Error(), string(plain)) {
			t.Errorf("Open(bad) error = %v; want one that does not quote the input", err)
		}
	})
	t.Run("short kek", func(t *testing.T) {
		t.Parallel()
		if _, err := token.NewSecretBox([]byte("short")); err == nil {
			t.Error("NewSecretBox(5 bytes) succeeded; want an error")
		}
	})
}

// TestSecretBoxKeyIsNotTheSigningKeyKey: a secret sealed by the box does
// not open as a sealed signing key of the same KEK, and the other way
// round (distinct HKDF labels).
func TestSecretBoxKeyIsNotTheSigningKeyKey(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	kek := []byte(strings.Repeat("k", 32))
	raw := newFakeStore()
	sealedStore, err := token.NewSealedKeyStore(raw, kek)
	if err != nil {
		t.Fatal(err)
	}
	k := domain.SigningKey{ID: "kid-1", Algorithm: token.AlgEdDSA, Private: []byte("private"), CreatedAt: t0}
	if err := sealedStore.RotateKey(ctx, &k, nil); err != nil {
		t.Fatal(err)
	}
	stored := raw.snapshot()["kid-1"].Private
	box, _ := token.NewSecretBox(kek)
	// Same nonce layout, same AAD: only the key differs.
	rest := bytes.TrimPrefix(stored, []byte("gatehouse-sealed-v1:"))
	if got, err := box.Open(append([]byte("gatehouse-secret-v1:"), rest...), "kid-1"); err == nil {
		t.Errorf("the box opened a sealed signing key: %q", got)
	}
}

func TestSecretBoxPassThrough(t *testing.T) {
	t.Parallel()
	box, err := token.NewSecretBox(nil)
	if err != nil {
		t.Fatalf("NewSecretBox(nil) error = %v", err)
	}
	plain := []byte("JBSWY3DPEHPK3PXP")
	sealed, err := box.Seal(plain, "user-1")
	if err != nil || !bytes.Equal(sealed, plain) {
		t.Fatalf("Seal() = %q, %v; want the secret as it is", sealed, err)
	}
	got, err := box.Open(sealed, "any label")
	if err != nil || !bytes.Equal(got, plain) {
		t.Errorf("Open() = %q, %v; want %q", got, err, plain)
	}
	// A secret sealed under a KEK does not pass as a secret without one.
	kekBox, _ := token.NewSecretBox([]byte(strings.Repeat("k", 32)))
	s, _ := kekBox.Seal(plain, "user-1")
	if got, err := box.Open(s, "user-1"); err == nil {
		t.Errorf("pass-through Open(sealed) = %q; want an error", got)
	}
}
