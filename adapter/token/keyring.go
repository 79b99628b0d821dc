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
	active *ringKey            // signs new tokens; nil until a load found one
	byID   map[string]*ringKey // active + retired within retain, this alg only
	jwks   []byte              // RFC 7517 document of byID
}

// Keyring holds the signing keys of one algorithm. Asymmetric keys live in
// a domain.KeyStore so that every replica signs with the same key; an HS256
// ring signs with the configured secret and keeps in the store only a row
// that records HS256 as the active algorithm (hsMarker). It is safe for
// concurrent use.
//
// Which algorithm is active is the store's business, and it only changes
// through Rotate: loading never generates or activates a key when the
// store holds any, so two replicas (or a CLI command) configured with
// different algorithms cannot rotate each other. A ring whose algorithm is
// not the active key's refuses to load (MismatchError).
type Keyring struct {
	store  domain.KeyStore
	alg    string
	retain time.Duration
	now    func() time.Time

	mu   sync.Mutex // serialises loads and Rotate; readers use snap
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
// asymmetric ring has no key until it is loaded. An HS256 ring may have a
// nil store: it then never checks which algorithm is active.
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

// ActiveKid returns the kid new tokens are signed with, or "" while the
// ring has no key.
func (r *Keyring) ActiveKid() string {
	if k := r.snap.Load().active; k != nil {
		return k.id
	}
	return ""
}

// Init is the start-up load of a ring that is going to sign: a server's.
// When the store holds no key at all (a first start) it creates the first
// key of the ring's algorithm and returns its kid; that is the only case in
// which loading writes a key. Otherwise it returns "" and loads the keys.
// It fails, leaving the ring as it was, when the store's active key has
// another algorithm (*MismatchError), is refused by a SealedKeyStore
// (*UnsealedKeyError), or is missing (ErrNoActiveKey). Retired keys older
// than retain are deleted from the store.
func (r *Keyring) Init(ctx context.Context) (string, error) {
	if r.store == nil {
		return "", nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.load(ctx, true)
}

// Load is Init for callers that do not report the first key, such as
// programs embedding a ring over their own store.
func (r *Keyring) Load(ctx context.Context) error {
	_, err := r.Init(ctx)
	return err
}

// Reload picks up rotations made elsewhere (another replica, the CLI);
// replicas call it periodically, and when nothing changed it costs one
// ListKeys call. It never writes a key, not even on an empty store. When
// the store is in a state the ring must not follow (no key, no active key,
// an active key of another algorithm or a refused one) it keeps the keys
// it has, so a running server goes on signing and verifying as before, and
// returns the error for the caller to report.
func (r *Keyring) Reload(ctx context.Context) error {
	if r.store == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	_, err := r.load(ctx, false)
	return err
}

// Rotate generates a new key of the ring's algorithm, makes it the active
// signing key and returns its kid; the previous key stays accepted for
// retain. Rotation is the one way to change the active algorithm: it
// retires the active key whatever its algorithm (callers decide whether
// that is wanted) and never reads it, so it also replaces a refused key.
// For HS256 it activates HS256 (an hsMarker row); when HS256 is already
// active it refuses, since a new HS256 key is a new configured secret.
//
// When event.Type is set, event commits with the new key (the store's
// RotateKey), its Details.Kid and Details.Alg filled in with the new key's.
func (r *Keyring) Rotate(ctx context.Context, event domain.Event) (string, error) {
	if r.store == nil {
		return "", errHSRotate()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.alg == AlgHS256 {
		stored, err := r.store.ListKeys(ctx)
		if err != nil {
			return "", fmt.Errorf("rotate key: %w", err)
		}
		if a := activeKey(stored); a != nil && a.Algorithm == AlgHS256 && !isRefused(a.Private) {
			return "", errHSRotate()
		}
	}
	k, err := r.newKey()
	if err != nil {
		return "", fmt.Errorf("rotate key: %w", err)
	}
	var events []domain.Event
	if event.Type != "" {
		event.Details.Kid, event.Details.Alg = k.ID, k.Algorithm
		events = []domain.Event{event}
	}
	if err := r.store.RotateKey(ctx, k, events); err != nil {
		return "", fmt.Errorf("rotate key: %w", err)
	}
	if _, err := r.load(ctx, false); err != nil {
		return "", fmt.Errorf("rotate key: %s is active but the keys did not reload: %w", k.ID, err)
	}
	return k.ID, nil
}

// errHSRotate is Rotate's answer when HS256 is already active (or there
// is no store to record a switch to HS256 in).
func errHSRotate() error {
	return &domain.ValidationError{Code: domain.CodeInvalidRequest, Message: "HS256 keys are rotated by configuring a new shared secret"}
}

// Keys lists the stored keys (every algorithm), newest first, without their
// private material. An HS256 ring without a store lists its one
// secret-derived kid.
func (r *Keyring) Keys(ctx context.Context) ([]domain.SigningKey, error) {
	if r.store == nil {
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
