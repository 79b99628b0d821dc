package usecase

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/domain"
	"github.com/gatehouse-auth/gatehouse/internal/testkit"
)

// logRecords is a slog.Handler that keeps every record's level and
// message, so tests can count lines without parsing text.
type logRecords struct {
	mu    sync.Mutex
	lines []string // "LEVEL message"
}

func (l *logRecords) Enabled(context.Context, slog.Level) bool { return true }
func (l *logRecords) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *logRecords) WithGroup(string) slog.Handler            { return l }
func (l *logRecords) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, r.Level.String()+" "+r.Message)
	return nil
}

// count returns how many lines of level contain substr.
func (l *logRecords) count(level slog.Level, substr string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, line := range l.lines {
		if strings.HasPrefix(line, level.String()+" ") && strings.Contains(line, substr) {
			n++
		}
	}
	return n
}

func (l *logRecords) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

// flakyFeed is a SessionStore whose revocation feed can be switched off;
// it counts the reads that failed.
type flakyFeed struct {
	domain.SessionStore
	mu     sync.Mutex
	down   bool
	failed int
}

func (f *flakyFeed) RevocationsSince(ctx context.Context, after int64, now time.Time, limit int) ([]domain.Revocation, error) {
	f.mu.Lock()
	if f.down {
		f.failed++
		f.mu.Unlock()
		return nil, fmt.Errorf("query feed: %w", errOutage)
	}
	f.mu.Unlock()
	return f.SessionStore.RevocationsSince(ctx, after, now, limit)
}

func (f *flakyFeed) setDown(down bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.down = down
}

func (f *flakyFeed) failures() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.failed
}

// TestRevocationListStaleness drives Sync with a fixed clock and a feed that
// fails: the list stays ready while the last good Sync is at most the
// maximum staleness old, is not ready after, and is ready again after a
// good Sync.
func TestRevocationListStaleness(t *testing.T) {
	t.Parallel()
	const maxStale = 30 * time.Second
	e := newEnv(t)
	feed := &flakyFeed{SessionStore: e.store}
	l := NewRevocationList(feed, e.clock.Now, slog.New(slog.DiscardHandler), maxStale)

	ready := func(step string, want bool) {
		t.Helper()
		err := l.Err()
		if got := err == nil; got != want || l.Stale() == want {
			t.Fatalf("%s: Err() = %v, Stale() = %v; want ready %v", step, err, l.Stale(), want)
		}
		if err != nil && !errors.Is(err, domain.ErrUnavailable) {
			t.Fatalf("%s: Err() = %v; want it to wrap domain.ErrUnavailable", step, err)
		}
	}
	ready("before the first Sync", false)
	testkit.WantErr(t, "Sync", l.Sync(e.ctx), nil)
	ready("after the first Sync", true)

	feed.setDown(true)
	for _, step := range []time.Duration{2 * time.Second, 20 * time.Second, maxStale - 22*time.Second} {
		e.clock.Advance(step)
		testkit.WantErr(t, "Sync during an outage", l.Sync(e.ctx), errOutage)
		ready(fmt.Sprintf("%v after the last good Sync", e.clock.Now().Sub(l.LastSync())), true)
	}
	e.clock.Advance(time.Nanosecond)
	ready("just past the maximum staleness", false)
	e.clock.Advance(time.Hour)
	ready("an hour later", false)

	feed.setDown(false)
	testkit.WantErr(t, "Sync after the outage", l.Sync(e.ctx), nil)
	ready("after a good Sync", true)
	if !l.LastSync().Equal(e.clock.Now()) {
		t.Errorf("LastSync = %v; want %v", l.LastSync(), e.clock.Now())
	}
}

