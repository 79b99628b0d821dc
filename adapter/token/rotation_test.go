package token_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/adapter/token"
	"github.com/gatehouse-auth/gatehouse/domain"
)

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
			newKid, err := e.ring.Rotate(ctx, domain.Event{})
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
	newKid, err := a.ring.Rotate(ctx, domain.Event{})
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
// EdDSA: loading refuses (the ring never takes over on its own), Rotate
// switches explicitly, and afterwards the ring neither publishes nor
// accepts the EdDSA key while an EdDSA ring refuses in turn.
func TestAlgorithmSwitch(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ed := newEnv(t, token.AlgEdDSA, 0)
	edTok := ed.issue(t, ed.userClaims())
	edKid := ed.activeKid(t)
	ed.clock.Set(t0.Add(time.Second))
	es, err := token.NewKeyring(ed.store, token.AlgES256, nil, retain, ed.clock.Now)
	if err != nil {
		t.Fatalf("NewKeyring() error = %v", err)
	}
	var mismatch *token.MismatchError
	if err := es.Load(ctx); !errors.As(err, &mismatch) || mismatch.Active != token.AlgEdDSA || mismatch.Ring != token.AlgES256 || mismatch.Kid != edKid {
		t.Fatalf("Load() of an ES256 ring over an EdDSA key = %v; want a MismatchError naming both", err)
	}
	if _, r, _ := ed.store.counts(); r != 1 {
		t.Fatalf("refused Load wrote to the store (%d rotations)", r)
	}
	kid, err := es.Rotate(ctx, domain.Event{})
	if err != nil {
		t.Fatalf("Rotate() error = %v", err)
	}
	keys, _ := es.Keys(ctx)
	if len(keys) != 2 || keys[0].ID != kid || keys[0].Algorithm != token.AlgES256 || !keys[0].Active() || keys[1].Active() {
		t.Fatalf("Keys() = %+v; want the active ES256 key and the retired EdDSA one", keys)
	}
	if got := jwksKids(t, es); !slices.Equal(got, []string{kid}) {
		t.Fatalf("JWKS kids = %v; want only the ES256 key", got)
	}
	ver := token.NewVerifier(es, testIssuer, testAudience, leeway, ed.clock.Now, 0)
	if _, err := ver.Verify(ctx, edTok); !errors.Is(err, domain.ErrTokenInvalid) {
		t.Fatalf("Verify(EdDSA token) on ES256 ring error = %v; want ErrTokenInvalid", err)
	}
	// The EdDSA ring refuses to follow, and keeps what it had.
	if err := ed.ring.Reload(ctx); !errors.As(err, &mismatch) {
		t.Fatalf("EdDSA ring Reload() after the switch = %v; want a MismatchError", err)
	}
	if got := ed.ring.ActiveKid(); got != edKid {
		t.Errorf("EdDSA ring after a refused Reload signs with %q; want %q", got, edKid)
	}
}
