package domain

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// DefaultMaxStaleness is how long a revoked set may go without a successful
// refresh before it is stale (DESIGN.md: GATEHOUSE_REVOCATION_MAX_STALENESS).
const DefaultMaxStaleness = 30 * time.Second

// Freshness is the health of a revoked-session set that is refreshed in
// the background (RevokedSet: a replica's usecase.RevocationList or a
// resource server's guard.Poller): when a refresh last succeeded,
// and whether that is longer ago than the set may be trusted, its maximum
// staleness. Both use this one type, so they go stale, log and recover
// alike.
//
// It logs changes, not attempts: one warning when refreshes start failing,
// one error when the set goes stale, and one info line when a refresh
// succeeds again; the failures in between go to debug. It is safe for
// concurrent use.
type Freshness struct {
	what   string
	maxAge time.Duration
	now    func() time.Time
	log    *slog.Logger

	// Messages, built once from what.
	msgFailing, msgStale, msgRecovered, msgFailed string

	mu      sync.Mutex
	last    time.Time // zero before the first success
	failing bool      // a refresh failed since the last success
	stale   bool      // the stale error was logged since the last success
}

// NewFreshness returns the health of a set that is stale until its first
// refresh, and again whenever the last successful one is more than maxAge
// ago (DefaultMaxStaleness when zero or less). what names the refresh in
// log lines ("revocation sync"); now nil is time.Now; log nil discards.
func NewFreshness(what string, maxAge time.Duration, now func() time.Time, log *slog.Logger) *Freshness {
	if maxAge <= 0 {
		maxAge = DefaultMaxStaleness
	}
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Freshness{
		what: what, maxAge: maxAge, now: now, log: log,
		msgFailing:   what + " failed; retrying",
		msgStale:     what + " failed and the revoked set is stale: revoked tokens may be accepted; not ready until it succeeds",
		msgRecovered: what + " recovered",
		msgFailed:    what + " failed again",
	}
}

// MaxAge returns the maximum staleness.
func (f *Freshness) MaxAge() time.Duration { return f.maxAge }

// Last returns when a refresh last succeeded (zero before the first).
func (f *Freshness) Last() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.last
}

// Refreshed records a successful refresh of the set as of at, and logs the
// recovery if refreshes had been failing.
func (f *Freshness) Refreshed(ctx context.Context, at time.Time) {
	f.mu.Lock()
	if at.After(f.last) {
		f.last = at
	}
	failing, stale := f.failing, f.stale
	f.failing, f.stale = false, false
	f.mu.Unlock()
	if failing || stale {
		f.log.InfoContext(ctx, f.msgRecovered, "was_stale", stale)
	}
}

// Failed records a failed refresh. It logs a warning for the first failure
// after a success, an error the first time the copy is found stale, and
// nothing above debug otherwise. The set is stale at the first failure when
// no refresh ever succeeded.
func (f *Freshness) Failed(ctx context.Context, err error) {
	now := f.now()
	f.mu.Lock()
	last := f.last
	stale := f.isStale(now)
	first, newlyStale := !f.failing, stale && !f.stale
	f.failing, f.stale = true, f.stale || stale
	f.mu.Unlock()
	switch {
	case newlyStale:
		f.log.ErrorContext(ctx, f.msgStale, "err", err, "last_success", lastSeen(last), "max_staleness", f.maxAge.String())
	case first:
		f.log.WarnContext(ctx, f.msgFailing, "err", err)
	default:
		f.log.DebugContext(ctx, f.msgFailed, "err", err)
	}
}

// Err returns nil while the set is fresh. Otherwise it returns an error
// wrapping ErrUnavailable that says how old the set is.
func (f *Freshness) Err() error {
	now := f.now()
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case f.last.IsZero():
		return fmt.Errorf("%s has not succeeded yet: %w", f.what, ErrUnavailable)
	case f.isStale(now):
		return fmt.Errorf("%s last succeeded %s ago, more than the maximum staleness of %s: %w",
			f.what, now.Sub(f.last).Round(time.Millisecond), f.maxAge, ErrUnavailable)
	}
	return nil
}

// Stale reports whether Err is not nil, without building the error.
func (f *Freshness) Stale() bool {
	now := f.now()
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.isStale(now)
}

// isStale reports whether the last success is too old at now. f.mu is held.
func (f *Freshness) isStale(now time.Time) bool {
	return f.last.IsZero() || now.Sub(f.last) > f.maxAge
}

// lastSeen renders a last-success time for a log line.
func lastSeen(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.UTC().Format(time.RFC3339Nano)
}
