package main

import (
	"fmt"
	"maps"
	"net/http"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/testkit"
	"github.com/gatehouse-auth/gatehouse/usecase"
)

// newUserThrottleEnv is a security env (trusting X-Forwarded-For from
// loopback) whose login throttle has DESIGN.md's default limits and a
// clock that stands still, and whose password checks are counted. The
// backoff that follows the 20th failure of a user starts at 1 s; with the
// clock standing, no burst outlives it however slowly the machine runs,
// so the counts below are exact.
func newUserThrottleEnv(t *testing.T, db map[string]string) (*testEnv, *countingHasher) {
	t.Helper()
	overrides := maps.Clone(trustLoopback)
	maps.Copy(overrides, db)
	var hashes *countingHasher
	e := newSecurityEnv(t, overrides, testParams, func(a *app) {
		a.throttle = usecase.NewThrottle(a.store, usecase.DefaultThrottlePolicy(), testkit.NewClock(time.Now()).Now)
		hashes = countLoginHashes(a)
	})
	return e, hashes
}

// TestParallelGuessesMeetThePerUserLimit: 20 failures per user, from any
// addresses, throttle the user for addresses it has not logged in from.
// 40 wrong guesses for bob, one by one, and 40 for alice all at once, each
// from an address of its own (so neither the pair nor the address limit
// counts): both meet exactly the same limit, 20 checked (401) and 20
// refused before any hash (429).
func TestParallelGuessesMeetThePerUserLimit(t *testing.T) {
	t.Parallel()
	onEachStore(t, func(t *testing.T, db map[string]string) {
		const (
			pw    = "correct horse battery"
			n     = 40 // twice the allowance
			limit = 20 // DESIGN.md's default per-user allowance
			home  = "192.0.2.10"
		)
		e, hashes := newUserThrottleEnv(t, db)
		for _, user := range []string{"alice", "bob"} {
			e.signUp(user, pw)
			wantStatus(t, e.loginFrom(home, user, pw), user+" logs in from home", http.StatusOK)
		}
		guess := func(user, ip string) call {
			return e.call(http.MethodPost, "/get_token", map[string]string{"username": user, "password": "wrong guess"}, map[string]string{"X-Forwarded-For": ip})
		}
		want := map[int]int{http.StatusUnauthorized: limit, http.StatusTooManyRequests: n - limit}

		before := hashes.verifies.Load()
		sequential := map[int]int{}
		for i := range n {
			c := guess("bob", fmt.Sprintf("203.0.113.%d", i+1))
			if c.err != nil {
				t.Fatalf("guess %d: %v", i, c.err)
			}
			sequential[c.status]++
		}
		if checked := hashes.verifies.Load() - before; !maps.Equal(sequential, want) || checked != limit {
			t.Errorf("%d sequential guesses for bob from %d addresses: %v, %d password checks; want %v and %d", n, n, sequential, checked, want, limit)
		}

		before = hashes.verifies.Load()
		concurrent := parallel(t, n, func(i int) call { return guess("alice", fmt.Sprintf("198.51.100.%d", i+1)) })
		if checked := hashes.verifies.Load() - before; !maps.Equal(concurrent, want) || checked != limit {
			t.Errorf("%d parallel guesses for alice from %d addresses: %v, %d password checks; want %v and %d (as one by one)", n, n, concurrent, checked, want, limit)
		}

		// The right password from a new address waits too; the address
		// alice logged in from before is exempt, so nobody locks her out.
		wantThrottled(t, e.loginFrom("198.51.100.200", "alice", pw), "alice's password from a new address", 1)
		wantStatus(t, e.loginFrom(home, "alice", pw), "alice's password from home", http.StatusOK)
	})
}
