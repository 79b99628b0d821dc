package usecase

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"time"

	"github.com/gatehouse-auth/gatehouse/domain"
)

// ThrottlePolicy holds the brute-force limits (DESIGN.md "Credentials").
type ThrottlePolicy struct {
	PairFailures  int           // consecutive failures per (username, IP) before backoff
	UserFailures  int           // consecutive failures per username before strangers are throttled
	IPFailures    int           // failures per IP within IPWindow (credential stuffing)
	IPWindow      time.Duration // window for IPFailures
	BaseDelay     time.Duration // first backoff; doubles with each further failure
	MaxDelay      time.Duration // backoff cap
	KnownIPMemory time.Duration // how long an address that logged in stays exempt
}

// DefaultThrottlePolicy returns DESIGN.md's defaults.
func DefaultThrottlePolicy() ThrottlePolicy {
	return ThrottlePolicy{
		PairFailures:  5,
		UserFailures:  20,
		IPFailures:    50,
		IPWindow:      15 * time.Minute,
		BaseDelay:     time.Second,
		MaxDelay:      15 * time.Minute,
		KnownIPMemory: 30 * 24 * time.Hour,
	}
}

// Throttle refuses login attempts that exceed the policy, before any
// password is hashed. Its counters live in an AttemptStore, so failures
// count across every replica that shares the store.
type Throttle struct {
	store  domain.AttemptStore
	policy ThrottlePolicy
	now    func() time.Time
}

// NewThrottle returns a Throttle keeping its counters in store.
func NewThrottle(store domain.AttemptStore, policy ThrottlePolicy, now func() time.Time) *Throttle {
	return &Throttle{store: store, policy: policy, now: now}
}

// throttleKeys are the counters one attempt touches. Usernames and
// addresses are hashed so keys have a bounded size whatever a client sends.
type throttleKeys struct {
	pair, user, ip, known string
}

func keysFor(username, ip string) throttleKeys {
	h := func(prefix string, parts ...string) string {
		sum := sha256.New()
		for _, p := range parts {
			fmt.Fprintf(sum, "%d:%s|", len(p), p)
		}
		return prefix + base64.RawURLEncoding.EncodeToString(sum.Sum(nil)[:18])
	}
	return throttleKeys{
		pair:  h("p:", username, ip),
		user:  h("u:", username),
		ip:    h("i:", ip),
		known: h("k:", username, ip),
	}
}

// Check returns a *domain.ThrottledError if an attempt for username from ip
// must wait, or a store error.
func (t *Throttle) Check(ctx context.Context, username, ip string) error {
	k := keysFor(username, ip)
	got, err := t.store.Attempts(ctx, []string{k.pair, k.user, k.ip, k.known})
	if err != nil {
		return fmt.Errorf("read login attempts: %w", err)
	}
	now := t.now()
	wait := t.backoff(got[k.pair], t.policy.PairFailures, now)
	if last := got[k.known].LastSuccess; last.IsZero() || now.Sub(last) > t.policy.KnownIPMemory {
		wait = max(wait, t.backoff(got[k.user], t.policy.UserFailures, now))
	}
	if w := got[k.ip]; t.policy.IPFailures > 0 && w.Failures >= t.policy.IPFailures && now.Sub(w.WindowStart) < t.policy.IPWindow {
		wait = max(wait, w.WindowStart.Add(t.policy.IPWindow).Sub(now))
	}
	if wait > 0 {
		return &domain.ThrottledError{RetryAfter: wait}
	}
	return nil
}

// backoff is how long to wait after a streak, given the free allowance.
func (t *Throttle) backoff(a domain.Attempt, allowance int, now time.Time) time.Duration {
	if allowance <= 0 || a.Failures < allowance {
		return 0
	}
	delay := t.policy.BaseDelay
	for i := allowance; i < a.Failures && delay < t.policy.MaxDelay; i++ {
		delay *= 2
	}
	delay = min(delay, t.policy.MaxDelay)
	return a.LastFailure.Add(delay).Sub(now)
}

// Failure records a failed attempt.
func (t *Throttle) Failure(ctx context.Context, username, ip string) error {
	k := keysFor(username, ip)
	err := t.store.RecordFailures(ctx, t.now(), []domain.FailureKey{
		{Key: k.pair}, {Key: k.user}, {Key: k.ip, Window: t.policy.IPWindow},
	})
	if err != nil {
		return fmt.Errorf("record login failure: %w", err)
	}
	return nil
}

// Success resets the (username, ip) pair and the user's streak, and
// remembers ip as an address this user logs in from.
func (t *Throttle) Success(ctx context.Context, username, ip string) error {
	k := keysFor(username, ip)
	if err := t.store.RecordSuccess(ctx, t.now(), []string{k.pair, k.user}, k.known); err != nil {
		return fmt.Errorf("record login success: %w", err)
	}
	return nil
}

// Prune deletes counters that no longer affect any decision.
func (t *Throttle) Prune(ctx context.Context) error {
	horizon := max(t.policy.MaxDelay, t.policy.IPWindow, t.policy.KnownIPMemory)
	return t.store.PruneAttempts(ctx, t.now().Add(-horizon))
}
