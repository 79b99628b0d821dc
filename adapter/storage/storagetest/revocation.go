package storagetest

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/gatehouse-auth/gatehouse/domain"
	"github.com/gatehouse-auth/gatehouse/internal/testkit"
)

// revocationFixture holds two users: u0001 with sessions s0001-s0003 and
// u0002 with s0004.
func revocationFixture(t *testing.T, newStores factory) Stores {
	s := newStores(t)
	mustCreateUser(t, s, "u0001", "alice")
	mustCreateUser(t, s, "u0002", "bob")
	for _, id := range []string{"s0001", "s0002", "s0003"} {
		mustCreateSession(t, s, "u0001", id)
	}
	mustCreateSession(t, s, "u0002", "s0004")
	return s
}

func mustRevoke(t *testing.T, s Stores, r domain.SessionRevocation, want ...string) {
	t.Helper()
	got, err := s.RevokeSessions(ctx(t), r)
	testkit.WantErr(t, fmt.Sprintf("RevokeSessions(%+v)", r), err, nil)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("RevokeSessions(%+v) = %q; want %q", r, got, want)
	}
}

func mustFeed(t *testing.T, s Stores, after int64, now time.Time, limit int) []domain.Revocation {
	t.Helper()
	feed, err := s.RevocationsSince(ctx(t), after, now, limit)
	testkit.WantErr(t, fmt.Sprintf("RevocationsSince(%d, %d)", after, limit), err, nil)
	for i, r := range feed {
		if r.Seq <= after || (i > 0 && r.Seq <= feed[i-1].Seq) {
			t.Fatalf("RevocationsSince(%d) seqs not increasing past the cursor: %+v", after, feed)
		}
	}
	return feed
}

// storeAssignedSeq leaves Revocation.Seq out of a comparison: the store
// assigns it, and mustFeed checks that it increases past the cursor.
func storeAssignedSeq() cmp.Option { return cmpopts.IgnoreFields(domain.Revocation{}, "Seq") }

func feedSessions(feed []domain.Revocation) []string {
	var ids []string
	for _, r := range feed {
		ids = append(ids, r.SessionID)
	}
	return ids
}

