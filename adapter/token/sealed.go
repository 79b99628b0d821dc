package token

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/gatehouse-auth/gatehouse/domain"
)

// sealedPrefix marks private key material encrypted by SealedKeyStore.
const sealedPrefix = "gatehouse-sealed-v1:"

// refusedPrivate replaces, in what SealedKeyStore.ListKeys returns, the
// private material of a row stored in the clear. It is not PKCS#8 (which
// starts with 0x30), so nothing can parse it as a key.
const refusedPrivate = "gatehouse-refused: stored unencrypted under a key encryption key"

// SealedKeyStore wraps a domain.KeyStore so that private signing keys are
// encrypted at rest (AES-256-GCM under a key derived from the operator's
// key-encryption key, bound to the kid). A copy of the database alone then
// yields no signing key, and writing to the database cannot plant one:
// every row must be sealed under this key. A row stored in the clear
// (planted, or written before encryption was turned on) is listed with its
// material replaced by refusedPrivate, so the Keyring never signs or
// verifies with it and refuses to start on it when it is the active key;
// Rotate replaces it. A sealed row that does not open fails the listing.
type SealedKeyStore struct {
	domain.KeyStore
	sealer *sealer
}

// NewSealedKeyStore returns store with encryption at rest under kek, which
// must be at least 32 bytes of secret material.
func NewSealedKeyStore(store domain.KeyStore, kek []byte) (*SealedKeyStore, error) {
	sl, err := newSealer(kek, "gatehouse signing key encryption", sealedPrefix)
	if err != nil {
		return nil, err
	}
	return &SealedKeyStore{KeyStore: store, sealer: sl}, nil
}

// RotateKey encrypts k's private key, bound to its kid, and stores it with
// events.
func (s *SealedKeyStore) RotateKey(ctx context.Context, k *domain.SigningKey, events []domain.Event) error {
	sealed := *k
	sealed.Private = s.sealer.seal(k.Private, []byte(k.ID))
	return s.KeyStore.RotateKey(ctx, &sealed, events)
}

// ListKeys returns the stored keys with their private keys decrypted; rows
// stored in the clear come back marked as refused (see SealedKeyStore).
func (s *SealedKeyStore) ListKeys(ctx context.Context) ([]domain.SigningKey, error) {
	keys, err := s.KeyStore.ListKeys(ctx)
	if err != nil {
		return nil, err
	}
	for i := range keys {
		k := &keys[i]
		plain, err := s.sealer.open(k.Private, []byte(k.ID))
		if errors.Is(err, errNotSealed) {
			k.Private = []byte(refusedPrivate)
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("signing key %s: cannot decrypt: %w", k.ID, err)
		}
		k.Private = plain
	}
	return keys, nil
}

// isRefused reports whether private is a SealedKeyStore's refusal of a row
// stored in the clear.
func isRefused(private []byte) bool { return bytes.Equal(private, []byte(refusedPrivate)) }

// isSealed reports whether stored private key material is encrypted, so a
// ring without a key-encryption key can say why it cannot parse a key.
func isSealed(private []byte) bool { return bytes.HasPrefix(private, []byte(sealedPrefix)) }
