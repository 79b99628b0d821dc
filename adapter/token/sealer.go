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
)

// Why sealer.open refused its input. Fixed strings: no secret ever reaches
// an error.
var (
	errNotSealed = errors.New("stored unencrypted under a key encryption key")
	errNoOpen    = errors.New("wrong key encryption key, wrong record or tampered")
)

// sealer is AES-256-GCM under a key derived from the operator's
// key-encryption key with an HKDF label of its own, so two sealers of one
// key-encryption key never share a key. Sealed bytes are a version prefix,
// a random nonce and the ciphertext; the additional data binds them to
// their record.
type sealer struct {
	aead   cipher.AEAD
	prefix []byte
}

// newSealer returns the sealer of kek (at least 32 bytes) for label, writing
// prefix before what it seals.
func newSealer(kek []byte, label, prefix string) (*sealer, error) {
	if len(kek) < 32 {
		return nil, fmt.Errorf("key encryption key must be at least 32 bytes, got %d", len(kek))
	}
	key, err := hkdf.Key(sha256.New, kek, nil, label, 32)
	if err != nil {
		return nil, fmt.Errorf("derive %s key: %w", label, err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("%s cipher: %w", label, err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("%s cipher: %w", label, err)
	}
	return &sealer{aead: aead, prefix: []byte(prefix)}, nil
}

// seal encrypts plain bound to ad.
func (s *sealer) seal(plain, ad []byte) []byte {
	nonce := make([]byte, s.aead.NonceSize())
	rand.Read(nonce) // never fails: crypto/rand crashes the program instead
	out := append(bytes.Clone(s.prefix), nonce...)
	return s.aead.Seal(out, nonce, plain, ad)
}

// open reverses seal for the same ad: errNotSealed when sealed lacks the
// prefix, errNoOpen when it does not decrypt.
func (s *sealer) open(sealed, ad []byte) ([]byte, error) {
	rest, ok := bytes.CutPrefix(sealed, s.prefix)
	if !ok {
		return nil, errNotSealed
	}
	n := s.aead.NonceSize()
	if len(rest) < n {
		return nil, errNoOpen
	}
	plain, err := s.aead.Open(nil, rest[:n], rest[n:], ad)
	if err != nil {
		return nil, errNoOpen
	}
	return plain, nil
}
