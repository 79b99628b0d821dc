package token_test

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gatehouse-auth/gatehouse/adapter/token"
	"github.com/gatehouse-auth/gatehouse/domain"
)

func TestIssueVerifyRoundTrip(t *testing.T) {
	t.Parallel()
	for _, alg := range allAlgs {
		t.Run(alg, func(t *testing.T) {
			t.Parallel()
			for _, cacheSize := range []int{0, 16} {
				e := newEnv(t, alg, cacheSize)
				in := e.userClaims()
				tok := e.issue(t, in)
				for range 2 { // second round is a cache hit when enabled
					got, err := e.ver.Verify(context.Background(), tok)
					if err != nil {
						t.Fatalf("Verify() error = %v", err)
					}
					if !reflect.DeepEqual(*got, in) {
						t.Fatalf("Verify() = %+v; want %+v", *got, in)
					}
				}
				h := decodeSegment(t, tok, 0)
				if h["typ"] != "at+jwt" || h["alg"] != alg || h["kid"] != e.activeKid(t) {
					t.Fatalf("header = %v; want typ at+jwt, alg %s, kid %s", h, alg, e.activeKid(t))
				}
			}
		})
	}
}

func TestIssueClaimsMapping(t *testing.T) {
	t.Parallel()
	e := newEnv(t, token.AlgEdDSA, 0)
	now := e.clock.Now()

	user := decodeSegment(t, e.issue(t, e.userClaims()), 1)
	wantUser := map[string]any{
		"iss": testIssuer, "aud": testAudience, "sub": "user-1", "jti": "jti-1",
		"iat": float64(now.Unix()), "nbf": float64(now.Unix()), "exp": float64(now.Add(accessTTL).Unix()),
		"sid": "sess-1", "user": "alice", "scope": "read write", "roles": []any{"admin", "user"},
	}
	if !reflect.DeepEqual(user, wantUser) {
		t.Errorf("user token claims = %v; want %v", user, wantUser)
	}

	client := domain.Claims{Subject: "client-9", ClientID: "client-9", IssuedAt: now, ExpiresAt: now.Add(time.Minute)}
	tok := e.issue(t, client)
	payload := decodeSegment(t, tok, 1)
	for _, absent := range []string{"sid", "user", "scope"} {
		if _, ok := payload[absent]; ok {
			t.Errorf("client token has %q; want it omitted when empty", absent)
		}
	}
	// The roles claim is always there, an empty array when there are none.
	if roles, ok := payload["roles"].([]any); !ok || len(roles) != 0 {
		t.Errorf("client token roles = %#v; want []", payload["roles"])
	}
	if payload["client_id"] != "client-9" || payload["nbf"] != float64(now.Unix()) {
		t.Errorf("client token claims = %v; want client_id and nbf defaulting to iat", payload)
	}
	if jti, _ := payload["jti"].(string); len(jti) < 20 {
		t.Errorf("client token jti = %q; want a random id", jti)
	}
	got, err := e.ver.Verify(context.Background(), tok)
	if err != nil || got.ClientID == "" || got.SessionID != "" || got.Scope != nil || got.Roles != nil {
		t.Errorf("Verify(client token) = %+v, %v; want client claims without scope and roles", got, err)
	}
}

func TestIssueRequiresSubjectAndExpiry(t *testing.T) {
	t.Parallel()
	e := newEnv(t, token.AlgEdDSA, 0)
	for name, c := range map[string]domain.Claims{
		"no sub": {ExpiresAt: t0.Add(time.Minute)},
		"no exp": {Subject: "u"},
	} {
		if _, err := e.iss.Issue(context.Background(), c); err == nil {
			t.Errorf("Issue(%s) error = nil; want an error", name)
		}
	}
}

func TestIssueBeforeLoad(t *testing.T) {
	t.Parallel()
	ring, err := token.NewKeyring(newFakeStore(), token.AlgEdDSA, nil, retain, nil)
	if err != nil {
		t.Fatalf("NewKeyring() error = %v", err)
	}
	c := domain.Claims{Subject: "u", ExpiresAt: time.Now().Add(time.Minute)}
	if _, err := token.NewIssuer(ring, testIssuer, testAudience).Issue(context.Background(), c); err == nil {
		t.Fatal("Issue() before Load error = nil; want an error")
	}
}

