package token

import (
	"bytes"
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
var errSecretSealed = errors.New("secret is sealed but no key encryption key is configured")

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
	sl, err := newSealer(kek, secretBoxInfo, secretBoxPrefix)
	if err != nil {
		return nil, err
	}
	return sealingBox{sl}, nil
}

// sealingBox encrypts secrets under the key-encryption key.
type sealingBox struct{ *sealer }

// Seal returns the version prefix, a random nonce and the ciphertext of
// plain bound to label.
func (b sealingBox) Seal(plain []byte, label string) ([]byte, error) {
	return b.seal(plain, []byte(label)), nil
}

// Open reverses Seal for the same label.
func (b sealingBox) Open(sealed []byte, label string) ([]byte, error) {
	plain, err := b.open(sealed, []byte(label))
	if err != nil {
		return nil, fmt.Errorf("secret: %w", err)
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
