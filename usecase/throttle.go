package usecase

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/gatehouse-auth/gatehouse/domain"
)

// ThrottlePolicy holds the brute-force and sign-up limits (DESIGN.md
// "Credentials").
type ThrottlePolicy struct {
	PairFailures  int           // consecutive failures per (username, IP) before backoff
	UserFailures  int           // consecutive failures per username before strangers are throttled
	IPFailures    int           // failures per IP within IPWindow (credential stuffing)
	IPWindow      time.Duration // window for IPFailures
	BaseDelay     time.Duration // first backoff; doubles with each further failure
	MaxDelay      time.Duration // backoff cap
	KnownIPMemory time.Duration // how long an address that logged in stays exempt
	SignupLimit   int           // sign-ups per address within SignupWindow; 0 for no limit
	SignupWindow  time.Duration
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
		SignupLimit:   20,
		SignupWindow:  10 * time.Minute,
	}
}

// Throttle refuses attempts that exceed the policy, before any password is
// hashed. Each attempt is counted when it is admitted, before its hash,
// in one atomic step with the decision, so N simultaneous guesses meet the
// same limits as N sequential ones; a success takes its count back. The
// counters live in an AttemptStore, so they hold across every replica that
// shares the store.
type Throttle struct {
	store  domain.AttemptStore
	policy ThrottlePolicy
	now    func() time.Time
}

// NewThrottle returns a Throttle keeping its counters in store. A nil
// *Throttle admits everything.
func NewThrottle(store domain.AttemptStore, policy ThrottlePolicy, now func() time.Time) *Throttle {
	return &Throttle{store: store, policy: policy, now: now}
}

// throttleKeys are the counters one attempt touches. Usernames and
// addresses are hashed so keys have a bounded size whatever a client sends.
type throttleKeys struct {
	pair, user, ip, known string
}

func keysFor(username, ip string) throttleKeys {
	ip = addressKey(ip)
	return throttleKeys{
		pair:  counterKey("p:", username, ip),
		user:  counterKey("u:", username),
		ip:    counterKey("i:", ip),
		known: counterKey("k:", username, ip),
	}
}

// counterKey is prefix and a hash of parts, length-prefixed so that no two
// different part lists collide.
func counterKey(prefix string, parts ...string) string {
	sum := sha256.New()
	for _, p := range parts {
		fmt.Fprintf(sum, "%d:%s|", len(p), p)
	}
	return prefix + base64.RawURLEncoding.EncodeToString(sum.Sum(nil)[:18])
}

// addressKey is the part of a client address that per-address limits
// count. An IPv6 client usually holds a whole /64 and can move freely
// inside it, so IPv6 addresses count per /64; IPv4 (also IPv4-mapped IPv6)
// addresses count as they are. Anything unparsable counts as its text.
func addressKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	a = a.Unmap()
	if a.Is4() {
		return a.String()
	}
	p, err := a.WithZone("").Prefix(64)
	if err != nil {
		return ip
	}
	return p.String()
}

// Reserve admits and counts one password attempt for username from ip, or
// refuses it with a *domain.ThrottledError when it must wait. The attempt
// counts as a failure from now on unless Success is called for it.
func (t *Throttle) Reserve(ctx context.Context, username, ip string) error {
	if t == nil {
		return nil
	}
	k := keysFor(username, ip)
	now := t.now()
	read := []string{k.pair, k.user, k.ip, k.known}
	count := []domain.FailureKey{{Key: k.pair}, {Key: k.user}, {Key: k.ip, Window: t.policy.IPWindow}}
	err := t.store.Reserve(ctx, now, read, count, func(got map[string]domain.Attempt) error {
		if wait := t.wait(got, k, now); wait > 0 {
			return &domain.ThrottledError{RetryAfter: wait}
		}
		return nil
	})
	return reserveErr("login attempt", err)
}

// wait is how long an attempt with the counters got must wait.
func (t *Throttle) wait(got map[string]domain.Attempt, k throttleKeys, now time.Time) time.Duration {
	wait := t.backoff(got[k.pair], t.policy.PairFailures, now)
	if last := got[k.known].LastSuccess; last.IsZero() || now.Sub(last) > t.policy.KnownIPMemory {
		wait = max(wait, t.backoff(got[k.user], t.policy.UserFailures, now))
	}
	return max(wait, windowWait(got[k.ip], t.policy.IPFailures, t.policy.IPWindow, now))
}

// windowWait is how long to wait for a windowed counter with limit
// attempts per window.
func windowWait(a domain.Attempt, limit int, window time.Duration, now time.Time) time.Duration {
	if limit > 0 && a.Failures >= limit && now.Sub(a.WindowStart) < window {
		return a.WindowStart.Add(window).Sub(now)
	}
	return 0
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

// Success records that a reserved attempt had the right password: the
// (username, ip) pair and the user's streak start over, the address's
// count is taken back, and ip is remembered as an address this user logs
// in from.
func (t *Throttle) Success(ctx context.Context, username, ip string) error {
	if t == nil {
		return nil
	}
	k := keysFor(username, ip)
	if err := t.store.RecordSuccess(ctx, t.now(), []string{k.pair, k.user}, []string{k.ip}, k.known); err != nil {
		return fmt.Errorf("record login success: %w", err)
	}
	return nil
}

// Cancel takes back the count of a reserved attempt whose password was
// never checked (the hash queue was full, the store failed): that was no
// guess.
func (t *Throttle) Cancel(ctx context.Context, username, ip string) error {
	if t == nil {
		return nil
	}
	k := keysFor(username, ip)
	if err := t.store.RecordSuccess(ctx, t.now(), nil, []string{k.pair, k.user, k.ip}, ""); err != nil {
		return fmt.Errorf("cancel login attempt: %w", err)
	}
	return nil
}

// ReserveSignup admits and counts one sign-up from ip, or refuses it with a
// *domain.ThrottledError once the address has used its allowance for the
// window.
func (t *Throttle) ReserveSignup(ctx context.Context, ip string) error {
	if t == nil || t.policy.SignupLimit <= 0 {
		return nil
	}
	key := counterKey("s:", addressKey(ip))
	now := t.now()
	count := []domain.FailureKey{{Key: key, Window: t.policy.SignupWindow}}
	err := t.store.Reserve(ctx, now, []string{key}, count, func(got map[string]domain.Attempt) error {
		if wait := windowWait(got[key], t.policy.SignupLimit, t.policy.SignupWindow, now); wait > 0 {
			return &domain.ThrottledError{RetryAfter: wait}
		}
		return nil
	})
	return reserveErr("sign-up", err)
}

// reserveErr passes a refusal through and wraps a store failure.
func reserveErr(what string, err error) error {
	var te *domain.ThrottledError
	if err == nil || errors.As(err, &te) {
		return err
	}
	return fmt.Errorf("count %s: %w", what, err)
}

// Prune deletes counters that no longer affect any decision.
func (t *Throttle) Prune(ctx context.Context) error {
	horizon := max(t.policy.MaxDelay, t.policy.IPWindow, t.policy.KnownIPMemory, t.policy.SignupWindow)
	return t.store.PruneAttempts(ctx, t.now().Add(-horizon))
}