func TestVerifyTimes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		at   time.Duration // clock offset from issue time at verification
		want error
	}{
		{"fresh", 0, nil},
		{"just before exp+leeway", accessTTL + leeway - time.Second, nil},
		{"at exp+leeway", accessTTL + leeway, domain.ErrTokenExpired},
		{"long expired", 24 * time.Hour, domain.ErrTokenExpired},
		{"nbf within leeway", -leeway, nil},
		{"nbf beyond leeway", -leeway - time.Second, domain.ErrTokenInvalid},
	}
	for _, tc := range tests {
		for _, cacheSize := range []int{0, 16} {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				e := newEnv(t, token.AlgEdDSA, cacheSize)
				tok := e.issue(t, e.userClaims())
				if cacheSize > 0 { // fill the cache so the check runs on a hit
					if _, err := e.ver.Verify(context.Background(), tok); err != nil {
						t.Fatalf("Verify(fresh) error = %v", err)
					}
				}
				e.clock.Set(t0.Add(tc.at))
				_, err := e.ver.Verify(context.Background(), tok)
				if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
					t.Fatalf("Verify() at %v (cache %d) error = %v; want %v", tc.at, cacheSize, err, tc.want)
				}
			})
		}
	}
}

func TestVerifyRejects(t *testing.T) {
	t.Parallel()
	for _, alg := range allAlgs {
		t.Run(alg, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, alg, 64)
			good := e.issue(t, e.userClaims())
			parts := strings.Split(good, ".")
			with := func(mod func(h map[string]any, c jwt.MapClaims)) string { return e.signWith(t, mod) }
			cases := map[string]string{
				"wrong iss":     with(func(_ map[string]any, c jwt.MapClaims) { c["iss"] = "https://evil.test" }),
				"no iss":        with(func(_ map[string]any, c jwt.MapClaims) { delete(c, "iss") }),
				"wrong aud":     with(func(_ map[string]any, c jwt.MapClaims) { c["aud"] = "other-api" }),
				"no aud":        with(func(_ map[string]any, c jwt.MapClaims) { delete(c, "aud") }),
				"no exp":        with(func(_ map[string]any, c jwt.MapClaims) { delete(c, "exp") }),
				"exp as string": with(func(_ map[string]any, c jwt.MapClaims) { c["exp"] = "soon" }),
				// RFC 7519 NumericDate is a JSON number; golang-jwt alone takes a numeric string.
				"quoted exp":    with(func(_ map[string]any, c jwt.MapClaims) { c["exp"] = "9999999999" }),
				"quoted nbf":    with(func(_ map[string]any, c jwt.MapClaims) { c["nbf"] = strconv.FormatInt(t0.Unix(), 10) }),
				"quoted iat":    with(func(_ map[string]any, c jwt.MapClaims) { c["iat"] = strconv.FormatInt(t0.Unix(), 10) }),
				"iat in future": with(func(_ map[string]any, c jwt.MapClaims) { c["iat"] = t0.Add(time.Hour).Unix() }),
				"expired and bad iss": with(func(_ map[string]any, c jwt.MapClaims) {
					c["iss"], c["exp"] = "x", t0.Add(-time.Hour).Unix()
				}),
				"no sub":           with(func(_ map[string]any, c jwt.MapClaims) { delete(c, "sub") }),
				"empty sub":        with(func(_ map[string]any, c jwt.MapClaims) { c["sub"] = "" }),
				"scope not string": with(func(_ map[string]any, c jwt.MapClaims) { c["scope"] = []string{"a"} }),
				"typ JWT":          with(func(h map[string]any, _ jwt.MapClaims) { h["typ"] = "JWT" }),
				"no typ":           with(func(h map[string]any, _ jwt.MapClaims) { delete(h, "typ") }),
				"no kid":           with(func(h map[string]any, _ jwt.MapClaims) { delete(h, "kid") }),
				"kid not string":   with(func(h map[string]any, _ jwt.MapClaims) { h["kid"] = 7 }),
				"unknown kid":      with(func(h map[string]any, _ jwt.MapClaims) { h["kid"] = "not-our-key" }),
				"crit header":      with(func(h map[string]any, _ jwt.MapClaims) { h["crit"] = []string{"exp"}; h["exp"] = 1 }),
				"alg none":         noneToken(t, e),
				"tampered payload": parts[0] + "." + tamper(t, parts[1]) + "." + parts[2],
				"truncated sig":    good[:len(good)-6],
				"no signature":     parts[0] + "." + parts[1] + ".",
				"two parts":        parts[0] + "." + parts[1],
				"four parts":       good + ".x",
				"padded sig":       good + "==",
				"too long":         tooLong(t, e),
				"empty":            "",
				"garbage":          "not.a.jwt",
			}
			for name, tok := range cases {
				got, err := e.ver.Verify(context.Background(), tok)
				if !errors.Is(err, domain.ErrTokenInvalid) || got != nil {
					t.Errorf("Verify(%s) = %v, %v; want ErrTokenInvalid", name, got, err)
				}
				if err != nil && tok != "" && strings.Contains(err.Error(), tok) {
					t.Errorf("Verify(%s) error contains the token", name)
				}
			}
			for name, typ := range map[string]string{"upper": "AT+JWT", "media type": "application/at+jwt"} {
				tok := with(func(h map[string]any, _ jwt.MapClaims) { h["typ"] = typ })
				if _, err := e.ver.Verify(context.Background(), tok); err != nil {
					t.Errorf("Verify(typ %s) error = %v; want nil", name, err)
				}
			}
			if n := e.ver.CacheLen(); n != 2 { // only the two accepted typ variants
				t.Errorf("CacheLen() = %d; want 2 (rejected tokens are never cached)", n)
			}
		})
	}
}

