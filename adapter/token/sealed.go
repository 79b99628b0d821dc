package token

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
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
	aead cipher.AEAD
}

// NewSealedKeyStore returns store with encryption at rest under kek, which
// must be at least 32 bytes of secret material.
func NewSealedKeyStore(store domain.KeyStore, kek []byte) (*SealedKeyStore, error) {
	if len(kek) < 32 {
		return nil, fmt.Errorf("key encryption key must be at least 32 bytes, got %d", len(kek))
	}
	key, err := hkdf.Key(sha256.New, kek, nil, "gatehouse signing key encryption", 32)
	if err != nil {
		return nil, fmt.Errorf("derive key encryption key: %w", err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("key encryption cipher: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("key encryption cipher: %w", err)
	}
	return &SealedKeyStore{KeyStore: store, aead: aead}, nil
}

// RotateKey encrypts k's private key, bound to its kid, and stores it with
// events.
func (s *SealedKeyStore) RotateKey(ctx context.Context, k *domain.SigningKey, events []domain.Event) error {
	sealed := *k
	nonce := make([]byte, s.aead.NonceSize())
	rand.Read(nonce) // never fails: crypto/rand crashes the program instead
	out := append([]byte(sealedPrefix), nonce...)
	sealed.Private = s.aead.Seal(out, nonce, k.Private, []byte(k.ID))
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
		rest, sealed := bytes.CutPrefix(k.Private, []byte(sealedPrefix))
		if !sealed {
			k.Private = []byte(refusedPrivate)
			continue
		}
		if len(rest) < s.aead.NonceSize() {
			return nil, fmt.Errorf("signing key %s: sealed key is truncated", k.ID)
		}
		plain, err := s.aead.Open(nil, rest[:s.aead.NonceSize()], rest[s.aead.NonceSize():], []byte(k.ID))
		if err != nil {
			return nil, fmt.Errorf("signing key %s: cannot decrypt with this key encryption key: %w", k.ID, errWrongKEK)
		}
		k.Private = plain
	}
	return keys, nil
}

// errWrongKEK is the cause when a sealed key does not open.
var errWrongKEK = errors.New("wrong key or tampered key material")

// isRefused reports whether private is a SealedKeyStore's refusal of a row
// stored in the clear.
func isRefused(private []byte) bool { return bytes.Equal(private, []byte(refusedPrivate)) }

// isSealed reports whether stored private key material is encrypted, so a
// ring without a key-encryption key can say why it cannot parse a key.
func isSealed(private []byte) bool { return bytes.HasPrefix(private, []byte(sealedPrefix)) }
