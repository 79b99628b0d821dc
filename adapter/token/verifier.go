package token

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gatehouse-auth/gatehouse/domain"
)

// MaxTokenBytes is the longest token Verify will parse.
const MaxTokenBytes = 8 << 10

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

// keySource is where a verifier finds keys: the local *Keyring or a
// fetched *RemoteKeySet.
type keySource interface {
	// generation brings the source up to date where that is due (a remote
	// set past its max-age is refreshed) and returns how many times keys
	// have left it. The cache drops entries verified under an older count.
	generation(ctx context.Context) uint64
	// verificationKey returns the alg and the verification key (public
	// key, or the HS256 secret) of kid; errUnknownKid when there is none,
	// or an error wrapping domain.ErrUnavailable when the source could not
	// be read.
	verificationKey(ctx context.Context, kid string) (alg string, key any, err error)
}

var (
	_ keySource = (*Keyring)(nil)
	_ keySource = (*RemoteKeySet)(nil)
)

// verifier is the one verification path behind Verifier and
// RemoteVerifier.
type verifier struct {
	keys   keySource
	parser *jwt.Parser
	leeway time.Duration
	now    func() time.Time
	cache  *cache // nil when disabled
}

// newVerifier returns a verifier that accepts only tokens whose alg is in
// algs and whose kid names a key of keys with that alg, with the given iss
// and aud (an empty value skips that check), typ at+jwt, a required exp and
// sub, and nbf/iat/exp checked against now (time.Now when nil) with leeway.
// Up to cacheSize verified tokens are cached (0 disables the cache).
func newVerifier(keys keySource, algs []string, issuer, audience string, leeway time.Duration, now func() time.Time, cacheSize int) verifier {
	if now == nil {
		now = time.Now
	}
	opts := []jwt.ParserOption{
		jwt.WithValidMethods(algs),
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
	return verifier{keys: keys, parser: jwt.NewParser(opts...), leeway: leeway, now: now, cache: newCache(cacheSize)}
}

// Verify checks token and returns its claims, or an error wrapping
// domain.ErrTokenExpired or domain.ErrTokenInvalid, or (RemoteVerifier
// only) domain.ErrUnavailable when the key set could not be fetched. The
// caller gets its own copy of the claims struct; its Scope and Roles
// slices may be shared and must not be modified in place.
//
// Verifier and RemoteVerifier get this method by embedding, which costs
// the cached path no extra call.
func (v *verifier) Verify(ctx context.Context, token string) (*domain.Claims, error) {
	if len(token) > MaxTokenBytes {
		return nil, fmt.Errorf("%w: token too long", domain.ErrTokenInvalid)
	}
	// Read the removal count before the keys: a token verified with a key
	// removed meanwhile is then refused by the cache (see cache.put).
	gen := v.keys.generation(ctx)
	if v.cache != nil {
		if c := v.cache.get(token, gen); c != nil {
			if err := checkTimes(c, v.now()); err != nil {
				if errors.Is(err, domain.ErrTokenExpired) {
					v.cache.remove(token)
				}
				return nil, err
			}
			out := c.claims
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
		c := &verified{claims: *cl, expired: cl.ExpiresAt.Add(v.leeway)}
		if !cl.NotBefore.IsZero() {
			c.notBefore = cl.NotBefore.Add(-v.leeway)
		}
		v.cache.put(token, c, gen)
	}
	return cl, nil
}

// cacheLen reports how many verified tokens are cached.
func (v *verifier) cacheLen() int {
	if v.cache == nil {
		return 0
	}
	return v.cache.len()
}

// checkTimes re-checks exp and nbf of a cached token at now, with the same
// leeway and comparisons as golang-jwt: expired when !now.Before(exp+leeway),
// not valid yet when now+leeway is before nbf.
func checkTimes(c *verified, now time.Time) error {
	if !now.Before(c.expired) {
		return domain.ErrTokenExpired
	}
	if now.Before(c.notBefore) {
		return fmt.Errorf("%w: not valid yet", domain.ErrTokenInvalid)
	}
	return nil
}

// keyFor is the golang-jwt Keyfunc: it checks the header and returns our
// key for the token's kid. Keys are never taken from the token (jwk, jku,
// x5u and x5c headers are ignored).
func (v *verifier) keyFor(ctx context.Context, t *jwt.Token) (any, error) {
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
	alg, key, err := v.keys.verificationKey(ctx, kid)
	if err != nil {
		return nil, err
	}
	if alg != t.Method.Alg() {
		return nil, errKeyAlg
	}
	return key, nil
}

// classify maps a golang-jwt error to a domain error with a fixed reason.
// A token is only "expired" when its signature is good and expiry is the
// sole problem.
func classify(err error) error {
	for _, r := range []error{errCrit, errTyp, errNoKid, errUnknownKid, errKeyAlg, errNoSubject, errDateType} {
		if errors.Is(err, r) {
			return fmt.Errorf("%w: %w", domain.ErrTokenInvalid, r)
		}
	}
	if errors.Is(err, jwt.ErrTokenExpired) && !errors.Is(err, jwt.ErrTokenNotValidYet) &&
		!errors.Is(err, jwt.ErrTokenUsedBeforeIssued) && !errors.Is(err, jwt.ErrTokenInvalidIssuer) &&
		!errors.Is(err, jwt.ErrTokenInvalidAudience) {
		return domain.ErrTokenExpired
	}
	for _, r := range jwtReasons {
		if errors.Is(err, r.err) {
			return fmt.Errorf("%w: %s", domain.ErrTokenInvalid, r.reason)
		}
	}
	return fmt.Errorf("%w: malformed", domain.ErrTokenInvalid)
}

// jwtReasons names, first match first, why golang-jwt refused a token.
var jwtReasons = []struct {
	err    error
	reason string
}{
	{jwt.ErrTokenSignatureInvalid, "bad signature or algorithm"},
	{jwt.ErrTokenInvalidIssuer, "wrong issuer"},
	{jwt.ErrTokenInvalidAudience, "wrong audience"},
	{jwt.ErrTokenNotValidYet, "not valid yet"},
	{jwt.ErrTokenUsedBeforeIssued, "issued in the future"},
	{jwt.ErrTokenRequiredClaimMissing, "missing exp"},
	{jwt.ErrTokenUnverifiable, "unverifiable"},
}

// Verifier checks access tokens against the ring's keys and caches the
// claims of verified tokens.
type Verifier struct{ verifier }

var _ domain.TokenVerifier = (*Verifier)(nil)

// NewVerifier returns a Verifier that accepts only tokens signed with the
// ring's algorithm by one of its keys (looked up by kid), with the given
// iss and aud (an empty value skips that check), typ at+jwt, a required
// exp, and nbf/iat/exp checked against now with leeway. Up to cacheSize
// verified tokens are cached (0 disables the cache); a cached token's exp
// and nbf are still checked on every call, and the cache is emptied when a
// key leaves the ring.
func NewVerifier(ring *Keyring, issuer, audience string, leeway time.Duration, now func() time.Time, cacheSize int) *Verifier {
	return &Verifier{newVerifier(ring, []string{ring.Algorithm()}, issuer, audience, leeway, now, cacheSize)}
}

// CacheLen reports how many verified tokens are cached, for metrics.
func (v *Verifier) CacheLen() int { return v.cacheLen() }