// TestRevocationListRunLogsStalenessOnce runs the sync loop against a feed
// that fails for longer than the maximum staleness: one warning when the
// failures start, one error when the set goes stale (however many syncs
// fail after that), one info line when a sync succeeds again.
func TestRevocationListRunLogsStalenessOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	feed := &flakyFeed{SessionStore: e.store}
	logs := &logRecords{}
	l := NewRevocationList(feed, e.clock.Now, slog.New(logs), time.Minute)
	testkit.WantErr(t, "Sync", l.Sync(e.ctx), nil)

	ctx, cancel := context.WithCancel(e.ctx)
	done := make(chan struct{})
	go func() { defer close(done); l.Run(ctx, time.Millisecond) }()
	defer func() { cancel(); <-done }()

	feed.setDown(true)
	testkit.Eventually(t, "three syncs failed", 10*time.Second, func() bool { return feed.failures() >= 3 })
	if l.Err() != nil {
		t.Fatalf("Err() within the maximum staleness = %v; want nil", l.Err())
	}
	e.clock.Advance(time.Minute + time.Second)
	seen := feed.failures()
	testkit.Eventually(t, "ten more syncs failed", 10*time.Second, func() bool { return feed.failures() >= seen+10 })
	if l.Err() == nil {
		t.Fatal("Err() past the maximum staleness = nil; want an error")
	}
	feed.setDown(false)
	testkit.Eventually(t, "a sync succeeded", 10*time.Second, func() bool { return l.Err() == nil })
	testkit.Eventually(t, "the recovery is logged", 10*time.Second, func() bool { return logs.count(slog.LevelInfo, "recovered") > 0 })

	for _, c := range []struct {
		level  slog.Level
		substr string
	}{
		{slog.LevelWarn, "revocation sync failed; retrying"},
		{slog.LevelError, "revoked set is stale"},
		{slog.LevelInfo, "revocation sync recovered"},
	} {
		if n := logs.count(c.level, c.substr); n != 1 {
			t.Errorf("%d %s lines with %q; want 1. Log:\n%s", n, c.level, c.substr, logs)
		}
	}
}

// hangingFeed is a SessionStore whose feed reads never answer: they return
// only when their context ends.
type hangingFeed struct {
	domain.SessionStore
}

func (hangingFeed) RevocationsSince(ctx context.Context, _ int64, _ time.Time, _ int) ([]domain.Revocation, error) {
	<-ctx.Done()
	return nil, fmt.Errorf("query feed: %w", ctx.Err())
}

// TestRevocationListRunNoticesAHangingStore: a store that hangs instead of
// failing is given up on after the maximum staleness, so the stale error is
// logged rather than never (real clock, 50 ms staleness).
func TestRevocationListRunNoticesAHangingStore(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	logs := &logRecords{}
	l := NewRevocationList(hangingFeed{e.store}, time.Now, slog.New(logs), 50*time.Millisecond)
	ctx, cancel := context.WithCancel(e.ctx)
	done := make(chan struct{})
	go func() { defer close(done); l.Run(ctx, 10*time.Millisecond) }()
	defer func() { cancel(); <-done }()
	testkit.Eventually(t, "the stale error is logged", 10*time.Second, func() bool { return logs.count(slog.LevelError, "revoked set is stale") == 1 })
	if l.Err() == nil {
		t.Error("Err() with a hanging store = nil; want an error")
	}
}

// TestFreshnessBeforeFirstRefresh: a set that was never refreshed is not
// fresh, and its first failure is already the stale error.
func TestFreshnessBeforeFirstRefresh(t *testing.T) {
	t.Parallel()
	clk := newClock()
	logs := &logRecords{}
	f := domain.NewFreshness("feed poll", time.Minute, clk.Now, slog.New(logs))
	if err := f.Err(); !errors.Is(err, domain.ErrUnavailable) || !f.Stale() || !f.Last().IsZero() {
		t.Fatalf("new Freshness: Err() = %v, Stale() = %v, Last() = %v; want unavailable, true, zero", err, f.Stale(), f.Last())
	}
	f.Failed(t.Context(), errOutage)
	f.Failed(t.Context(), errOutage)
	if logs.count(slog.LevelError, "stale") != 1 || logs.count(slog.LevelWarn, "") != 0 {
		t.Errorf("log after two failures before any success:\n%s\nwant one stale error and no warning", logs)
	}
	f.Refreshed(t.Context(), clk.Now())
	if err := f.Err(); err != nil || f.Stale() {
		t.Fatalf("after Refreshed: Err() = %v, Stale() = %v; want nil, false", err, f.Stale())
	}
	// A refresh that started earlier and ended later does not move Last back.
	f.Refreshed(t.Context(), clk.Now().Add(-time.Second))
	if !f.Last().Equal(clk.Now()) {
		t.Errorf("Last() after an older refresh = %v; want %v", f.Last(), clk.Now())
	}
	if domain.NewFreshness("x", 0, nil, nil).MaxAge() != domain.DefaultMaxStaleness {
		t.Errorf("MaxAge() with no maximum = %v; want %v", domain.NewFreshness("x", 0, nil, nil).MaxAge(), domain.DefaultMaxStaleness)
	}
}
