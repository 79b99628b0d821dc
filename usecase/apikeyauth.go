package usecase

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/gatehouse-auth/gatehouse/domain"
)

// Authenticate checks a key presented on a request and returns the claims
// it acts with: its user, its scope, no roles, and KeyID. Any valid prefix
// is accepted, not only the policy's (which is that of new keys): changing
// GATEHOUSE_API_KEY_PREFIX leaves existing keys working, and the lookup is
// by hash anyway. It refuses a malformed key or a bad checksum
// (domain.ErrTokenInvalid) before any lookup; an unknown key is
// ErrTokenInvalid, an expired one ErrTokenExpired, a revoked one (or one
// whose user is disabled) ErrTokenRevoked.
func (k *APIKeys) Authenticate(ctx context.Context, key string) (*domain.Claims, error) {
	if !domain.CheckAnyAPIKey(key) { // keys of an earlier prefix too
		return nil, domain.ErrTokenInvalid
	}
	now := k.now()
	e, err := k.entry(ctx, sha256.Sum256([]byte(key)), now)
	switch {
	case err != nil:
		return nil, err
	case e.refused != nil:
		return nil, e.refused
	case !now.Before(e.claims.ExpiresAt):
		return nil, domain.ErrTokenExpired
	case k.revoked.Revoked(e.revocationID):
		return nil, domain.ErrTokenRevoked
	}
	if e.touchDue(now) {
		k.touches.add(e.claims.KeyID, now)
	}
	c := e.claims
	return &c, nil
}

// entry returns what is cached of the key with hash h, or reads it from
// the store: one read shared by every request for the same key meanwhile.
func (k *APIKeys) entry(ctx context.Context, h keyHash, now time.Time) (*keyEntry, error) {
	if e, ok := k.cache.get(h, now); ok {
		return e, nil
	}
	if e, ok := k.refused.get(h, now); ok {
		return e, nil
	}
	return k.loads.do(ctx, h, func(ctx context.Context) (*keyEntry, error) { return k.load(ctx, h, now) })
}

// load reads the key with hash h from the store (one indexed read) and
// caches the answer: the claims of a usable key, or its refusal.
func (k *APIKeys) load(ctx context.Context, h keyHash, now time.Time) (*keyEntry, error) {
	g, err := k.store.APIKeyGrant(ctx, h[:])
	var refusal error
	switch {
	case errors.Is(err, domain.ErrNotFound):
		refusal = domain.ErrTokenInvalid
	case err != nil:
		return nil, fmt.Errorf("find api key: %w", err) // an outage is not cached
	case g.Key.Revoked() || g.User.Disabled:
		refusal = domain.ErrTokenRevoked
	case !now.Before(g.Key.ExpiresAt):
		refusal = domain.ErrTokenExpired
	}
	if refusal != nil {
		e := &keyEntry{refused: refusal, cachedAt: now}
		k.refused.put(h, e)
		return e, nil
	}
	e := &keyEntry{
		claims: domain.Claims{
			Subject:   g.User.ID,
			Username:  g.User.Username,
			Scope:     slices.Clip(g.Key.Scope),
			KeyID:     g.Key.ID,
			IssuedAt:  g.Key.CreatedAt,
			ExpiresAt: g.Key.ExpiresAt,
		},
		revocationID: g.Key.RevocationID(),
		cachedAt:     now,
	}
	if !g.Key.LastUsedAt.IsZero() {
		e.lastTouch.Store(g.Key.LastUsedAt.UnixNano())
	}
	k.cache.put(h, e)
	return e, nil
}

// Jobs is the periodic work of the key cache: writing last_used_at of the
// keys used since the last run (at most once a minute per key, by a
// conditional store write that holds across replicas too).
func (k *APIKeys) Jobs() []Job {
	return []Job{{Name: "api key last use", Every: 5 * time.Second, Run: k.FlushLastUse}}
}

// FlushLastUse writes the last use of the keys used since the previous
// flush. A failed write is dropped: last_used_at is a hint.
func (k *APIKeys) FlushLastUse(ctx context.Context) {
	for id, at := range k.touches.take() {
		if ctx.Err() != nil {
			return
		}
		_, _ = k.store.TouchAPIKey(ctx, id, at, apiKeyTouchEvery) // a hint; the next use retries
	}
}
