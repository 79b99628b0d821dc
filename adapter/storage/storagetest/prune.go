package storagetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/domain"
	"github.com/gatehouse-auth/gatehouse/internal/testkit"
)

// mustCreateSessionUntil stores a session of userID that ends at expires,
// rotated gens times, so its refresh tokens are hash(id+"/0") to
// hash(id+"/<gens>"). It returns the session as the store now holds it.
func mustCreateSessionUntil(t *testing.T, s Stores, userID, id string, expires time.Time, gens int) *domain.Session {
	t.Helper()
	sess := &domain.Session{
		ID:         id,
		UserID:     userID,
		UserStamp:  1,
		Scope:      []string{"openid"},
		CreatedAt:  at(0),
		ExpiresAt:  expires,
		RotatedAt:  at(0),
		LastUsedAt: at(0),
	}
	first := domain.RefreshToken{Hash: hash(id + "/0"), SessionID: id, CreatedAt: at(0)}
	testkit.WantErr(t, fmt.Sprintf("CreateSession(%q)", id), s.CreateSession(ctx(t), sess, first), nil)
	for g := range gens {
		r := domain.Rotation{
			SessionID:       id,
			FromGeneration:  int64(g),
			NewHash:         hash(fmt.Sprintf("%s/%d", id, g+1)),
			SealedSuccessor: []byte("sealed"),
			At:              at(time.Duration(g+1) * time.Second),
		}
		testkit.WantErr(t, fmt.Sprintf("RotateRefreshToken(%q, %d)", id, g), s.RotateRefreshToken(ctx(t), r), nil)
		sess.Generation, sess.RotatedAt, sess.SealedSuccessor = r.FromGeneration+1, r.At, r.SealedSuccessor
		sess.LastUsedAt = sess.RotatedAt
	}
	return sess
}

// mustPrune prunes sessions that ended by before and checks the count.
func mustPrune(t *testing.T, s Stores, before time.Time, want int64) {
	t.Helper()
	n, err := s.PruneSessions(ctx(t), before)
	testkit.WantErr(t, fmt.Sprintf("PruneSessions(%v)", before), err, nil)
	if n != want {
		t.Fatalf("PruneSessions(%v) = %d; want %d", before, n, want)
	}
}

// wantSessionGone checks that a session and each of its gens+1 refresh
// tokens are gone from every read.
func wantSessionGone(t *testing.T, s Stores, id string, gens int) {
	t.Helper()
	_, err := s.SessionByID(ctx(t), id)
	testkit.WantErr(t, "SessionByID("+id+") after prune", err, domain.ErrNotFound)
	for g := range gens + 1 {
		name := fmt.Sprintf("%s/%d", id, g)
		_, err := s.RefreshTokenByHash(ctx(t), hash(name))
		testkit.WantErr(t, "RefreshTokenByHash("+name+") after prune", err, domain.ErrNotFound)
		_, err = s.RefreshGrant(ctx(t), hash(name))
		testkit.WantErr(t, "RefreshGrant("+name+") after prune", err, domain.ErrNotFound)
	}
}

// wantSessionKept checks that a session and each of its gens+1 refresh
// tokens are still there, unchanged.
func wantSessionKept(t *testing.T, s Stores, want *domain.Session, gens int) {
	t.Helper()
	got, err := s.SessionByID(ctx(t), want.ID)
	testkit.WantErr(t, "SessionByID("+want.ID+") after prune", err, nil)
	if d := mismatch(got, want); d != "" {
		t.Errorf("session %s changed by prune (-want +got):\n%s", want.ID, d)
	}
	for g := range gens + 1 {
		name := fmt.Sprintf("%s/%d", want.ID, g)
		tok, err := s.RefreshTokenByHash(ctx(t), hash(name))
		testkit.WantErr(t, "RefreshTokenByHash("+name+") after prune", err, nil)
		if tok.SessionID != want.ID || tok.Generation != int64(g) {
			t.Errorf("RefreshTokenByHash(%s) = session %s generation %d; want %s %d", name, tok.SessionID, tok.Generation, want.ID, g)
		}
		if g := mustGrant(t, s, name); g.Session.ID != want.ID {
			t.Errorf("RefreshGrant(%s).Session.ID = %s; want %s", name, g.Session.ID, want.ID)
		}
	}
}

