package domain

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// RevocationPage is the most entries one read of the revocation feed
// returns: a store read, and a page of GET /oauth/revocations.
const RevocationPage = 1000

// RevocationOverlap is how far behind its cursor a RevokedSet re-reads the
// feed. The cursor is a sequence number, and on Postgres an entry can
// become visible after one with a higher number (numbers are handed out
// before commit); re-reading a window catches it, and the set makes
// duplicates harmless.
const RevocationOverlap = 256

// FeedReader reads one page of the revocation feed: at most RevocationPage
// entries after the cursor after, oldest first, and the cursor to continue
// from (after itself when the page is empty).
type FeedReader func(ctx context.Context, after int64) (page []Revocation, next int64, err error)

// RevokedSet is the in-memory set of revoked sessions that is checked on
// every request instead of asking the store or Gatehouse: a replica's
// (usecase.RevocationList, fed from the store) and a resource server's
// (guard.Poller, fed from GET /oauth/revocations) are both one of these,
// so they read the feed, overlap, expire entries and go stale alike. Each
// entry is kept until its expiry, after which no token of that session can
// be valid anyway. It is safe for concurrent use.
type RevokedSet struct {
	now   func() time.Time
	fresh *Freshness

	refreshMu sync.Mutex // one Refresh at a time; guards cursor
	cursor    int64

	mu      sync.RWMutex
	revoked map[string]time.Time // session id -> when the entry expires
}

// NewRevokedSet returns an empty set. It is stale (Err) until its first
// successful Refresh, and again whenever the last one is more than maxStale
// ago (DefaultMaxStaleness when zero or less). what names the refresh in
// log lines ("revocation sync"); now nil is time.Now; log nil discards.
func NewRevokedSet(what string, maxStale time.Duration, now func() time.Time, log *slog.Logger) *RevokedSet {
	if now == nil {
		now = time.Now
	}
	return &RevokedSet{
		now: now, revoked: make(map[string]time.Time),
		fresh: NewFreshness(what, maxStale, now, log),
	}
}

// Revoked reports whether session id is revoked.
func (s *RevokedSet) Revoked(id string) bool {
	s.mu.RLock()
	exp, ok := s.revoked[id]
	s.mu.RUnlock()
	return ok && s.now().Before(exp)
}

// Add marks sessions revoked until expires (an entry already held keeps
// the later expiry).
func (s *RevokedSet) Add(ids []string, expires time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range ids {
		s.add(id, expires)
	}
}

// add records one entry; s.mu is held.
func (s *RevokedSet) add(id string, expires time.Time) {
	if id != "" && expires.After(s.revoked[id]) {
		s.revoked[id] = expires
	}
}

// Len returns the number of sessions in the set.
func (s *RevokedSet) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.revoked)
}

// Refresh reads the feed entries added since the last Refresh (re-reading
// a window before the cursor), page by page until a short page, at most
// maxPages pages (0: no limit, for a trusted feed), then drops expired
// entries. On success the set is fresh as of the start of the first read.
// A failure keeps what the set holds and returns the reader's error;
// report it with Failed.
func (s *RevokedSet) Refresh(ctx context.Context, read FeedReader, maxPages int) error {
	s.refreshMu.Lock()
	defer s.refreshMu.Unlock()
	start := s.now()
	after := max(s.cursor-RevocationOverlap, 0)
	for n := 1; ; n++ {
		page, next, err := read(ctx, after)
		if err != nil {
			return err
		}
		s.mu.Lock()
		for _, e := range page {
			s.add(e.SessionID, e.Expires)
		}
		s.mu.Unlock()
		s.cursor = max(s.cursor, next)
		if len(page) < RevocationPage || next <= after || n == maxPages {
			break
		}
		after = next
	}
	s.sweep()
	s.fresh.Refreshed(ctx, start)
	return nil
}

// sweep drops the entries that have expired.
func (s *RevokedSet) sweep() {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, exp := range s.revoked {
		if !now.Before(exp) {
			delete(s.revoked, id)
		}
	}
}

// Failed records a failed refresh and logs it as Freshness does: when
// failures start, once when the set goes stale, and at debug otherwise.
func (s *RevokedSet) Failed(ctx context.Context, err error) { s.fresh.Failed(ctx, err) }

// MaxAge returns the maximum staleness.
func (s *RevokedSet) MaxAge() time.Duration { return s.fresh.MaxAge() }

// LastSync returns when a Refresh last succeeded (zero before the first).
func (s *RevokedSet) LastSync() time.Time { return s.fresh.Last() }

// Err returns nil while the set is fresh, and an error wrapping
// ErrUnavailable before the first successful Refresh or once none has
// succeeded for the maximum staleness: revocations may then be missing,
// so the service should stop taking traffic (readiness).
func (s *RevokedSet) Err() error { return s.fresh.Err() }

// Stale reports whether Err is not nil, without building the error.
func (s *RevokedSet) Stale() bool { return s.fresh.Stale() }
