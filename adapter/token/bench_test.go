package token_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gatehouse-auth/gatehouse/adapter/token"
	"github.com/gatehouse-auth/gatehouse/domain"
)

// BenchmarkVerify measures the hot path: cached is one token verified over
// and over; uncached is a pool of distinct tokens with the cache disabled,
// so each iteration pays for a signature check.
func BenchmarkVerify(b *testing.B) {
	ctx := context.Background()
	for _, alg := range allAlgs {
		b.Run(alg+"/cached", func(b *testing.B) {
			e := newEnv(b, alg, 1024)
			benchCached(b, e.ver, e.issue(b, e.userClaims()))
		})
		b.Run(alg+"/uncached", func(b *testing.B) {
			e := newEnv(b, alg, 0)
			pool := make([]string, 4096)
			for i := range pool {
				c := e.userClaims()
				c.ID = fmt.Sprint("jti-", i)
				pool[i] = e.issue(b, c)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				if _, err := e.ver.Verify(ctx, pool[i%len(pool)]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSignatureOnly is the signature check alone, over the signing
// input of a real Gatehouse access token, with golang-jwt's signing method
// and a key of the same kind: the part of an uncached verification that no
// implementation can skip. BenchmarkVerify/ALG/uncached minus this is what
// decoding and checking the token costs around it.
func BenchmarkSignatureOnly(b *testing.B) {
	for _, alg := range allAlgs {
		b.Run(alg, func(b *testing.B) {
			e := newEnv(b, alg, 0)
			tok := e.issue(b, e.userClaims())
			input := tok[:strings.LastIndexByte(tok, '.')]
			m := jwt.GetSigningMethod(alg)
			signKey, verifyKey := signatureKeys(b, alg)
			sig, err := m.Sign(input, signKey)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if err := m.Verify(input, sig, verifyKey); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// signatureKeys returns a fresh key pair of the kind Gatehouse uses for alg
// (HS256: the same secret twice).
func signatureKeys(b *testing.B, alg string) (sign, verify any) {
	b.Helper()
	var err error
	switch alg {
	case token.AlgEdDSA:
		var pub ed25519.PublicKey
		pub, sign, err = ed25519.GenerateKey(rand.Reader)
		verify = pub
	case token.AlgES256:
		var k *ecdsa.PrivateKey
		k, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		sign, verify = k, &k.PublicKey
	case token.AlgRS256:
		var k *rsa.PrivateKey
		k, err = rsa.GenerateKey(rand.Reader, 2048)
		sign, verify = k, &k.PublicKey
	default:
		secret := []byte("benchmark-secret-benchmark-secret-0123456789")
		sign, verify = secret, secret
	}
	if err != nil {
		b.Fatal(err)
	}
	return sign, verify
}

// BenchmarkRemoteVerify is the cached path of a RemoteVerifier reading the
// ring's JWK Set from a local HTTP server (fetched once, before the timer).
func BenchmarkRemoteVerify(b *testing.B) {
	for _, alg := range asymAlgs {
		b.Run(alg+"/cached", func(b *testing.B) {
			e := newEnv(b, alg, 0)
			_, _, rv := newRemote(b, e, []string{alg}, 1024)
			benchCached(b, rv, e.issue(b, e.userClaims()))
		})
	}
}

// benchCached verifies tok once, then over and over in parallel: every
// timed call is a cache hit.
func benchCached(b *testing.B, v domain.TokenVerifier, tok string) {
	ctx := context.Background()
	if _, err := v.Verify(ctx, tok); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := v.Verify(ctx, tok); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkIssue(b *testing.B) {
	for _, alg := range allAlgs {
		b.Run(alg, func(b *testing.B) {
			e := newEnv(b, alg, 0)
			c := e.userClaims()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := e.iss.Issue(context.Background(), c); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// FuzzVerify feeds mangled tokens to the verifier: it must never panic,
// and anything it accepts must carry a subject.
func FuzzVerify(f *testing.F) {
	e := newEnv(f, token.AlgEdDSA, 64)
	good := e.issue(f, e.userClaims())
	parts := strings.Split(good, ".")
	f.Add(good)
	f.Add(parts[0] + "." + parts[1] + ".")
	f.Add(parts[0] + ".." + parts[2])
	f.Add("." + parts[1] + "." + parts[2])
	f.Add(strings.ToUpper(good))
	f.Add(good[:len(good)/2])
	f.Add(noneToken(f, e))
	f.Add("eyJhbGciOiJub25lIn0.e30.")
	f.Add("")
	f.Fuzz(func(t *testing.T, tok string) {
		c, err := e.ver.Verify(context.Background(), tok)
		if err == nil && (c == nil || c.Subject == "") {
			t.Fatalf("Verify accepted a token without a subject: %+v", c)
		}
		if err != nil && c != nil {
			t.Fatalf("Verify returned claims with error %v", err)
		}
	})
}