func testPruneSessions(t *testing.T, newStores factory) {
	t.Run("expired sessions go with their tokens, live ones stay", func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		mustCreateUser(t, s, "u0001", "alice")
		mustCreateUser(t, s, "u0002", "bob")
		cut := at(2 * time.Hour)
		mustCreateSessionUntil(t, s, "u0001", "s0001", at(time.Hour), 3) // expired, rotated
		mustCreateSessionUntil(t, s, "u0001", "s0002", cut, 0)           // ends exactly at the cut
		live := mustCreateSessionUntil(t, s, "u0001", "s0003", cut.Add(time.Microsecond), 2)
		other := mustCreateSessionUntil(t, s, "u0002", "s0004", at(30*24*time.Hour), 1)
		revokedLive := mustCreateSessionUntil(t, s, "u0002", "s0005", at(30*24*time.Hour), 0)
		mustCreateSessionUntil(t, s, "u0002", "s0006", at(time.Hour), 1) // expired and revoked
		mustRevoke(t, s, domain.SessionRevocation{SessionID: "s0005", At: at(time.Minute), FeedExpires: at(48 * time.Hour)}, "s0005")
		mustRevoke(t, s, domain.SessionRevocation{SessionID: "s0006", At: at(time.Minute), FeedExpires: at(48 * time.Hour)}, "s0006")
		revokedLive.RevokedAt = at(time.Minute)

		mustPrune(t, s, elsewhere(cut), 3)
		wantSessionGone(t, s, "s0001", 3)
		wantSessionGone(t, s, "s0002", 0)
		wantSessionGone(t, s, "s0006", 1)
		wantSessionKept(t, s, live, 2)
		wantSessionKept(t, s, other, 1)
		wantSessionKept(t, s, revokedLive, 0)

		mustPrune(t, s, cut, 0)
	})

	t.Run("feed and revocation survive a pruned session", func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		mustCreateUser(t, s, "u0001", "alice")
		mustCreateSessionUntil(t, s, "u0001", "s0001", at(time.Hour), 1)
		live := mustCreateSessionUntil(t, s, "u0001", "s0002", at(30*24*time.Hour), 0)
		mustRevoke(t, s, domain.SessionRevocation{SessionID: "s0001", At: at(time.Minute), FeedExpires: at(3 * time.Hour)}, "s0001")

		mustPrune(t, s, at(2*time.Hour), 1)
		feed := mustFeed(t, s, 0, at(2*time.Hour), 100)
		if got := fmt.Sprint(feedSessions(feed)); got != "[s0001]" {
			t.Fatalf("feed after pruning the revoked session = %s; want [s0001] (entries expire on their own)", got)
		}
		mustRevoke(t, s, domain.SessionRevocation{SessionID: "s0001", At: at(2 * time.Hour), FeedExpires: at(3 * time.Hour)})
		mustRevoke(t, s, domain.SessionRevocation{UserID: "u0001", At: at(2 * time.Hour), FeedExpires: at(3 * time.Hour)}, "s0002")
		if feed := mustFeed(t, s, feed[0].Seq, at(2*time.Hour), 100); len(feed) != 1 || feed[0].SessionID != "s0002" {
			t.Fatalf("feed after revoking the user = %+v; want one entry for s0002", feed)
		}
		live.RevokedAt = at(2 * time.Hour)
		wantSessionKept(t, s, live, 0)
		_, err := s.DeleteUser(ctx(t), domain.UserDeletion{ID: "u0001", At: at(3 * time.Hour), FeedExpires: at(4 * time.Hour)})
		testkit.WantErr(t, "DeleteUser after prune", err, nil)
		wantSessionGone(t, s, "s0002", 0)
	})

	t.Run("a backlog larger than one batch goes in one call", func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		mustCreateUser(t, s, "u0001", "alice")
		const expired = 250 // more than a store's batch (gormstore: 100)
		for i := range expired {
			mustCreateSessionUntil(t, s, "u0001", fmt.Sprintf("s%04d", i), at(time.Duration(i%7)*time.Second), 0)
		}
		live := mustCreateSessionUntil(t, s, "u0001", "s9999", at(time.Hour), 0)

		mustPrune(t, s, at(time.Minute), expired)
		for _, i := range []int{0, 99, 100, 101, 199, 200, expired - 1} {
			wantSessionGone(t, s, fmt.Sprintf("s%04d", i), 0)
		}
		wantSessionKept(t, s, live, 0)
		mustPrune(t, s, at(time.Minute), 0)
	})
}