// TestKeyConfusion signs HS256 tokens with our public key as the HMAC
// secret, the classic attack on verifiers that let the token pick the alg.
func TestKeyConfusion(t *testing.T) {
	t.Parallel()
	for _, alg := range asymAlgs {
		t.Run(alg, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, alg, 16)
			kid := e.activeKid(t)
			pub := e.store.signer(t, kid).Public()
			der, err := x509.MarshalPKIXPublicKey(pub)
			if err != nil {
				t.Fatalf("marshal public key: %v", err)
			}
			jwks, _ := e.ring.JWKS()
			secrets := map[string][]byte{
				"der":  der,
				"pem":  pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}),
				"jwks": jwks,
			}
			if alg == token.AlgEdDSA {
				secrets["raw"] = der[len(der)-32:]
			}
			for name, secret := range secrets {
				s := signToken(t, jwt.SigningMethodHS256, secret, map[string]any{"typ": "at+jwt", "kid": kid}, e.stdClaims())
				if _, err := e.ver.Verify(context.Background(), s); !errors.Is(err, domain.ErrTokenInvalid) {
					t.Errorf("Verify(HS256 with %s public key) error = %v; want ErrTokenInvalid", name, err)
				}
			}
		})
	}
}

// TestEmbeddedKeyIgnored signs with an attacker key and points at it with
// jwk/jku headers while claiming our kid.
func TestEmbeddedKeyIgnored(t *testing.T) {
	t.Parallel()
	e := newEnv(t, token.AlgEdDSA, 16)
	attacker := newEnv(t, token.AlgEdDSA, 0)
	h := e.header(t)
	h["jwk"], h["jku"], h["x5u"] = jwksEntries(t, attacker.ring)[0], "https://evil.test/jwks", "https://evil.test/cert"
	tok := attacker.sign(t, h, e.stdClaims())
	if _, err := e.ver.Verify(context.Background(), tok); !errors.Is(err, domain.ErrTokenInvalid) {
		t.Fatalf("Verify(attacker key in header) error = %v; want ErrTokenInvalid", err)
	}
}

// TestOtherRingRejected checks a token from another ring of the same
// algorithm whose kid we do not know.
func TestOtherRingRejected(t *testing.T) {
	t.Parallel()
	for _, alg := range allAlgs {
		e, other := newEnv(t, alg, 16), newEnv(t, alg, 0)
		if alg == token.AlgHS256 { // same kid derivation needs a different secret
			ring, err := token.NewKeyring(nil, alg, []byte(strings.Repeat("z", 32)), retain, e.clock.Now)
			if err != nil {
				t.Fatalf("NewKeyring() error = %v", err)
			}
			other.iss = token.NewIssuer(ring, testIssuer, testAudience)
		}
		tok := other.issue(t, other.userClaims())
		if _, err := e.ver.Verify(context.Background(), tok); !errors.Is(err, domain.ErrTokenInvalid) {
			t.Errorf("%s: Verify(other ring's token) error = %v; want ErrTokenInvalid", alg, err)
		}
	}
}
