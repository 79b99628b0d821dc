package token

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gatehouse-auth/gatehouse/domain"
)

// RemoteVerifier checks access tokens against a RemoteKeySet, with the
// same rules as Verifier, and caches the claims of verified tokens. A
// resource server uses it to accept Gatehouse tokens without calling
// Gatehouse per request.
type RemoteVerifier struct {
	keys   *RemoteKeySet
	parser *jwt.Parser
	leeway time.Duration
	now    func() time.Time
	cache  *cache // nil when disabled
}

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
	if now == nil {
		now = time.Now
	}
	parser := jwt.NewParser(
		jwt.WithValidMethods(slices.Clone(algs)),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(leeway),
		jwt.WithTimeFunc(now),
		jwt.WithStrictDecoding(),
		jwt.WithIssuer(issuer),
		jwt.WithAudience(audience),
	)
	return &RemoteVerifier{keys: keys, parser: parser, leeway: leeway, now: now, cache: newCache(cacheSize)}, nil
}

// Verify checks token and returns its claims, or an error wrapping
// domain.ErrTokenExpired, domain.ErrTokenInvalid, or domain.ErrUnavailable
// when the key set could not be fetched. The claims are the caller's copy;
// their Scope and Roles slices may be shared and must not be modified.
func (v *RemoteVerifier) Verify(ctx context.Context, token string) (*domain.Claims, error) {
	if len(token) > MaxTokenBytes {
		return nil, fmt.Errorf("%w: token too long", domain.ErrTokenInvalid)
	}
	// Refresh an expired key set first, so that a key removed from the
	// server also empties the cache (through the removal count below).
	v.keys.refreshStale(ctx)
	gen := v.keys.removals.Load()
	if v.cache != nil {
		if cl := v.cache.get(token, gen); cl != nil {
			if err := checkTimes(cl, v.now(), v.leeway); err != nil {
				if errors.Is(err, domain.ErrTokenExpired) {
					v.cache.remove(token)
				}
				return nil, err
			}
			out := *cl
			return &out, nil
		}
	}
	var vc verifyClaims
	keyFor := func(t *jwt.Token) (any, error) { return v.keyFor(ctx, t) }
	if _, err := v.parser.ParseWithClaims(token, &vc, keyFor); err != nil {
		if errors.Is(err, domain.ErrUnavailable) {
			return nil, fmt.Errorf("verify token: %w", err)
		}
		return nil, classify(err)
	}
	cl := toDomain(&vc)
	if v.cache != nil {
		v.cache.put(token, cl, gen)
	}
	out := *cl
	return &out, nil
}

// keyFor checks the header like Verifier.keyFor and returns the set's key
// for the token's kid; keys named by the token (jwk, jku, x5u, x5c) are
// never used.
func (v *RemoteVerifier) keyFor(ctx context.Context, t *jwt.Token) (any, error) {
	if _, ok := t.Header["crit"]; ok {
		return nil, errCrit
	}
	typ, _ := t.Header["typ"].(string)
	if !strings.EqualFold(typ, typAccessToken) && !strings.EqualFold(typ, "application/"+typAccessToken) {
		return nil, errTyp
	}
	kid, _ := t.Header["kid"].(string)
	if kid == "" {
		return nil, errNoKid
	}
	k, err := v.keys.lookup(ctx, kid)
	if err != nil {
		return nil, err
	}
	if k.alg != t.Method.Alg() {
		return nil, errKeyAlg
	}
	return k.verify, nil
}

// checkTimes re-checks exp and nbf of cached claims, with the same leeway
// and comparisons as golang-jwt (Verifier.checkTimes does the same).
func checkTimes(cl *domain.Claims, now time.Time, leeway time.Duration) error {
	if !now.Before(cl.ExpiresAt.Add(leeway)) {
		return domain.ErrTokenExpired
	}
	if !cl.NotBefore.IsZero() && now.Add(leeway).Before(cl.NotBefore) {
		return fmt.Errorf("%w: not valid yet", domain.ErrTokenInvalid)
	}
	return nil
}
