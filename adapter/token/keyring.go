// Package token signs and verifies access tokens (JWT, golang-jwt) and
// manages the signing keys behind them: it implements domain.TokenIssuer,
// domain.TokenVerifier and domain.KeyManager and publishes the JWKS.
package token

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse-auth/gatehouse/domain"
)

// snapshot is an immutable view of the accepted keys. Readers load it
// through an atomic pointer, so the verify path takes no lock.
type snapshot struct {
	active *ringKey            // signs new tokens; nil until Load made one
	byID   map[string]*ringKey // active + retired within retain, this alg only
	jwks   []byte              // RFC 7517 document of byID
}

// Keyring holds the signing keys of one algorithm. Asymmetric keys live in
// a domain.KeyStore so that every replica signs with the same key; an HS256
// ring holds only the configured secret. It is safe for concurrent use.
type Keyring struct {
	store  domain.KeyStore
	alg    string
	retain time.Duration
	now    func() time.Time

	mu   sync.Mutex // serialises Load and Rotate; readers use snap
	snap atomic.Pointer[snapshot]
	// removals counts keys that left the accepted set. Verifiers compare
	// it with the value their cache was filled under and empty the cache
	// when it moved.
	removals atomic.Uint64
}

var _ domain.KeyManager = (*Keyring)(nil)

// NewKeyring returns a key ring for alg (EdDSA, ES256, RS256 or HS256).
// secret is used only by HS256 and must be at least MinSecretBytes long.
// retain is how long a retired key stays published and accepted; pass at
// least the access token lifetime plus the verification leeway. An
// asymmetric ring has no key until Load is called.
func NewKeyring(store domain.KeyStore, alg string, secret []byte, retain time.Duration, now func() time.Time) (*Keyring, error) {
	if _, err := signingMethod(alg); err != nil {
		return nil, err
	}
	if now == nil {
		now = time.Now
	}
	r := &Keyring{store: store, alg: alg, retain: retain, now: now}
	if alg == AlgHS256 {
		if len(secret) < MinSecretBytes {
			return nil, fmt.Errorf("hs256 secret must be at least %d bytes", MinSecretBytes)
		}
		k := secretKey(secret)
		r.snap.Store(&snapshot{active: k, byID: map[string]*ringKey{k.id: k}, jwks: []byte(`{"keys":[]}`)})
		return r, nil
	}
	if store == nil {
		return nil, errors.New("asymmetric signing needs a key store")
	}
	r.snap.Store(&snapshot{byID: map[string]*ringKey{}, jwks: []byte(`{"keys":[]}`)})
	return r, nil
}

// Algorithm returns the JWS alg the ring signs and verifies with.
func (r *Keyring) Algorithm() string { return r.alg }

