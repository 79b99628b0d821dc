package token_test

import (
	"context"
	"crypto"
	"encoding/base64"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"
	jwxjwt "github.com/lestrrat-go/jwx/v3/jwt"

	"github.com/gatehouse-auth/gatehouse/adapter/token"
)

// TestCrossCheckJWX verifies our tokens and JWKS with an independent JOSE
// implementation, and our verifier with tokens it signs.
func TestCrossCheckJWX(t *testing.T) {
	t.Parallel()
	for _, alg := range allAlgs {
		t.Run(alg, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, alg, 0)
			tok := e.issue(t, e.userClaims())
			opts := []jwxjwt.ParseOption{
				jwxjwt.WithValidate(true),
				jwxjwt.WithIssuer(testIssuer),
				jwxjwt.WithAudience(testAudience),
				jwxjwt.WithClock(jwxjwt.ClockFunc(e.clock.Now)),
			}
			if alg == token.AlgHS256 {
				opts = append(opts, jwxjwt.WithKey(jwa.HS256(), e.secret))
			} else {
				raw, _ := e.ring.JWKS()
				set, err := jwk.Parse(raw)
				if err != nil {
					t.Fatalf("jwk.Parse(our JWKS) error = %v", err)
				}
				key, ok := set.Key(0)
				if !ok {
					t.Fatal("jwk set is empty")
				}
				thumb, err := key.Thumbprint(crypto.SHA256)
				if err != nil {
					t.Fatalf("Thumbprint() error = %v", err)
				}
				if kid := e.activeKid(t); base64.RawURLEncoding.EncodeToString(thumb) != kid {
					t.Errorf("kid %s is not the RFC 7638 thumbprint per jwx", kid)
				}
				opts = append(opts, jwxjwt.WithKeySet(set))
			}
			parsed, err := jwxjwt.Parse([]byte(tok), opts...)
			if err != nil {
				t.Fatalf("jwx Parse(our token) error = %v", err)
			}
			if sub, _ := parsed.Subject(); sub != "user-1" {
				t.Fatalf("jwx sub = %q; want user-1", sub)
			}
			var user string
			if err := parsed.Get("user", &user); err != nil || user != "alice" {
				t.Fatalf("jwx user claim = %q, %v; want alice", user, err)
			}

			// Wrong audience must fail in jwx too, proving it validated.
			bad := append([]jwxjwt.ParseOption{}, opts...)
			bad[2] = jwxjwt.WithAudience("other")
			if _, err := jwxjwt.Parse([]byte(tok), bad...); err == nil {
				t.Fatal("jwx Parse with another audience error = nil; want a failure")
			}

			// And the other way round: a token signed by jwx with our key.
			theirs := jwxSigned(t, e)
			if c, err := e.ver.Verify(context.Background(), theirs); err != nil || c.Subject != "jwx-user" {
				t.Fatalf("Verify(jwx token) = %+v, %v; want subject jwx-user", c, err)
			}
		})
	}
}

func jwxSigned(tb testing.TB, e *env) string {
	tb.Helper()
	now := e.clock.Now()
	tok, err := jwxjwt.NewBuilder().
		Issuer(testIssuer).Audience([]string{testAudience}).Subject("jwx-user").
		IssuedAt(now).NotBefore(now).Expiration(now.Add(time.Minute)).Build()
	if err != nil {
		tb.Fatalf("jwx build: %v", err)
	}
	alg, ok := jwa.LookupSignatureAlgorithm(e.alg)
	if !ok {
		tb.Fatalf("jwx does not know %s", e.alg)
	}
	key := e.signingKey(tb)
	hdr := jws.NewHeaders()
	if err := hdr.Set("typ", "at+jwt"); err != nil {
		tb.Fatal(err)
	}
	if err := hdr.Set("kid", e.activeKid(tb)); err != nil {
		tb.Fatal(err)
	}
	signed, err := jwxjwt.Sign(tok, jwxjwt.WithKey(alg, key, jws.WithProtectedHeaders(hdr)))
	if err != nil {
		tb.Fatalf("jwx sign: %v", err)
	}
	return string(signed)
}
