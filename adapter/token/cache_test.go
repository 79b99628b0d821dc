package token_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/adapter/token"
	"github.com/gatehouse-auth/gatehouse/domain"
)

func TestCachedTokenStillExpires(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, token.AlgEdDSA, 16)
	tok := e.issue(t, e.userClaims())
	for range 2 {
		if _, err := e.ver.Verify(ctx, tok); err != nil {
			t.Fatalf("Verify() error = %v", err)
		}
	}
	if n := e.ver.CacheLen(); n != 1 {
		t.Fatalf("CacheLen() = %d; want 1", n)
	}
	e.clock.Set(t0.Add(accessTTL + leeway))
	if _, err := e.ver.Verify(ctx, tok); !errors.Is(err, domain.ErrTokenExpired) {
		t.Fatalf("Verify(cached, past exp) error = %v; want ErrTokenExpired", err)
	}
	if n := e.ver.CacheLen(); n != 0 {
		t.Fatalf("CacheLen() = %d after expiry; want 0", n)
	}
}

func TestCachedTokenChecksNotBefore(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, token.AlgEdDSA, 16)
	tok := e.issue(t, e.userClaims())
	if _, err := e.ver.Verify(ctx, tok); err != nil {
		t.Fatalf("Verify() error = %v", err)
	}
	e.clock.Set(t0.Add(-leeway - time.Second)) // the clock stepped back
	if _, err := e.ver.Verify(ctx, tok); !errors.Is(err, domain.ErrTokenInvalid) {
		t.Fatalf("Verify(cached, before nbf) error = %v; want ErrTokenInvalid", err)
	}
	e.clock.Set(t0)
	if _, err := e.ver.Verify(ctx, tok); err != nil {
		t.Fatalf("Verify(cached, valid again) error = %v", err)
	}
}

func TestCacheBounded(t *testing.T) {
	t.Parallel()
	for _, size := range []int{1, 7, 16, 100} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			e := newEnv(t, token.AlgHS256, size)
			toks := make([]string, 3*size+5)
			for i := range toks {
				c := e.userClaims()
				c.ID = fmt.Sprintf("jti-%d", i)
				toks[i] = e.issue(t, c)
				if _, err := e.ver.Verify(ctx, toks[i]); err != nil {
					t.Fatalf("Verify(#%d) error = %v", i, err)
				}
				if n := e.ver.CacheLen(); n > size {
					t.Fatalf("CacheLen() = %d after %d tokens; want <= %d", n, i+1, size)
				}
			}
			if n := e.ver.CacheLen(); n == 0 {
				t.Fatal("CacheLen() = 0; want the cache in use")
			}
			for i, tok := range toks { // evicted or not, every token still verifies
				if c, err := e.ver.Verify(ctx, tok); err != nil || c.ID != fmt.Sprintf("jti-%d", i) {
					t.Fatalf("Verify(#%d) = %v, %v", i, c, err)
				}
			}
		})
	}
}

func TestCacheDisabled(t *testing.T) {
	t.Parallel()
	e := newEnv(t, token.AlgEdDSA, 0)
	if _, err := e.ver.Verify(context.Background(), e.issue(t, e.userClaims())); err != nil {
		t.Fatalf("Verify() error = %v", err)
	}
	if n := e.ver.CacheLen(); n != 0 {
		t.Fatalf("CacheLen() = %d with the cache disabled; want 0", n)
	}
}

func TestCacheReturnsCopies(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, token.AlgEdDSA, 16)
	tok := e.issue(t, e.userClaims())
	first, err := e.ver.Verify(ctx, tok)
	if err != nil {
		t.Fatalf("Verify() error = %v", err)
	}
	first.Subject = "someone-else"
	_ = append(first.Roles, "root") // must not write into the cached array
	second, err := e.ver.Verify(ctx, tok)
	if err != nil || second.Subject != "user-1" || len(second.Roles) != 2 || second == first {
		t.Fatalf("Verify() after caller mutation = %+v, %v; want the original claims", second, err)
	}
	third, _ := e.ver.Verify(ctx, tok)
	if third == second {
		t.Fatal("Verify() returned the same pointer twice; want a copy per call")
	}
}

// TestCacheEmptiedOnKeyRemoval checks that a cached token whose key left
// the ring is refused even though it has not expired.
func TestCacheEmptiedOnKeyRemoval(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, token.AlgEdDSA, 16)
	c := e.userClaims()
	c.ExpiresAt = t0.Add(48 * time.Hour)
	tok := e.issue(t, c)
	if _, err := e.ver.Verify(ctx, tok); err != nil {
		t.Fatalf("Verify() error = %v", err)
	}
	if _, err := e.ring.Rotate(ctx, domain.Event{}); err != nil {
		t.Fatalf("Rotate() error = %v", err)
	}
	if _, err := e.ver.Verify(ctx, tok); err != nil {
		t.Fatalf("Verify() after rotation error = %v; retired keys stay accepted", err)
	}
	if n := e.ver.CacheLen(); n != 1 {
		t.Fatalf("CacheLen() = %d after rotation; want 1 (adding a key keeps the cache)", n)
	}
	e.clock.Set(t0.Add(retain + time.Minute))
	if err := e.ring.Load(ctx); err != nil {
		t.Fatalf("Load() error = %v", err)
	}
	if _, err := e.ver.Verify(ctx, tok); !errors.Is(err, domain.ErrTokenInvalid) {
		t.Fatalf("Verify(cached, key removed) error = %v; want ErrTokenInvalid", err)
	}
}
