package usecase

import (
	"context"
	"strings"

	"github.com/gatehouse-auth/gatehouse/domain"
)

// Verify checks access tokens on every protected request: signature and
// registered claims through the TokenVerifier, then revocation against the
// in-memory list. It never reads the database.
type Verify struct {
	verifier domain.TokenVerifier
	revoked  *RevocationList
	keys     *APIKeys
	metrics  Metrics
}

// NewVerify returns a Verify that reports every refused token to metrics
// (from protected routes, introspection and revocation alike); nil
// reports nothing. With keys (nil: none), a token with the shape of an API
// key of any valid prefix (domain.APIKeyShape: keys made before
// GATEHOUSE_API_KEY_PREFIX changed included) is judged as one, never as a
// JWT.
func NewVerify(verifier domain.TokenVerifier, revoked *RevocationList, keys *APIKeys, metrics Metrics) *Verify {
	return &Verify{verifier: verifier, revoked: revoked, keys: keys, metrics: orNoMetrics(metrics)}
}

// Verify returns the token's claims, or domain.ErrTokenMissing,
// ErrTokenExpired, ErrTokenRevoked or ErrTokenInvalid.
func (v *Verify) Verify(ctx context.Context, token string) (*domain.Claims, error) {
	c, err := v.verify(ctx, token)
	if err != nil {
		v.metrics.VerifyFailed(VerifyReason(err))
	}
	return c, err
}

func (v *Verify) verify(ctx context.Context, token string) (*domain.Claims, error) {
	if strings.TrimSpace(token) == "" {
		return nil, domain.ErrTokenMissing
	}
	if _, isKey := domain.APIKeyShape(token); isKey && v.keys != nil {
		return v.keys.Authenticate(ctx, token)
	}
	c, err := v.verifier.Verify(ctx, token)
	if err != nil {
		return nil, err
	}
	if c.SessionID != "" && v.revoked.Revoked(c.SessionID) {
		return nil, domain.ErrTokenRevoked
	}
	return c, nil
}
