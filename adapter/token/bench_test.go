package token_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/adapter/token"
)

// BenchmarkVerify measures the hot path: cached is one token verified over
// and over; uncached is a pool of distinct tokens with the cache disabled,
// so each iteration pays for a signature check.
func BenchmarkVerify(b *testing.B) {
	ctx := context.Background()
	for _, alg := range allAlgs {
		b.Run(alg+"/cached", func(b *testing.B) {
			e := newEnv(b, alg, 1024)
			tok := e.issue(b, e.userClaims())
			if _, err := e.ver.Verify(ctx, tok); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := e.ver.Verify(ctx, tok); err != nil {
						b.Error(err)
						return
					}
				}
			})
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
