package token_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/adapter/token"
	"github.com/gatehouse-auth/gatehouse/domain"
)

func TestNewKeyringValidates(t *testing.T) {
	t.Parallel()
	store := newFakeStore()
	tests := []struct {
		name   string
		alg    string
		secret []byte
		store  domain.KeyStore
		ok     bool
	}{
		{"eddsa", token.AlgEdDSA, nil, store, true},
		{"es256", token.AlgES256, nil, store, true},
		{"rs256", token.AlgRS256, nil, store, true},
		{"hs256", token.AlgHS256, []byte(strings.Repeat("s", 32)), nil, true},
		{"hs256 short secret", token.AlgHS256, []byte(strings.Repeat("s", 31)), nil, false},
		{"hs256 no secret", token.AlgHS256, nil, nil, false},
		{"none", "none", nil, store, false},
		{"ps256", "PS256", nil, store, false},
		{"lower-case", "eddsa", nil, store, false},
		{"asymmetric without store", token.AlgEdDSA, nil, nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ring, err := token.NewKeyring(tc.store, tc.alg, tc.secret, retain, nil)
			if (err == nil) != tc.ok {
				t.Fatalf("NewKeyring(%s) error = %v; want ok=%v", tc.alg, err, tc.ok)
			}
			if err != nil && tc.secret != nil && strings.Contains(err.Error(), string(tc.secret)) {
				t.Fatalf("NewKeyring() error leaks the secret")
			}
			if tc.ok && ring.Algorithm() != tc.alg {
				t.Fatalf("Algorithm() = %q; want %q", ring.Algorithm(), tc.alg)
			}
		})
	}
}

// TestHS256Ring: an HS256 ring signs with its secret under a stable
// secret-derived kid and publishes nothing. Over a store, its first load
// records HS256 as the active algorithm (a row without the secret), and it
// refuses to rotate HS256 itself; without a store it touches nothing.
func TestHS256Ring(t *testing.T) {
	t.Parallel()
	e := newEnv(t, token.AlgHS256, 0)
	ctx := context.Background()
	if jwks, err := e.ring.JWKS(); err != nil || string(jwks) != `{"keys":[]}` {
		t.Errorf("JWKS() = %s, %v; want an empty key set", jwks, err)
	}
	kid := e.ring.ActiveKid()
	if strings.Contains(kid, string(e.secret)) || len(kid) > 24 || !strings.HasPrefix(kid, "hs-") {
		t.Errorf("HS256 kid = %q; want a short id not containing the secret", kid)
	}
	stored, _ := e.store.ListKeys(ctx)
	if len(stored) != 1 || stored[0].Algorithm != token.AlgHS256 || !stored[0].Active() || strings.Contains(string(stored[0].Private), string(e.secret)) {
		t.Fatalf("store after the first load = %+v; want one active HS256 row without the secret", stored)
	}
	keys, err := e.ring.Keys(ctx)
	if err != nil || len(keys) != 1 || keys[0].ID != stored[0].ID || keys[0].Private != nil {
		t.Fatalf("Keys() = %+v, %v; want the HS256 row without material", keys, err)
	}
	if _, err := e.ring.Rotate(ctx, domain.Event{}); err == nil {
		t.Error("Rotate() under HS256 with HS256 active error = nil; want an error")
	}
	for range 3 {
		if err := e.ring.Reload(ctx); err != nil {
			t.Fatalf("Reload() error = %v", err)
		}
	}
	if _, r, _ := e.store.counts(); r != 1 {
		t.Errorf("HS256 ring wrote %d keys; want only the first-start row", r)
	}

	bare, err := token.NewKeyring(nil, token.AlgHS256, e.secret, retain, nil)
	if err != nil {
		t.Fatalf("NewKeyring() error = %v", err)
	}
	if err := bare.Load(ctx); err != nil {
		t.Fatalf("Load() without a store error = %v", err)
	}
	if k, _ := bare.Keys(ctx); len(k) != 1 || k[0].ID != kid || bare.ActiveKid() != kid {
		t.Errorf("HS256 kid not stable: %q then %+v", kid, k)
	}
	if _, err := bare.Rotate(ctx, domain.Event{}); err == nil {
		t.Error("Rotate() under HS256 without a store error = nil; want an error")
	}
}

