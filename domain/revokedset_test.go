package domain_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/domain"
)

// feed is a FeedReader over fixed entries with sequence numbers 1..n,
// recording the cursors it was asked for.
type feed struct {
	entries []domain.Revocation
	asked   []int64
	fail    error
}

func (f *feed) read(_ context.Context, after int64) ([]domain.Revocation, int64, error) {
	f.asked = append(f.asked, after)
	if f.fail != nil {
		return nil, after, f.fail
	}
	var page []domain.Revocation
	next := after
	for _, e := range f.entries {
		if e.Seq > after && len(page) < domain.RevocationPage {
			page = append(page, e)
			next = e.Seq
		}
	}
	return page, next, nil
}

func TestRevokedSetRefresh(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	now := t0
	clock := func() time.Time { return now }
	ctx := context.Background()
	n := domain.RevocationPage + 10
	f := &feed{}
	for i := 1; i <= n; i++ {
		f.entries = append(f.entries, domain.Revocation{Seq: int64(i), SessionID: fmt.Sprintf("s%d", i), Expires: t0.Add(time.Duration(i) * time.Second)})
	}
	s := domain.NewRevokedSet("test sync", time.Minute, clock, nil)
	if s.Err() == nil || s.Revoked("s1") {
		t.Fatalf("new set: Err() = nil or s1 revoked; want stale and empty")
	}
	if err := s.Refresh(ctx, f.read, 0); err != nil {
		t.Fatalf("Refresh() error = %v", err)
	}
	if got := fmt.Sprint(f.asked); got != fmt.Sprintf("[0 %d]", domain.RevocationPage) {
		t.Errorf("first Refresh asked for %s; want two pages", got)
	}
	if s.Len() != n || !s.Revoked("s1") || !s.Revoked(fmt.Sprintf("s%d", n)) || s.Err() != nil {
		t.Errorf("after Refresh: Len() = %d, Err() = %v; want %d entries, fresh", s.Len(), s.Err(), n)
	}

	// The next Refresh re-reads the overlap window behind the cursor, and
	// drops the entries that have expired.
	f.asked = nil
	now = t0.Add(5 * time.Second)
	if err := s.Refresh(ctx, f.read, 0); err != nil {
		t.Fatalf("Refresh() error = %v", err)
	}
	if got, want := f.asked[0], int64(n-domain.RevocationOverlap); got != want {
		t.Errorf("second Refresh started at %d; want %d (cursor minus the overlap)", got, want)
	}
	if s.Revoked("s5") || !s.Revoked("s6") || s.Len() != n-5 {
		t.Errorf("after expiry: s5 revoked %v, s6 revoked %v, Len() %d; want false, true, %d", s.Revoked("s5"), s.Revoked("s6"), s.Len(), n-5)
	}

	// Add keeps the later expiry; an empty id is ignored.
	s.Add([]string{"s6", ""}, t0.Add(time.Hour))
	s.Add([]string{"s6"}, t0)
	now = t0.Add(30 * time.Minute)
	if !s.Revoked("s6") || s.Revoked("") {
		t.Errorf("Add: s6 revoked %v, empty id revoked %v; want true, false", s.Revoked("s6"), s.Revoked(""))
	}

	// A failing read keeps the set; the set goes stale after maxStale.
	f.fail = errors.New("down")
	if err := s.Refresh(ctx, f.read, 0); !errors.Is(err, f.fail) || !s.Revoked("s6") {
		t.Errorf("failing Refresh() error = %v, s6 revoked %v; want the read error and the set kept", err, s.Revoked("s6"))
	}
	if !s.Stale() || !errors.Is(s.Err(), domain.ErrUnavailable) {
		t.Errorf("30 min after the last good Refresh: Stale() = %v, Err() = %v; want stale", s.Stale(), s.Err())
	}
}

func TestRevokedSetRefreshStopsOnBadFeeds(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	full := make([]domain.Revocation, domain.RevocationPage)
	tests := []struct {
		name      string
		next      func(after int64) int64
		maxPages  int
		wantReads int
	}{
		{"cursor does not advance", func(after int64) int64 { return after }, 0, 1},
		{"page limit", func(after int64) int64 { return after + 1 }, 3, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			reads := 0
			read := func(_ context.Context, after int64) ([]domain.Revocation, int64, error) {
				reads++
				return full, tt.next(after), nil
			}
			if err := domain.NewRevokedSet("x", 0, nil, nil).Refresh(ctx, read, tt.maxPages); err != nil {
				t.Fatalf("Refresh() error = %v", err)
			}
			if reads != tt.wantReads {
				t.Errorf("Refresh() read %d pages; want %d", reads, tt.wantReads)
			}
		})
	}
}
