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

func TestHS256Ring(t *testing.T) {
	t.Parallel()
	e := newEnv(t, token.AlgHS256, 0)
	ctx := context.Background()
	if _, err := e.ring.Rotate(ctx); err == nil {
		t.Error("Rotate() under HS256 error = nil; want an error")
	}
	if jwks, err := e.ring.JWKS(); err != nil || string(jwks) != `{"keys":[]}` {
		t.Errorf("JWKS() = %s, %v; want an empty key set", jwks, err)
	}
	keys, err := e.ring.Keys(ctx)
	if err != nil || len(keys) != 1 || keys[0].Algorithm != token.AlgHS256 || keys[0].Private != nil {
		t.Fatalf("Keys() = %+v, %v; want one HS256 key without material", keys, err)
	}
	kid := keys[0].ID
	if strings.Contains(kid, string(e.secret)) || len(kid) > 24 {
		t.Errorf("HS256 kid = %q; want a short id not containing the secret", kid)
	}
	again, err := token.NewKeyring(nil, token.AlgHS256, e.secret, retain, nil)
	if err != nil {
		t.Fatalf("NewKeyring() error = %v", err)
	}
	if k, _ := again.Keys(ctx); k[0].ID != kid {
		t.Errorf("HS256 kid not stable: %q then %q", kid, k[0].ID)
	}
	if l, r, d := e.store.counts(); l+r+d != 0 {
		t.Errorf("HS256 ring touched the store (%d lists, %d rotates, %d deletes)", l, r, d)
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
			_, rotates, _ := e.store.counts()
			for range 3 {
				if err := e.ring.Load(context.Background()); err != nil {
					t.Fatalf("Load() error = %v", err)
				}
			}
			jwks2, _ := e.ring.JWKS()
			if _, r, d := e.store.counts(); r != rotates || d != 0 {
				t.Errorf("repeated Load rotated %d and deleted %d times; want no writes", r-rotates, d)
			}
			if &jwks1[0] != &jwks2[0] {
				t.Error("repeated Load rebuilt the key set although nothing changed")
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

func TestRotation(t *testing.T) {
	t.Parallel()
	for _, alg := range asymAlgs {
		t.Run(alg, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			e := newEnv(t, alg, 64)
			oldKid := e.activeKid(t)
			// A token that outlives retain shows that removal, not expiry,
			// is what ends it.
			c := e.userClaims()
			c.ExpiresAt = t0.Add(24 * time.Hour)
			oldTok := e.issue(t, c)
			if _, err := e.ver.Verify(ctx, oldTok); err != nil { // now cached
				t.Fatalf("Verify(old) error = %v", err)
			}

			rotatedAt := t0.Add(time.Minute)
			e.clock.Set(rotatedAt)
			newKid, err := e.ring.Rotate(ctx)
			if err != nil || newKid == oldKid || newKid == "" {
				t.Fatalf("Rotate() = %q, %v; want a new kid", newKid, err)
			}
			newTok := e.issue(t, e.userClaims())
			if kid := decodeSegment(t, newTok, 0)["kid"]; kid != newKid {
				t.Fatalf("new token kid = %v; want %q", kid, newKid)
			}
			for name, tok := range map[string]string{"old": oldTok, "new": newTok} {
				if _, err := e.ver.Verify(ctx, tok); err != nil {
					t.Fatalf("Verify(%s) during overlap error = %v", name, err)
				}
			}
			if got := jwksKids(t, e.ring); !slices.Equal(got, []string{newKid, oldKid}) {
				t.Fatalf("JWKS kids during overlap = %v; want [%s %s]", got, newKid, oldKid)
			}
			keys, _ := e.ring.Keys(ctx)
			if len(keys) != 2 || keys[0].ID != newKid || !keys[1].RetiredAt.Equal(rotatedAt) {
				t.Fatalf("Keys() = %+v; want new active key then old retired at %v", keys, rotatedAt)
			}

			// Exactly at retain the old key is still accepted.
			e.clock.Set(rotatedAt.Add(retain))
			if err := e.ring.Load(ctx); err != nil {
				t.Fatalf("Load() error = %v", err)
			}
			if _, err := e.ver.Verify(ctx, oldTok); err != nil {
				t.Fatalf("Verify(old) at retain error = %v", err)
			}

			e.clock.Set(rotatedAt.Add(retain + time.Second))
			if _, err := e.ver.Verify(ctx, oldTok); err != nil {
				t.Fatalf("Verify(old) before Load error = %v; the ring only drops keys on Load", err)
			}
			if err := e.ring.Load(ctx); err != nil {
				t.Fatalf("Load() error = %v", err)
			}
			if _, err := e.ver.Verify(ctx, oldTok); !errors.Is(err, domain.ErrTokenInvalid) {
				t.Fatalf("Verify(old) after retain error = %v; want ErrTokenInvalid", err)
			}
			if e.store.has(oldKid) {
				t.Error("old key still in the store after retain")
			}
			if got := jwksKids(t, e.ring); !slices.Equal(got, []string{newKid}) {
				t.Fatalf("JWKS kids after retain = %v; want [%s]", got, newKid)
			}
			if _, err := e.ver.Verify(ctx, e.issue(t, e.userClaims())); err != nil {
				t.Fatalf("Verify(new) after retain error = %v", err)
			}
		})
	}
}

// TestRotationSeenByReplica rotates on one ring and checks that another
// ring on the same store follows after Load.
func TestRotationSeenByReplica(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a := newEnv(t, token.AlgEdDSA, 16)
	b, err := token.NewKeyring(a.store, token.AlgEdDSA, nil, retain, a.clock.Now)
	if err != nil {
		t.Fatalf("NewKeyring() error = %v", err)
	}
	if err := b.Load(ctx); err != nil {
		t.Fatalf("Load() error = %v", err)
	}
	newKid, err := a.ring.Rotate(ctx)
	if err != nil {
		t.Fatalf("Rotate() error = %v", err)
	}
	bVer := token.NewVerifier(b, testIssuer, testAudience, leeway, a.clock.Now, 16)
	tok := a.issue(t, a.userClaims())
	if _, err := bVer.Verify(ctx, tok); !errors.Is(err, domain.ErrTokenInvalid) {
		t.Fatalf("replica Verify() before Load error = %v; want ErrTokenInvalid (unknown kid)", err)
	}
	if err := b.Load(ctx); err != nil {
		t.Fatalf("Load() error = %v", err)
	}
	if _, err := bVer.Verify(ctx, tok); err != nil {
		t.Fatalf("replica Verify() after Load error = %v", err)
	}
	bTok, err := token.NewIssuer(b, testIssuer, testAudience).Issue(ctx, a.userClaims())
	if err != nil || decodeSegment(t, bTok, 0)["kid"] != newKid {
		t.Fatalf("replica signs with kid %v, %v; want %s", decodeSegment(t, bTok, 0)["kid"], err, newKid)
	}
}

// TestAlgorithmSwitch starts an ES256 ring on a store whose active key is
// EdDSA: it makes its own key and neither publishes nor accepts the other.
func TestAlgorithmSwitch(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ed := newEnv(t, token.AlgEdDSA, 0)
	edTok := ed.issue(t, ed.userClaims())
	ed.clock.Set(t0.Add(time.Second))
	es, err := token.NewKeyring(ed.store, token.AlgES256, nil, retain, ed.clock.Now)
	if err != nil {
		t.Fatalf("NewKeyring() error = %v", err)
	}
	if err := es.Load(ctx); err != nil {
		t.Fatalf("Load() error = %v", err)
	}
	keys, _ := es.Keys(ctx)
	if len(keys) != 2 || keys[0].Algorithm != token.AlgES256 || !keys[0].Active() || keys[1].Active() {
		t.Fatalf("Keys() = %+v; want an active ES256 key and the retired EdDSA one", keys)
	}
	if got := jwksKids(t, es); !slices.Equal(got, []string{keys[0].ID}) {
		t.Fatalf("JWKS kids = %v; want only the ES256 key", got)
	}
	ver := token.NewVerifier(es, testIssuer, testAudience, leeway, ed.clock.Now, 0)
	if _, err := ver.Verify(ctx, edTok); !errors.Is(err, domain.ErrTokenInvalid) {
		t.Fatalf("Verify(EdDSA token) on ES256 ring error = %v; want ErrTokenInvalid", err)
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
		if _, err := e.ring.Rotate(ctx); err != nil {
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

func jwksKids(tb testing.TB, r *token.Keyring) []string {
	tb.Helper()
	raw, err := r.JWKS()
	if err != nil {
		tb.Fatalf("JWKS() error = %v", err)
	}
	var doc struct{ Keys []struct{ Kid string } }
	if err := json.Unmarshal(raw, &doc); err != nil {
		tb.Fatalf("parse JWKS: %v", err)
	}
	kids := make([]string, 0, len(doc.Keys))
	for _, k := range doc.Keys {
		kids = append(kids, k.Kid)
	}
	return kids
}
