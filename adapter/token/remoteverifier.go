package token

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/gatehouse-auth/gatehouse/domain"
)

// RemoteVerifier checks access tokens against a RemoteKeySet, with the
// same rules as Verifier, and caches the claims of verified tokens. A
// resource server uses it to accept Gatehouse tokens without calling
// Gatehouse per request.
type RemoteVerifier struct{ verifier }

var _ domain.TokenVerifier = (*RemoteVerifier)(nil)

// NewRemoteVerifier returns a verifier that accepts only tokens whose alg
// is in algs (EdDSA, ES256, RS256: HS256 has no public key to publish),
// signed by the key with the token's kid in keys, with typ at+jwt, the
// given iss and aud (both required: a resource server must not accept
// tokens minted for someone else), a required exp and sub, and
// nbf/iat/exp checked against now with leeway. Up to cacheSize verified
// tokens are cached (0 disables the cache); exp and nbf are re-checked on
// every call and the cache is emptied when a key leaves the set.
func NewRemoteVerifier(keys *RemoteKeySet, algs []string, issuer, audience string, leeway time.Duration, now func() time.Time, cacheSize int) (*RemoteVerifier, error) {
	if keys == nil {
		return nil, errors.New("remote verifier: key set is required")
	}
	if len(algs) == 0 {
		return nil, errors.New("remote verifier: at least one algorithm is required")
	}
	for _, a := range algs {
		if a != AlgEdDSA && a != AlgES256 && a != AlgRS256 {
			return nil, fmt.Errorf("remote verifier: algorithm %q cannot be verified with a JWK Set", a)
		}
	}
	if issuer == "" || audience == "" {
		return nil, errors.New("remote verifier: issuer and audience are required")
	}
	return &RemoteVerifier{newVerifier(keys, slices.Clone(algs), issuer, audience, leeway, now, cacheSize)}, nil
}