func TestLoadGeneratesOnceAndIsCheap(t *testing.T) {
	t.Parallel()
	for _, alg := range asymAlgs {
		t.Run(alg, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, alg, 0)
			keys, err := e.ring.Keys(context.Background())
			if err != nil || len(keys) != 1 || !keys[0].Active() || keys[0].Algorithm != alg || keys[0].Private != nil {
				t.Fatalf("Keys() after first Load = %+v, %v; want one active %s key without material", keys, err, alg)
			}
			jwks1, _ := e.ring.JWKS()
			lists, rotates, _ := e.store.counts()
			for range 3 {
				if err := e.ring.Load(context.Background()); err != nil {
					t.Fatalf("Load() error = %v", err)
				}
			}
			jwks2, _ := e.ring.JWKS()
			if l, r, d := e.store.counts(); l != lists+3 || r != rotates || d != 0 {
				t.Errorf("3 repeated Loads: %d lists, %d rotates, %d deletes; want 3 lists and no writes", l-lists, r-rotates, d)
			}
			if string(jwks1) != string(jwks2) {
				t.Errorf("JWKS changed although the keys did not: %s then %s", jwks1, jwks2)
			}
			// A second ring on the same store (another replica) adopts the key.
			other, err := token.NewKeyring(e.store, alg, nil, retain, e.clock.Now)
			if err != nil {
				t.Fatalf("NewKeyring() error = %v", err)
			}
			if err := other.Load(context.Background()); err != nil {
				t.Fatalf("Load() error = %v", err)
			}
			tok := e.issue(t, e.userClaims())
			ver := token.NewVerifier(other, testIssuer, testAudience, leeway, e.clock.Now, 8)
			if _, err := ver.Verify(context.Background(), tok); err != nil {
				t.Fatalf("replica Verify() error = %v", err)
			}
		})
	}
}

func TestJWKSFormat(t *testing.T) {
	t.Parallel()
	want := map[string][]string{
		token.AlgEdDSA: {"alg", "crv", "kid", "kty", "use", "x"},
		token.AlgES256: {"alg", "crv", "kid", "kty", "use", "x", "y"},
		token.AlgRS256: {"alg", "e", "kid", "kty", "n", "use"},
	}
	for _, alg := range asymAlgs {
		e := newEnv(t, alg, 0)
		raw, err := e.ring.JWKS()
		if err != nil {
			t.Fatalf("JWKS() error = %v", err)
		}
		var doc struct{ Keys []map[string]string }
		if err := json.Unmarshal(raw, &doc); err != nil || len(doc.Keys) != 1 {
			t.Fatalf("JWKS() = %s, %v; want one key", raw, err)
		}
		k := doc.Keys[0]
		fields := make([]string, 0, len(k))
		for f := range k {
			fields = append(fields, f)
		}
		slices.Sort(fields)
		if !slices.Equal(fields, want[alg]) || k["use"] != "sig" || k["alg"] != alg || k["kid"] != e.activeKid(t) {
			t.Errorf("%s JWK = %v; want fields %v with use sig", alg, k, want[alg])
		}
		if strings.Contains(string(raw), `"d"`) || strings.Contains(string(raw), `"p"`) {
			t.Errorf("%s JWKS carries private parameters: %s", alg, raw)
		}
	}
}

// TestConcurrentUse exercises issue and verify against rotations and loads
// under the race detector.
func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, token.AlgEdDSA, 32)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				tok, err := e.iss.Issue(ctx, e.userClaims())
				if err != nil {
					t.Errorf("Issue() error = %v", err)
					return
				}
				for range 3 {
					if _, err := e.ver.Verify(ctx, tok); err != nil && !errors.Is(err, domain.ErrTokenInvalid) {
						t.Errorf("Verify() error = %v", err)
						return
					}
				}
			}
		}()
	}
	for i := range 20 {
		if _, err := e.ring.Rotate(ctx, domain.Event{}); err != nil {
			t.Fatalf("Rotate() error = %v", err)
		}
		e.clock.Set(t0.Add(time.Duration(i) * time.Minute))
		if err := e.ring.Load(ctx); err != nil {
			t.Fatalf("Load() error = %v", err)
		}
	}
	close(stop)
	wg.Wait()
}