func testRevocation(t *testing.T, newStores factory) {
	t.Run("revoke by session, by user, by user except one", func(t *testing.T) {
		t.Parallel()
		s := revocationFixture(t, newStores)
		exp := at(24 * time.Hour)
		mustRevoke(t, s, domain.SessionRevocation{SessionID: "s0001", At: elsewhere(at(time.Hour)), FeedExpires: exp}, "s0001")
		got, err := s.SessionByID(ctx(t), "s0001")
		testkit.WantErr(t, "SessionByID", err, nil)
		if !got.Revoked() || !got.RevokedAt.Equal(at(time.Hour)) {
			t.Fatalf("revoked session RevokedAt = %v; want %v", got.RevokedAt, at(time.Hour))
		}
		mustRevoke(t, s, domain.SessionRevocation{SessionID: "s0001", At: at(2 * time.Hour), FeedExpires: exp})
		got, err = s.SessionByID(ctx(t), "s0001")
		testkit.WantErr(t, "SessionByID", err, nil)
		if !got.RevokedAt.Equal(at(time.Hour)) {
			t.Fatalf("second revocation moved RevokedAt to %v; want %v", got.RevokedAt, at(time.Hour))
		}
		mustRevoke(t, s, domain.SessionRevocation{UserID: "u0001", ExceptID: "s0002", At: at(2 * time.Hour), FeedExpires: exp}, "s0003")
		mustRevoke(t, s, domain.SessionRevocation{UserID: "u0001", At: at(3 * time.Hour), FeedExpires: exp}, "s0002")
		other, err := s.SessionByID(ctx(t), "s0004")
		testkit.WantErr(t, "SessionByID(other user)", err, nil)
		if other.Revoked() {
			t.Fatalf("another user's session was revoked")
		}

		feed := mustFeed(t, s, 0, at(time.Hour), 100)
		want := []domain.Revocation{
			{SessionID: "s0001", UserID: "u0001", At: at(time.Hour), Expires: exp},
			{SessionID: "s0003", UserID: "u0001", At: at(2 * time.Hour), Expires: exp},
			{SessionID: "s0002", UserID: "u0001", At: at(3 * time.Hour), Expires: exp},
		}
		covers(t, &want[0], "Seq")
		if d := mismatch(feed, want, storeAssignedSeq()); d != "" {
			t.Errorf("RevocationsSince (-want +got):\n%s", d)
		}
	})

	t.Run("empty or mismatched selector revokes nothing", func(t *testing.T) {
		t.Parallel()
		s := revocationFixture(t, newStores)
		mustRevoke(t, s, domain.SessionRevocation{At: at(time.Hour), FeedExpires: at(2 * time.Hour)})
		mustRevoke(t, s, domain.SessionRevocation{SessionID: "s0004", UserID: "u0001", At: at(time.Hour), FeedExpires: at(2 * time.Hour)})
		mustRevoke(t, s, domain.SessionRevocation{SessionID: "s0404", At: at(time.Hour), FeedExpires: at(2 * time.Hour)})
		if feed := mustFeed(t, s, 0, at(0), 100); len(feed) != 0 {
			t.Fatalf("feed = %+v; want empty", feed)
		}
	})

	t.Run("concurrent revocations of one session: one entry", func(t *testing.T) {
		t.Parallel()
		s := revocationFixture(t, newStores)
		const n = 10
		got := make([][]string, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				ids, err := s.RevokeSessions(ctx(t), domain.SessionRevocation{SessionID: "s0001", At: at(time.Hour), FeedExpires: at(2 * time.Hour)})
				if err != nil {
					t.Errorf("RevokeSessions #%d = %v", i, err)
				}
				got[i] = ids
			})
		}
		wg.Wait()
		if total := len(slices.Concat(got...)); total != 1 {
			t.Fatalf("concurrent RevokeSessions returned %d ids in total; want 1", total)
		}
		if feed := mustFeed(t, s, 0, at(0), 100); len(feed) != 1 {
			t.Fatalf("feed = %+v; want one entry", feed)
		}
	})

	t.Run("feed honours cursor, expiry and limit", func(t *testing.T) {
		t.Parallel()
		s := revocationFixture(t, newStores)
		now := at(10 * time.Hour)
		mustRevoke(t, s, domain.SessionRevocation{SessionID: "s0001", At: at(time.Hour), FeedExpires: now.Add(-time.Second)}, "s0001")
		mustRevoke(t, s, domain.SessionRevocation{SessionID: "s0002", At: at(time.Hour), FeedExpires: now}, "s0002")
		mustRevoke(t, s, domain.SessionRevocation{SessionID: "s0003", At: at(time.Hour), FeedExpires: now.Add(time.Microsecond)}, "s0003")
		mustRevoke(t, s, domain.SessionRevocation{SessionID: "s0004", At: at(time.Hour), FeedExpires: now.Add(time.Hour)}, "s0004")

		all := mustFeed(t, s, 0, at(0), 100)
		if got := fmt.Sprint(feedSessions(all)); got != "[s0001 s0002 s0003 s0004]" {
			t.Fatalf("feed before expiry = %s; want [s0001 s0002 s0003 s0004]", got)
		}
		live := mustFeed(t, s, 0, elsewhere(now), 100)
		if got := fmt.Sprint(feedSessions(live)); got != "[s0003 s0004]" {
			t.Fatalf("feed at now = %s; want [s0003 s0004] (Expires <= now skipped)", got)
		}
		page := mustFeed(t, s, 0, at(0), 2)
		if got := fmt.Sprint(feedSessions(page)); got != "[s0001 s0002]" {
			t.Fatalf("feed limit 2 = %s; want [s0001 s0002]", got)
		}
		rest := mustFeed(t, s, page[1].Seq, at(0), 2)
		if got := fmt.Sprint(feedSessions(rest)); got != "[s0003 s0004]" {
			t.Fatalf("feed after cursor = %s; want [s0003 s0004]", got)
		}
		if none := mustFeed(t, s, all[3].Seq, at(0), 10); len(none) != 0 {
			t.Fatalf("feed after last seq = %+v; want empty", none)
		}
	})

	t.Run("prune deletes expired entries and seqs keep growing", func(t *testing.T) {
		t.Parallel()
		s := revocationFixture(t, newStores)
		now := at(10 * time.Hour)
		mustRevoke(t, s, domain.SessionRevocation{SessionID: "s0001", At: at(time.Hour), FeedExpires: now.Add(-time.Hour)}, "s0001")
		mustRevoke(t, s, domain.SessionRevocation{SessionID: "s0002", At: at(time.Hour), FeedExpires: now.Add(time.Hour)}, "s0002")
		testkit.WantErr(t, "PruneRevocations", s.PruneRevocations(ctx(t), elsewhere(now)), nil)
		feed := mustFeed(t, s, 0, at(0), 100)
		if got := fmt.Sprint(feedSessions(feed)); got != "[s0002]" {
			t.Fatalf("feed after prune = %s; want [s0002]", got)
		}
		last := feed[0].Seq

		testkit.WantErr(t, "PruneRevocations(all)", s.PruneRevocations(ctx(t), now.Add(48*time.Hour)), nil)
		if feed := mustFeed(t, s, 0, at(0), 100); len(feed) != 0 {
			t.Fatalf("feed after pruning all = %+v; want empty", feed)
		}
		mustRevoke(t, s, domain.SessionRevocation{SessionID: "s0003", At: at(time.Hour), FeedExpires: now.Add(time.Hour)}, "s0003")
		feed = mustFeed(t, s, last, at(0), 100)
		if len(feed) != 1 || feed[0].SessionID != "s0003" {
			t.Fatalf("feed after cursor %d = %+v; want the new entry (seqs must not be reused)", last, feed)
		}
	})
}
