package token_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gatehouse-auth/gatehouse/adapter/token"
	"github.com/gatehouse-auth/gatehouse/domain"
	"github.com/gatehouse-auth/gatehouse/internal/testkit"
)

// sameKeys reports whether two store snapshots hold the same keys in the
// same state.
func sameKeys(a, b map[string]domain.SigningKey) bool {
	return maps.EqualFunc(a, b, func(x, y domain.SigningKey) bool {
		return x.Algorithm == y.Algorithm && x.CreatedAt.Equal(y.CreatedAt) && x.RetiredAt.Equal(y.RetiredAt) && string(x.Private) == string(y.Private)
	})
}

// TestRingsOfDifferentAlgorithmsDoNotRotateEachOther puts two replicas
// with different GATEHOUSE_SIGNING_ALG on one store and reloads both many
// times: the second refuses instead of activating a key of its own, the
// first keeps signing with the one active key, and nothing is written.
func TestRingsOfDifferentAlgorithmsDoNotRotateEachOther(t *testing.T) {
	t.Parallel()
	for _, other := range []string{token.AlgES256, token.AlgRS256, token.AlgHS256} {
		t.Run(other, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			ed := newEnv(t, token.AlgEdDSA, 0)
			kid := ed.activeKid(t)
			before := ed.store.snapshot()
			var secret []byte
			if other == token.AlgHS256 {
				secret = []byte(strings.Repeat("s", 32))
			}
			ring, err := token.NewKeyring(ed.store, other, secret, retain, ed.clock.Now)
			if err != nil {
				t.Fatalf("NewKeyring(%s) error = %v", other, err)
			}
			for i := range 10 {
				ed.clock.Set(t0.Add(time.Duration(i+1) * time.Second))
				err := ring.Load(ctx)
				if err == nil || !strings.Contains(err.Error(), token.AlgEdDSA) || !strings.Contains(err.Error(), other) {
					t.Fatalf("Load() of a %s ring over an active EdDSA key = %v; want a refusal naming both algorithms", other, err)
				}
				if err := ed.ring.Load(ctx); err != nil {
					t.Fatalf("EdDSA ring Load() error = %v", err)
				}
			}
			if after := ed.store.snapshot(); !sameKeys(before, after) {
				t.Fatalf("stored keys changed by reloads:\nbefore %v\nafter  %v", slices.Collect(maps.Keys(before)), slices.Collect(maps.Keys(after)))
			}
			tok := ed.issue(t, ed.userClaims())
			if got := decodeSegment(t, tok, 0)["kid"]; got != kid {
				t.Errorf("EdDSA ring signs with kid %v; want the original %s", got, kid)
			}
			if _, err := ed.ver.Verify(ctx, tok); err != nil {
				t.Errorf("Verify() error = %v", err)
			}
		})
	}
}

// plantedKey is an Ed25519 key written to the store in the clear.
func plantedKey(t *testing.T, id string, created, retired time.Time) (domain.SigningKey, ed25519.PrivateKey) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return domain.SigningKey{ID: id, Algorithm: token.AlgEdDSA, Private: der, CreatedAt: created, RetiredAt: retired}, priv
}

