package usecase

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/gatehouse-auth/gatehouse/domain"
)

// DefaultMaxStaleness is how long the revoked set may go without a
// successful Sync before it is stale (domain.DefaultMaxStaleness).
const DefaultMaxStaleness = domain.DefaultMaxStaleness

// feedPage is how many feed entries one store read returns, and the most
// (and default) page of Feed.
const feedPage = domain.RevocationPage

// RevocationList is the in-memory set of revoked sessions that every
// replica checks on each request instead of reading the database: a
// domain.RevokedSet fed from the store. Sync pulls new entries from the
// store's feed; Add records a local revocation at once. Err says when the
// set has gone stale, for readiness.
type RevocationList struct {
	store domain.RevocationFeed
	now   func() time.Time
	log   *slog.Logger
	set   *domain.RevokedSet
}

// NewRevocationList returns an empty list fed from store. It is stale (see
// Err) until its first successful Sync, and again whenever the last one is
// more than maxStale ago (DefaultMaxStaleness when zero or less).
func NewRevocationList(store domain.RevocationFeed, now func() time.Time, log *slog.Logger, maxStale time.Duration) *RevocationList {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &RevocationList{
		store: store, now: now, log: log,
		set: domain.NewRevokedSet("revocation sync", maxStale, now, log),
	}
}

// Revoked reports whether session id has been revoked.
func (l *RevocationList) Revoked(id string) bool { return l.set.Revoked(id) }

// Add marks sessions revoked until expires.
func (l *RevocationList) Add(ids []string, expires time.Time) { l.set.Add(ids, expires) }

// Size returns the number of sessions in the set.
func (l *RevocationList) Size() int { return l.set.Len() }

// LastSync returns when Sync last succeeded (zero before the first time).
func (l *RevocationList) LastSync() time.Time { return l.set.LastSync() }

// Err returns nil while the set is fresh, and an error wrapping
// domain.ErrUnavailable once no Sync has succeeded for the maximum
// staleness (or none ever has): revocations made on other replicas may then
// be missing, so the replica should stop taking traffic (/readyz).
func (l *RevocationList) Err() error { return l.set.Err() }

// Stale reports whether Err is not nil (for the metric).
func (l *RevocationList) Stale() bool { return l.set.Stale() }

// Sync reads the feed entries added since the last Sync and drops expired
// ones from the set.
func (l *RevocationList) Sync(ctx context.Context) error {
	return l.set.Refresh(ctx, l.readFeed, 0)
}

// readFeed reads one page of the store's feed (domain.FeedReader).
func (l *RevocationList) readFeed(ctx context.Context, after int64) ([]domain.Revocation, int64, error) {
	page, err := l.store.RevocationsSince(ctx, after, l.now(), feedPage)
	if err != nil {
		return nil, after, fmt.Errorf("read revocation feed: %w", err)
	}
	next := after
	if len(page) > 0 {
		next = page[len(page)-1].Seq
	}
	return page, next, nil
}

// Jobs are the list's periodic work, for the server's Scheduler: a Sync
// every interval, and about once a minute a prune of the expired feed
// entries in the store. A failing Sync is logged as the set's freshness
// logs it: when the failures start, once when the set goes stale, and when
// a Sync succeeds again. Each Sync may take at most the maximum staleness,
// so a store that hangs rather than fails is noticed too.
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
	syncCtx, cancel := context.WithTimeout(ctx, l.set.MaxAge())
	err := l.Sync(syncCtx)
	cancel()
	if err != nil && ctx.Err() == nil {
		l.set.Failed(ctx, err)
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