// Load reads the keys from the store. If there is no active key of the
// ring's algorithm it generates one and stores it (retiring any other).
// Retired keys older than retain are dropped and deleted from the store.
// Replicas call Load periodically to pick up rotations made elsewhere;
// when nothing changed it costs one ListKeys call. HS256 rings need no
// loading and return nil.
func (r *Keyring) Load(ctx context.Context) error {
	if r.alg == AlgHS256 {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.load(ctx)
}

// Rotate generates a new key, makes it the active signing key and returns
// its kid. The previous key stays accepted for retain. HS256 rings cannot
// rotate: that needs a new shared secret in the configuration.
func (r *Keyring) Rotate(ctx context.Context) (string, error) {
	if r.alg == AlgHS256 {
		return "", &domain.ValidationError{Code: "invalid_request", Message: "HS256 keys are rotated by configuring a new shared secret"}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	k, err := generateKey(r.alg, r.now())
	if err != nil {
		return "", fmt.Errorf("rotate key: %w", err)
	}
	if err := r.store.RotateKey(ctx, k); err != nil {
		return "", fmt.Errorf("rotate key: %w", err)
	}
	if err := r.load(ctx); err != nil {
		return "", fmt.Errorf("rotate key: %w", err)
	}
	return k.ID, nil
}

// Keys lists the known keys, newest first, without their private material.
// Asymmetric rings list the store (every algorithm); an HS256 ring lists
// its one secret-derived kid.
func (r *Keyring) Keys(ctx context.Context) ([]domain.SigningKey, error) {
	if r.alg == AlgHS256 {
		k := r.snap.Load().active
		return []domain.SigningKey{{ID: k.id, Algorithm: AlgHS256}}, nil
	}
	keys, err := r.store.ListKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("list keys: %w", err)
	}
	for i := range keys {
		keys[i].Private = nil
	}
	return keys, nil
}

// JWKS returns the RFC 7517 JSON document of the public keys currently
// accepted: the active key and those retired within retain. An HS256 ring
// publishes no keys. The document is rendered when the key set changes;
// each call returns its own copy.
func (r *Keyring) JWKS() ([]byte, error) { return bytes.Clone(r.snap.Load().jwks), nil }

// active returns the current signing key, or nil.
func (r *Keyring) active() *ringKey { return r.snap.Load().active }

// generation returns the removal count (keySource).
func (r *Keyring) generation(context.Context) uint64 { return r.removals.Load() }

// verificationKey returns the alg and verification key of the accepted
// key kid, or errUnknownKid (keySource).
func (r *Keyring) verificationKey(_ context.Context, kid string) (string, any, error) {
	k := r.snap.Load().byID[kid]
	if k == nil {
		return "", nil, errUnknownKid
	}
	return k.alg, k.verify, nil
}

// load does the work of Load; r.mu must be held.
func (r *Keyring) load(ctx context.Context) error {
	stored, err := r.store.ListKeys(ctx)
	if err != nil {
		return fmt.Errorf("load keys: %w", err)
	}
	if !hasActive(stored, r.alg) {
		k, err := generateKey(r.alg, r.now())
		if err != nil {
			return fmt.Errorf("load keys: %w", err)
		}
		if err := r.store.RotateKey(ctx, k); err != nil {
			return fmt.Errorf("load keys: store new key: %w", err)
		}
		if stored, err = r.store.ListKeys(ctx); err != nil {
			return fmt.Errorf("load keys: %w", err)
		}
	}
	now := r.now()
	old := r.snap.Load()
	next := &snapshot{byID: make(map[string]*ringKey, len(stored))}
	changed := false
	for _, sk := range stored {
		if !sk.Active() && now.Sub(sk.RetiredAt) > r.retain {
			if err := r.store.DeleteKey(ctx, sk.ID); err != nil && !errors.Is(err, domain.ErrNotFound) {
				return fmt.Errorf("load keys: delete expired key %s: %w", sk.ID, err)
			}
			continue
		}
		if sk.Algorithm != r.alg {
			continue // another algorithm's key: neither accepted nor published
		}
		k := old.byID[sk.ID]
		if k == nil || !k.retiredAt.Equal(sk.RetiredAt) {
			if k, err = reuseOrParse(k, sk); err != nil {
				return fmt.Errorf("load keys: %w", err)
			}
			changed = true
		}
		next.byID[k.id] = k
		if k.retiredAt.IsZero() && (next.active == nil || k.createdAt.After(next.active.createdAt)) {
			next.active = k
		}
	}
	if next.active == nil {
		return errors.New("load keys: no active key after rotation")
	}
	removed := false
	for id := range old.byID {
		if _, ok := next.byID[id]; !ok {
			removed = true
		}
	}
	if !changed && !removed && next.active == old.active {
		return nil
	}
	if next.jwks, err = encodeJWKS(next.byID); err != nil {
		return fmt.Errorf("load keys: %w", err)
	}
	r.snap.Store(next)
	if removed {
		// After the new snapshot is visible, so a verifier that sees the new
		// count can no longer find the removed key.
		r.removals.Add(1)
	}
	return nil
}

// reuseOrParse returns the ring key for sk, reusing the parsed material of
// prev (same kid) when only the retirement time changed.
func reuseOrParse(prev *ringKey, sk domain.SigningKey) (*ringKey, error) {
	if prev == nil {
		return parseKey(sk)
	}
	k := *prev
	k.retiredAt = sk.RetiredAt
	return &k, nil
}

// hasActive reports whether keys include an active key of alg.
func hasActive(keys []domain.SigningKey, alg string) bool {
	return slices.ContainsFunc(keys, func(k domain.SigningKey) bool { return k.Active() && k.Algorithm == alg })
}

// encodeJWKS renders the public keys, newest first.
func encodeJWKS(byID map[string]*ringKey) ([]byte, error) {
	keys := make([]*ringKey, 0, len(byID))
	for _, k := range byID {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b *ringKey) int { return b.createdAt.Compare(a.createdAt) })
	doc := struct {
		Keys []*jwkJSON `json:"keys"`
	}{Keys: make([]*jwkJSON, 0, len(keys))}
	for _, k := range keys {
		doc.Keys = append(doc.Keys, k.jwk)
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("encode jwks: %w", err)
	}
	return b, nil
}
