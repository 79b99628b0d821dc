package domain

import "time"

// SigningKey is one key used to sign access tokens. Private holds the key
// material in the adapter's own encoding (PKCS#8 DER for asymmetric keys);
// it may be encrypted at rest by the store's user.
type SigningKey struct {
	ID        string // the JWT "kid"
	Algorithm string // EdDSA, ES256, RS256
	Private   []byte
	CreatedAt time.Time
	// RetiredAt is when the key stopped signing new tokens; zero while it is
	// the active key. Its public half stays published until every token it
	// signed has expired.
	RetiredAt time.Time
}

// Active reports whether the key still signs new tokens.
func (k *SigningKey) Active() bool { return k.RetiredAt.IsZero() }
