package usecase

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/gatehouse-auth/gatehouse/domain"
)

// feedOverlap is how far behind its cursor RevocationList re-reads the feed.
// On Postgres, sequence numbers are handed out before commit, so an entry
// can become visible after one with a higher number; re-reading a window
// catches it, and the set makes duplicates harmless.
const feedOverlap = 256

// feedPage is how many feed entries one store read returns, and the most
// (and default) page of Feed.
const feedPage = 1000

// RevocationList is the in-memory set of revoked sessions that every
// replica checks on each request instead of reading the database. Sync pulls
// new entries from the store's feed; Add records a local revocation at once.
// Err says when the set has gone stale, for readiness.
type RevocationList struct {
	store domain.RevocationFeed
	now   func() time.Time
	log   *slog.Logger
	fresh *Freshness

	mu      sync.RWMutex
	revoked map[string]time.Time // session id -> when the entry expires
	cursor  int64
}

// NewRevocationList returns an empty list fed from store. It is stale (see
// Err) until its first successful Sync, and again whenever the last one is
// more than maxStale ago (DefaultMaxStaleness when zero or less).
func NewRevocationList(store domain.RevocationFeed, now func() time.Time, log *slog.Logger, maxStale time.Duration) *RevocationList {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &RevocationList{
		store: store, now: now, log: log, revoked: make(map[string]time.Time),
		fresh: NewFreshness("revocation sync", maxStale, now, log),
	}
}

// Revoked reports whether session id has been revoked.
func (l *RevocationList) Revoked(id string) bool {
	l.mu.RLock()
	exp, ok := l.revoked[id]
	l.mu.RUnlock()
	return ok && l.now().Before(exp)
}

// Add marks sessions revoked until expires.
func (l *RevocationList) Add(ids []string, expires time.Time) {
	if len(ids) == 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, id := range ids {
		if expires.After(l.revoked[id]) {
			l.revoked[id] = expires
		}
	}
}

// Size returns the number of sessions in the set.
func (l *RevocationList) Size() int {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return len(l.revoked)
}

// LastSync returns when Sync last succeeded (zero before the first time).
func (l *RevocationList) LastSync() time.Time { return l.fresh.Last() }

// Err returns nil while the set is fresh, and an error wrapping
// domain.ErrUnavailable once no Sync has succeeded for the maximum
// staleness (or none ever has): revocations made on other replicas may then
// be missing, so the replica should stop taking traffic (/readyz).
func (l *RevocationList) Err() error { return l.fresh.Err() }

// Stale reports whether Err is not nil (for the metric).
func (l *RevocationList) Stale() bool { return l.fresh.Stale() }

// Sync reads the feed entries added since the last Sync and drops expired
// ones from the set.
func (l *RevocationList) Sync(ctx context.Context) error {
	now := l.now()
	l.mu.RLock()
	after := max(l.cursor-feedOverlap, 0)
	l.mu.RUnlock()
	for {
		page, err := l.store.RevocationsSince(ctx, after, now, feedPage)
		if err != nil {
			return fmt.Errorf("read revocation feed: %w", err)
		}
		l.mu.Lock()
		for _, e := range page {
			if e.Expires.After(l.revoked[e.SessionID]) {
				l.revoked[e.SessionID] = e.Expires
			}
			l.cursor = max(l.cursor, e.Seq)
			after = e.Seq
		}
		l.mu.Unlock()
		if len(page) < feedPage {
			break
		}
	}
	l.mu.Lock()
	for id, exp := range l.revoked {
		if !now.Before(exp) {
			delete(l.revoked, id)
		}
	}
	l.mu.Unlock()
	l.fresh.Refreshed(ctx, now)
	return nil
}

// Jobs are the list's periodic work, for the server's Scheduler: a Sync
// every interval, and about once a minute a prune of the expired feed
// entries in the store. A failing Sync is logged as Freshness logs it:
// when the failures start, once when the set goes stale, and when a Sync
// succeeds again. Each Sync may take at most the maximum staleness, so a
// store that hangs rather than fails is noticed too.
func (l *RevocationList) Jobs(interval time.Duration) []Job {
	return []Job{
		{Name: "revocation sync", Every: interval, Run: l.syncJob},
		{Name: "revocation feed prune", Every: time.Minute, Run: l.pruneJob},
	}
}

// Run runs Jobs on a Scheduler of their own until ctx ends.
func (l *RevocationList) Run(ctx context.Context, interval time.Duration) {
	NewScheduler(l.Jobs(interval)...).Run(ctx)
}

func (l *RevocationList) syncJob(ctx context.Context) {
	syncCtx, cancel := context.WithTimeout(ctx, l.fresh.MaxAge())
	err := l.Sync(syncCtx)
	cancel()
	if err != nil && ctx.Err() == nil {
		l.fresh.Failed(ctx, err)
	}
}

func (l *RevocationList) pruneJob(ctx context.Context) {
	if err := l.store.PruneRevocations(ctx, l.now()); err != nil && ctx.Err() == nil {
		l.log.WarnContext(ctx, "revocation prune failed", "err", err)
	}
}

// Feed returns up to limit live entries of the revocation feed after the
// cursor, for other services (GET /oauth/revocations). A limit of 0 is
// the default page (1000, also the most); another one outside 1..1000 is a
// *domain.ValidationError.
func (l *RevocationList) Feed(ctx context.Context, after int64, limit int) ([]domain.Revocation, error) {
	limit, err := pageLimit(limit, feedPage, feedPage)
	if err != nil {
		return nil, err
	}
	entries, err := l.store.RevocationsSince(ctx, after, l.now(), limit)
	if err != nil {
		return nil, fmt.Errorf("read revocation feed: %w", err)
	}
	return entries, nil
}
