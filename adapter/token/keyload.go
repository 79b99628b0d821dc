package token

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/gatehouse-auth/gatehouse/domain"
)

// ErrNoKey is returned by Reload when the store holds no signing key at
// all. Only Init (and Load) create the first key.
var ErrNoKey = errors.New("the store holds no signing key")

// ErrNoActiveKey is returned when the store holds keys but none is active,
// which RotateKey never leaves behind: the rows were changed by hand.
var ErrNoActiveKey = errors.New("the store holds signing keys but none is active")

// MismatchError reports that the store's active key has another algorithm
// than the ring: the algorithm changes only through an explicit rotation,
// so the ring refuses rather than activating a key of its own.
type MismatchError struct {
	Kid    string // the active key
	Active string // its algorithm
	Ring   string // the ring's algorithm
}

func (e *MismatchError) Error() string {
	return fmt.Sprintf("the active signing key %s is %s but this key ring signs with %s", e.Kid, e.Active, e.Ring)
}

// UnsealedKeyError reports that the active key is stored unencrypted
// although the store is a SealedKeyStore. Such a row is refused: with a
// key-encryption key, nobody can plant a signing key by writing to the
// database. Rotate replaces it without reading it.
type UnsealedKeyError struct {
	Kid string
}

func (e *UnsealedKeyError) Error() string {
	return fmt.Sprintf("the active signing key %s is stored unencrypted although a key encryption key is configured: it is refused", e.Kid)
}

// hsMarker is the private material of an HS256 row. HS256 signs with the
// configured shared secret, which is never stored: the row only records
// that HS256 is the active algorithm, so that an asymmetric ring refuses
// it like any other algorithm's key, and the other way round.
const hsMarker = "gatehouse-hs256: the shared secret is configured, not stored"

// newKey makes a key of the ring's algorithm: generated for asymmetric
// algorithms, an hsMarker row for HS256.
func (r *Keyring) newKey() (*domain.SigningKey, error) {
	if r.alg != AlgHS256 {
		return generateKey(r.alg, r.now())
	}
	b := make([]byte, 12)
	rand.Read(b) // never fails: crypto/rand crashes the program instead
	return &domain.SigningKey{ID: "hs256-" + b64url.EncodeToString(b), Algorithm: AlgHS256, Private: []byte(hsMarker), CreatedAt: r.now()}, nil
}

// load reads the store and, when it is in a state the ring may follow,
// makes it the ring's snapshot; otherwise the snapshot stays as it was.
// With create, an empty store first gets the ring's first key, whose kid is
// returned. r.mu must be held.
func (r *Keyring) load(ctx context.Context, create bool) (string, error) {
	stored, err := r.store.ListKeys(ctx)
	if err != nil {
		return "", fmt.Errorf("load keys: %w", err)
	}
	created := ""
	if len(stored) == 0 && create {
		k, err := r.newKey()
		if err != nil {
			return "", fmt.Errorf("load keys: %w", err)
		}
		if err := r.store.RotateKey(ctx, k, nil); err != nil {
			return "", fmt.Errorf("load keys: store the first key: %w", err)
		}
		created = k.ID
		if stored, err = r.store.ListKeys(ctx); err != nil {
			return created, fmt.Errorf("load keys: %w", err)
		}
	}
	active := activeKey(stored)
	switch {
	case len(stored) == 0:
		return created, ErrNoKey
	case active == nil:
		return created, ErrNoActiveKey
	case isRefused(active.Private):
		return created, &UnsealedKeyError{Kid: active.ID}
	case active.Algorithm != r.alg:
		return created, &MismatchError{Kid: active.ID, Active: active.Algorithm, Ring: r.alg}
	}
	return created, r.apply(ctx, stored)
}

// apply deletes the retired keys older than retain from the store and
// makes the accepted keys of the ring's algorithm its snapshot. Rows a
// SealedKeyStore refused are skipped: they never sign or verify. An HS256
// ring's snapshot is its secret and does not change.
func (r *Keyring) apply(ctx context.Context, stored []domain.SigningKey) error {
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
		if sk.Algorithm != r.alg || r.alg == AlgHS256 || isRefused(sk.Private) {
			continue // neither accepted nor published
		}
		k := old.byID[sk.ID]
		if k == nil || !k.retiredAt.Equal(sk.RetiredAt) {
			var err error
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
	if r.alg == AlgHS256 {
		return nil
	}
	if next.active == nil {
		return ErrNoActiveKey
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
	var err error
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

// activeKey returns the newest active key of keys (the store keeps at most
// one), or nil.
func activeKey(keys []domain.SigningKey) *domain.SigningKey {
	var a *domain.SigningKey
	for i := range keys {
		if keys[i].Active() && (a == nil || keys[i].CreatedAt.After(a.CreatedAt)) {
			a = &keys[i]
		}
	}
	return a
}
