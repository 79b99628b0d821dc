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

// MaxTokenBytes is the longest token Verify will parse.
const MaxTokenBytes = 8 << 10

// verifyClaims is the payload we parse. The embedded RegisteredClaims
// accepts aud as a string or an array.
type verifyClaims struct {
	jwt.RegisteredClaims
	SessionID string   `json:"sid"`
	Scope     string   `json:"scope"`
	Roles     []string `json:"roles"`
	User      string   `json:"user"`
	ClientID  string   `json:"client_id"`
}

// Validate makes golang-jwt refuse a token without a subject.
func (c *verifyClaims) Validate() error {
	if c.Subject == "" {
		return errNoSubject
	}
	return nil
}

// Reasons a token is refused, wrapped in domain.ErrTokenInvalid. They are
// fixed strings: no token text ever reaches an error.
var (
	errNoSubject  = errors.New("missing sub")
	errNoKid      = errors.New("missing kid")
	errUnknownKid = errors.New("unknown kid")
	errKeyAlg     = errors.New("alg does not match the key")
	errTyp        = errors.New("typ is not at+jwt")
	errCrit       = errors.New("crit header not supported")
)

// Verifier checks access tokens against the ring's keys and caches the
// claims of verified tokens.
type Verifier struct {
	ring   *Keyring
	parser *jwt.Parser
	leeway time.Duration
	now    func() time.Time
	cache  *cache // nil when disabled
}

var _ domain.TokenVerifier = (*Verifier)(nil)

// NewVerifier returns a Verifier that accepts only tokens signed with the
// ring's algorithm by one of its keys (looked up by kid), with the given
// iss and aud (an empty value skips that check), typ at+jwt, a required
// exp, and nbf/iat/exp checked against now with leeway. Up to cacheSize
// verified tokens are cached (0 disables the cache); a cached token's exp
// and nbf are still checked on every call, and the cache is emptied when a
// key leaves the ring.
func NewVerifier(ring *Keyring, issuer, audience string, leeway time.Duration, now func() time.Time, cacheSize int) *Verifier {
	if now == nil {
		now = time.Now
	}
	opts := []jwt.ParserOption{
		jwt.WithValidMethods([]string{ring.Algorithm()}),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(leeway),
		jwt.WithTimeFunc(now),
		jwt.WithStrictDecoding(),
	}
	if issuer != "" {
		opts = append(opts, jwt.WithIssuer(issuer))
	}
	if audience != "" {
		opts = append(opts, jwt.WithAudience(audience))
	}
	return &Verifier{ring: ring, parser: jwt.NewParser(opts...), leeway: leeway, now: now, cache: newCache(cacheSize)}
}

// Verify checks token and returns its claims, or an error wrapping
// domain.ErrTokenExpired or domain.ErrTokenInvalid. The caller gets its own
// copy of the claims struct; its Scope and Roles slices may be shared and
// must not be modified in place.
func (v *Verifier) Verify(_ context.Context, token string) (*domain.Claims, error) {
	if len(token) > MaxTokenBytes {
		return nil, fmt.Errorf("%w: token too long", domain.ErrTokenInvalid)
	}
	// Read the removal count before the keys: a token verified with a key
	// removed meanwhile is then refused by the cache (see cache.put).
	gen := v.ring.removals.Load()
	if v.cache != nil {
		if cl := v.cache.get(token, gen); cl != nil {
			if err := v.checkTimes(cl); err != nil {
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
	if _, err := v.parser.ParseWithClaims(token, &vc, v.keyFor); err != nil {
		return nil, classify(err)
	}
	cl := toDomain(&vc)
	if v.cache != nil {
		v.cache.put(token, cl, gen)
	}
	out := *cl
	return &out, nil
}

// CacheLen reports how many verified tokens are cached, for metrics.
func (v *Verifier) CacheLen() int {
	if v.cache == nil {
		return 0
	}
	return v.cache.len()
}

// checkTimes re-checks exp and nbf of cached claims, with the same leeway
// and comparisons as golang-jwt.
func (v *Verifier) checkTimes(cl *domain.Claims) error {
	now := v.now()
	if !now.Before(cl.ExpiresAt.Add(v.leeway)) {
		return domain.ErrTokenExpired
	}
	if !cl.NotBefore.IsZero() && now.Add(v.leeway).Before(cl.NotBefore) {
		return fmt.Errorf("%w: not valid yet", domain.ErrTokenInvalid)
	}
	return nil
}

// keyFor is the golang-jwt Keyfunc: it checks the header and returns our
// key for the token's kid. Keys are never taken from the token (jwk, jku,
// x5u and x5c headers are ignored).
func (v *Verifier) keyFor(t *jwt.Token) (any, error) {
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
	k := v.ring.lookup(kid)
	if k == nil {
		return nil, errUnknownKid
	}
	if k.alg != t.Method.Alg() {
		return nil, errKeyAlg
	}
	return k.verify, nil
}

// classify maps a golang-jwt error to a domain error with a fixed reason.
// A token is only "expired" when its signature is good and expiry is the
// sole problem.
func classify(err error) error {
	reason := "malformed"
	for _, r := range []error{errCrit, errTyp, errNoKid, errUnknownKid, errKeyAlg, errNoSubject} {
		if errors.Is(err, r) {
			return fmt.Errorf("%w: %w", domain.ErrTokenInvalid, r)
		}
	}
	switch {
	case errors.Is(err, jwt.ErrTokenExpired) && !errors.Is(err, jwt.ErrTokenNotValidYet) &&
		!errors.Is(err, jwt.ErrTokenUsedBeforeIssued) && !errors.Is(err, jwt.ErrTokenInvalidIssuer) &&
		!errors.Is(err, jwt.ErrTokenInvalidAudience):
		return domain.ErrTokenExpired
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		reason = "bad signature or algorithm"
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		reason = "wrong issuer"
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		reason = "wrong audience"
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		reason = "not valid yet"
	case errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		reason = "issued in the future"
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		reason = "missing exp"
	case errors.Is(err, jwt.ErrTokenUnverifiable):
		reason = "unverifiable"
	}
	return fmt.Errorf("%w: %s", domain.ErrTokenInvalid, reason)
}

// toDomain maps parsed claims to domain.Claims.
func toDomain(c *verifyClaims) *domain.Claims {
	cl := &domain.Claims{
		ID:        c.ID,
		Subject:   c.Subject,
		Username:  c.User,
		SessionID: c.SessionID,
		ClientID:  c.ClientID,
		Roles:     slices.Clip(c.Roles),
	}
	if c.Scope != "" {
		cl.Scope = slices.Clip(strings.Fields(c.Scope))
	}
	if c.IssuedAt != nil {
		cl.IssuedAt = c.IssuedAt.UTC()
	}
	if c.NotBefore != nil {
		cl.NotBefore = c.NotBefore.UTC()
	}
	if c.ExpiresAt != nil {
		cl.ExpiresAt = c.ExpiresAt.UTC()
	}
	return cl
}