// TestSealedStoreRefusesUnsealedRows: with a key-encryption key, a key row
// written in the clear (planted by someone with database access) is never
// used: a token forged with it is refused, it is not published, and when
// it is the active key start-up fails. A rotation replaces it.
func TestSealedStoreRefusesUnsealedRows(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clk := testkit.NewClock(t0)
	kek := []byte(strings.Repeat("k", 32))
	raw := newFakeStore()
	sealed, err := token.NewSealedKeyStore(raw, kek)
	if err != nil {
		t.Fatal(err)
	}
	ring, err := token.NewKeyring(sealed, token.AlgEdDSA, nil, retain, clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	if err := ring.Load(ctx); err != nil {
		t.Fatalf("Load() error = %v", err)
	}
	ver := token.NewVerifier(ring, testIssuer, testAudience, leeway, clk.Now, 16)
	good, err := token.NewIssuer(ring, testIssuer, testAudience).Issue(ctx, domain.Claims{Subject: "u", ExpiresAt: t0.Add(time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	goodKid := decodeSegment(t, good, 0)["kid"]

	forge := func(kid string, priv ed25519.PrivateKey) string {
		claims := jwt.MapClaims{"iss": testIssuer, "aud": testAudience, "sub": "admin-0", "jti": "forged",
			"iat": t0.Unix(), "nbf": t0.Unix(), "exp": t0.Add(time.Minute).Unix()}
		return signToken(t, jwt.SigningMethodEdDSA, priv, map[string]any{"typ": "at+jwt", "kid": kid}, claims)
	}

	// A retired row in the clear, recent enough to be published.
	retired, retiredPriv := plantedKey(t, "planted-retired", t0.Add(-time.Minute), t0.Add(-time.Second))
	raw.plant(retired)
	if err := ring.Load(ctx); err != nil {
		t.Fatalf("Load() with a planted retired row error = %v; want it skipped", err)
	}
	if _, err := ver.Verify(ctx, forge(retired.ID, retiredPriv)); !errors.Is(err, domain.ErrTokenInvalid) {
		t.Errorf("Verify(token forged with a planted retired key) error = %v; want ErrTokenInvalid", err)
	}
	if kids := jwksKids(t, ring); slices.Contains(kids, retired.ID) {
		t.Errorf("JWKS publishes the planted key: %v", kids)
	}

	// An active row in the clear.
	clk.Set(t0.Add(time.Second))
	active, activePriv := plantedKey(t, "planted-active", clk.Now(), time.Time{})
	if err := raw.RotateKey(ctx, &active, nil); err != nil {
		t.Fatal(err)
	}
	if err := ring.Load(ctx); err == nil {
		t.Errorf("reload with a planted active row error = nil; want a refusal")
	}
	if _, err := ver.Verify(ctx, forge(active.ID, activePriv)); !errors.Is(err, domain.ErrTokenInvalid) {
		t.Errorf("Verify(token forged with the planted active key) error = %v; want ErrTokenInvalid", err)
	}
	if tok, err := token.NewIssuer(ring, testIssuer, testAudience).Issue(ctx, domain.Claims{Subject: "u", ExpiresAt: t0.Add(time.Minute)}); err != nil || decodeSegment(t, tok, 0)["kid"] != goodKid {
		t.Errorf("after the refused reload the ring signs with %v, %v; want the known key %v", decodeSegment(t, tok, 0)["kid"], err, goodKid)
	}
	fresh, _ := token.NewKeyring(sealed, token.AlgEdDSA, nil, retain, clk.Now)
	err = fresh.Load(ctx)
	if err == nil || !strings.Contains(err.Error(), active.ID) || !strings.Contains(err.Error(), "unencrypted") {
		t.Fatalf("start-up Load() over a planted active row = %v; want a refusal naming the key and that it is unencrypted", err)
	}
	if _, err := token.NewVerifier(fresh, testIssuer, testAudience, leeway, clk.Now, 0).Verify(ctx, forge(active.ID, activePriv)); !errors.Is(err, domain.ErrTokenInvalid) {
		t.Errorf("fresh ring Verify(forged) error = %v; want ErrTokenInvalid", err)
	}

	// Rotating (which never reads the refused key) fixes it.
	clk.Set(t0.Add(2 * time.Second))
	if _, err := fresh.Rotate(ctx, domain.Event{}); err != nil {
		t.Fatalf("Rotate() over a planted active row error = %v", err)
	}
	if err := ring.Load(ctx); err != nil {
		t.Fatalf("Load() after the rotation error = %v", err)
	}
	if _, err := ver.Verify(ctx, forge(active.ID, activePriv)); !errors.Is(err, domain.ErrTokenInvalid) {
		t.Errorf("after rotation Verify(forged) error = %v; want ErrTokenInvalid", err)
	}
}

// TestInitCreatesOnlyTheFirstKey: Init writes a key only on a store with no
// key at all; Reload never writes; a store with keys but none active is
// refused rather than repaired.
func TestInitCreatesOnlyTheFirstKey(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, alg := range allAlgs {
		t.Run(alg, func(t *testing.T) {
			t.Parallel()
			store := newFakeStore()
			ring, err := token.NewKeyring(store, alg, []byte(strings.Repeat("s", 32)), retain, func() time.Time { return t0 })
			if err != nil {
				t.Fatal(err)
			}
			if err := ring.Reload(ctx); !errors.Is(err, token.ErrNoKey) {
				t.Fatalf("Reload() on an empty store = %v; want ErrNoKey", err)
			}
			if _, r, _ := store.counts(); r != 0 {
				t.Fatalf("Reload() on an empty store wrote %d keys", r)
			}
			kid, err := ring.Init(ctx)
			if err != nil || kid == "" {
				t.Fatalf("Init() on an empty store = %q, %v; want the new kid", kid, err)
			}
			if again, err := ring.Init(ctx); err != nil || again != "" {
				t.Fatalf("second Init() = %q, %v; want no new key", again, err)
			}
			if _, r, _ := store.counts(); r != 1 {
				t.Fatalf("Init() twice wrote %d keys; want 1", r)
			}
			if alg != token.AlgHS256 && ring.ActiveKid() != kid {
				t.Errorf("ActiveKid() = %q; want the first key %q", ring.ActiveKid(), kid)
			}
		})
	}
	t.Run("no active key", func(t *testing.T) {
		t.Parallel()
		store := newFakeStore()
		k, _ := plantedKey(t, "old", t0.Add(-time.Minute), t0.Add(-time.Second))
		store.plant(k)
		ring, _ := token.NewKeyring(store, token.AlgEdDSA, nil, retain, func() time.Time { return t0 })
		if _, err := ring.Init(ctx); !errors.Is(err, token.ErrNoActiveKey) {
			t.Fatalf("Init() over only retired keys = %v; want ErrNoActiveKey", err)
		}
		if _, r, _ := store.counts(); r != 0 {
			t.Errorf("Init() over only retired keys wrote %d keys", r)
		}
	})
}

// TestSwitchToHS256AndBack: HS256 is recorded in the store like any other
// algorithm, so an asymmetric ring refuses an HS256 store and the other
// way round, and Rotate switches explicitly in both directions.
func TestSwitchToHS256AndBack(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ed := newEnv(t, token.AlgEdDSA, 0)
	hs, err := token.NewKeyring(ed.store, token.AlgHS256, []byte(strings.Repeat("s", 32)), retain, ed.clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	var mismatch *token.MismatchError
	if _, err := hs.Init(ctx); !errors.As(err, &mismatch) || mismatch.Active != token.AlgEdDSA {
		t.Fatalf("HS256 Init() over an EdDSA key = %v; want a MismatchError", err)
	}
	ed.clock.Set(t0.Add(time.Second))
	marker, err := hs.Rotate(ctx, domain.Event{})
	if err != nil {
		t.Fatalf("HS256 Rotate() over an EdDSA key = %v; want a switch to HS256", err)
	}
	if _, err := hs.Init(ctx); err != nil {
		t.Fatalf("HS256 Init() after the switch = %v", err)
	}
	if _, err := hs.Rotate(ctx, domain.Event{}); err == nil {
		t.Error("HS256 Rotate() with HS256 active = nil; want a refusal")
	}
	fresh, _ := token.NewKeyring(ed.store, token.AlgEdDSA, nil, retain, ed.clock.Now)
	if _, err := fresh.Init(ctx); !errors.As(err, &mismatch) || mismatch.Active != token.AlgHS256 || mismatch.Kid != marker {
		t.Fatalf("EdDSA Init() over HS256 = %v; want a MismatchError naming %s", err, marker)
	}
	ed.clock.Set(t0.Add(2 * time.Second))
	if _, err := fresh.Rotate(ctx, domain.Event{}); err != nil {
		t.Fatalf("EdDSA Rotate() over HS256 = %v", err)
	}
	if err := hs.Reload(ctx); !errors.As(err, &mismatch) {
		t.Errorf("HS256 Reload() after the switch back = %v; want a MismatchError", err)
	}
}

// TestSealedStoreRefusesUnsealedHS256Row: the HS256 row holds no secret,
// but under a key-encryption key it too must be sealed; Rotate replaces a
// clear one (the upgrade path of an HS256 deployment turning a KEK on).
func TestSealedStoreRefusesUnsealedHS256Row(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	now := func() time.Time { return t0 }
	secret := []byte(strings.Repeat("s", 32))
	raw := newFakeStore()
	clear, _ := token.NewKeyring(raw, token.AlgHS256, secret, retain, now)
	if _, err := clear.Init(ctx); err != nil {
		t.Fatal(err)
	}
	sealed, _ := token.NewSealedKeyStore(raw, []byte(strings.Repeat("k", 32)))
	ring, _ := token.NewKeyring(sealed, token.AlgHS256, secret, retain, now)
	var unsealed *token.UnsealedKeyError
	if _, err := ring.Init(ctx); !errors.As(err, &unsealed) {
		t.Fatalf("Init() over a clear HS256 row with a KEK = %v; want an UnsealedKeyError", err)
	}
	if _, err := ring.Rotate(ctx, domain.Event{}); err != nil {
		t.Fatalf("Rotate() over a clear HS256 row = %v", err)
	}
	if _, err := ring.Init(ctx); err != nil {
		t.Fatalf("Init() after Rotate() = %v", err)
	}
}
