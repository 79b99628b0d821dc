package token

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"

	"github.com/gatehouse-auth/gatehouse/domain"
)

// secretBoxPrefix marks (and versions) a secret sealed by a SecretBox.
const secretBoxPrefix = "gatehouse-secret-v1:"

// secretBoxInfo is the HKDF label of the SecretBox key: distinct from the
// signing-key label of SealedKeyStore, so the two never share a key.
const secretBoxInfo = "gatehouse secret box v1"

// Why a sealed secret is refused. Fixed strings: no secret ever reaches an
// error.
var (
	errSecretSealed   = errors.New("secret is sealed but no key encryption key is configured")
	errSecretClear    = errors.New("secret is stored unencrypted under a key encryption key")
	errSecretTampered = errors.New("sealed secret does not open: wrong key, wrong record or tampered")
)

// NewSecretBox returns the domain.SecretBox of the key-encryption key kek
// (at least 32 bytes): AES-256-GCM under a key derived from kek with its
// own HKDF label, the label given to Seal as additional data (so a sealed
// secret opens only for its own record), and a version prefix on the
// sealed bytes. With an empty kek it returns a pass-through box, which
// refuses sealed bytes rather than hand them out as a secret; the sealing
// box likewise refuses a secret stored in the clear (nobody can plant one
// by writing to the database).
func NewSecretBox(kek []byte) (domain.SecretBox, error) {
	if len(kek) == 0 {
		return clearBox{}, nil
	}
	if len(kek) < 32 {
		return nil, fmt.Errorf("key encryption key must be at least 32 bytes, got %d", len(kek))
	}
	key, err := hkdf.Key(sha256.New, kek, nil, secretBoxInfo, 32)
	if err != nil {
		return nil, fmt.Errorf("derive secret box key: %w", err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("secret box cipher: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("secret box cipher: %w", err)
	}
	return &sealingBox{aead: aead}, nil
}

// sealingBox encrypts secrets under the key-encryption key.
type sealingBox struct {
	aead cipher.AEAD
}

// Seal returns the version prefix, a random nonce and the ciphertext of
// plain bound to label.
func (b *sealingBox) Seal(plain []byte, label string) ([]byte, error) {
	nonce := make([]byte, b.aead.NonceSize())
	rand.Read(nonce) // never fails: crypto/rand crashes the program instead
	out := append([]byte(secretBoxPrefix), nonce...)
	return b.aead.Seal(out, nonce, plain, []byte(label)), nil
}

// Open reverses Seal for the same label.
func (b *sealingBox) Open(sealed []byte, label string) ([]byte, error) {
	rest, ok := bytes.CutPrefix(sealed, []byte(secretBoxPrefix))
	if !ok {
		return nil, errSecretClear
	}
	if len(rest) < b.aead.NonceSize() {
		return nil, errSecretTampered
	}
	n := b.aead.NonceSize()
	plain, err := b.aead.Open(nil, rest[:n], rest[n:], []byte(label))
	if err != nil {
		return nil, errSecretTampered
	}
	return plain, nil
}

// clearBox is the SecretBox without a key-encryption key: secrets are
// stored as they are.
type clearBox struct{}

func (clearBox) Seal(plain []byte, _ string) ([]byte, error) { return slices.Clone(plain), nil }

func (clearBox) Open(sealed []byte, _ string) ([]byte, error) {
	if bytes.HasPrefix(sealed, []byte(secretBoxPrefix)) {
		return nil, errSecretSealed
	}
	return slices.Clone(sealed), nil
}
