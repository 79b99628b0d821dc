package token

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// staticKey is a keySource of one HS256 secret.
type staticKey struct{ secret []byte }

func (staticKey) generation(context.Context) uint64 { return 0 }

func (k staticKey) verificationKey(context.Context, string) (string, any, error) {
	return AlgHS256, k.secret, nil
}

// BenchmarkVerifyParts splits an uncached HS256 check of a token shaped
// like Gatehouse's: "golang-jwt" is the library's ParseWithClaims alone
// (base64, header and claims JSON, HMAC, registered-claim checks, with the
// verifier's parser options and claims type), "verifier" adds what
// Gatehouse does around it (typ/kid checks, mapping to domain.Claims), and
// "verifier+cache" also inserts every token into the verified-token cache,
// as a served check of a never-seen token does.
func BenchmarkVerifyParts(b *testing.B) {
	secret := []byte("benchmark-secret-benchmark-secret-0123456789")
	now := time.Now()
	pool := make([]string, 4096)
	for i := range pool {
		t := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
			"iss": "http://localhost:8080", "sub": "01a21e98-e95f-7ad1-a5ce-f52c27eb2288", "aud": "gatehouse",
			"exp": now.Add(15 * time.Minute).Unix(), "nbf": now.Unix(), "iat": now.Unix(),
			"jti": fmt.Sprintf("01a21e98-e99d-76e3-ab49-%012d", i), "sid": "01a21e98-e99c-7c41-9da1-e50cd0d44cea", "user": "bench1",
		})
		t.Header["kid"] = "VS0hFWUg5bBshOv7QuClytkiUXkH7x0lN75X-FTMdxA"
		t.Header["typ"] = typAccessToken
		s, err := t.SignedString(secret)
		if err != nil {
			b.Fatal(err)
		}
		pool[i] = s
	}
	ctx := context.Background()
	for _, part := range []string{"golang-jwt", "verifier", "verifier+cache"} {
		b.Run(part, func(b *testing.B) {
			size := 0
			if part == "verifier+cache" {
				size = 1 << 20 // never full: every put is an insert
			}
			v := newVerifier(staticKey{secret}, []string{AlgHS256}, "http://localhost:8080", "gatehouse", 30*time.Second, nil, size)
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				tok := pool[i%len(pool)]
				var err error
				if part == "golang-jwt" {
					_, err = v.parser.ParseWithClaims(tok, &verifyClaims{}, func(*jwt.Token) (any, error) { return secret, nil })
				} else {
					if v.cache != nil && i%len(pool) == 0 {
						v.cache = newCache(size) // keep every call a miss
					}
					_, err = v.Verify(ctx, tok)
				}
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
