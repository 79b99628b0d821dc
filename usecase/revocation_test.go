package usecase

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/domain"
	"github.com/gatehouse-auth/gatehouse/internal/testkit"
)

func TestRevocationListSync(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.addUser("alice", "alice's password")
	p1 := e.signIn("alice", "alice's password")
	p2 := e.signIn("alice", "alice's password")

	// A second replica shares the store but not the in-memory list.
	replica := NewRevocationList(e.store, e.clock.Now, slog.New(slog.DiscardHandler), DefaultMaxStaleness)
	replicaVerify := NewVerify(e.tokens, replica, nil, nil)
	testkit.WantErr(t, "replica Sync", replica.Sync(e.ctx), nil)
	if !replica.LastSync().Equal(e.clock.Now()) {
		t.Errorf("LastSync = %v; want %v", replica.LastSync(), e.clock.Now())
	}

	testkit.WantErr(t, "Logout", e.revoke.Logout(e.ctx, e.claims(p1.AccessToken), LogoutLocal), nil)
	if !e.revoked.Revoked(p1.SessionID) {
		t.Fatalf("revoking replica: Revoked(%s) = false; want true at once", p1.SessionID)
	}
	if replica.Revoked(p1.SessionID) {
		t.Fatalf("other replica knew of the revocation before Sync")
	}
	e.clock.Advance(2 * time.Second)
	testkit.WantErr(t, "replica Sync", replica.Sync(e.ctx), nil)
	if !replica.Revoked(p1.SessionID) || replica.Revoked(p2.SessionID) || replica.Size() != 1 {
		t.Fatalf("after Sync: Revoked(p1) = %v, Revoked(p2) = %v, Size = %d; want true, false, 1",
			replica.Revoked(p1.SessionID), replica.Revoked(p2.SessionID), replica.Size())
	}
	testkit.WantErr(t, "replica Verify(revoked)", errOf(replicaVerify.Verify(e.ctx, p1.AccessToken)), domain.ErrTokenRevoked)
	testkit.WantErr(t, "replica Verify(live)", errOf(replicaVerify.Verify(e.ctx, p2.AccessToken)), nil)

	// Later revocations arrive on the next Sync; old ones stay.
	e.clock.Advance(time.Minute)
	testkit.WantErr(t, "Logout", e.revoke.Logout(e.ctx, e.claims(p2.AccessToken), LogoutLocal), nil)
	testkit.WantErr(t, "replica Sync", replica.Sync(e.ctx), nil)
	if !replica.Revoked(p1.SessionID) || !replica.Revoked(p2.SessionID) || replica.Size() != 2 {
		t.Fatalf("after second Sync: Revoked(p1) = %v, Revoked(p2) = %v, Size = %d; want true, true, 2",
			replica.Revoked(p1.SessionID), replica.Revoked(p2.SessionID), replica.Size())
	}

	// An entry lasts as long as an access token of the session could: after
	// AccessTTL+Leeway from the revocation it is dropped.
	e.clock.Advance(e.policy.AccessTTL + e.policy.Leeway - time.Minute - 2*time.Second)
	testkit.WantErr(t, "replica Sync", replica.Sync(e.ctx), nil)
	if replica.Revoked(p1.SessionID) || !replica.Revoked(p2.SessionID) || replica.Size() != 1 {
		t.Errorf("Sync at p1's expiry: Revoked(p1) = %v, Revoked(p2) = %v, Size = %d; want false, true, 1",
			replica.Revoked(p1.SessionID), replica.Revoked(p2.SessionID), replica.Size())
	}
	if e.revoked.Revoked(p1.SessionID) {
		t.Errorf("revoking replica: Revoked(p1) after expiry = true; want false")
	}
	e.clock.Advance(time.Minute + 2*time.Second) // p2's entry expires now
	testkit.WantErr(t, "replica Sync", replica.Sync(e.ctx), nil)
	testkit.WantErr(t, "Sync", e.revoked.Sync(e.ctx), nil)
	if replica.Size() != 0 || e.revoked.Size() != 0 {
		t.Errorf("Size after every entry expired = %d (replica), %d (revoking); want 0, 0", replica.Size(), e.revoked.Size())
	}
}

func TestRevocationListSyncPages(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.addUser("alice", "alice's password")
	const n = feedPage + domain.RevocationOverlap + 10
	now := e.clock.Now()
	for i := range n {
		sess := &domain.Session{ID: fmt.Sprintf("s%05d", i), UserID: u.ID, UserStamp: u.Stamp, CreatedAt: now, ExpiresAt: now.Add(time.Hour), RotatedAt: now}
		first := domain.RefreshToken{Hash: hashToken(sess.ID), SessionID: sess.ID, CreatedAt: now}
		testkit.WantErr(t, "CreateSession", e.store.CreateSession(e.ctx, sess, first), nil)
	}
	testkit.WantErr(t, "UserSessions", e.revoke.UserSessions(e.ctx, u.ID, ""), nil)
	replica := NewRevocationList(e.store, e.clock.Now, slog.New(slog.DiscardHandler), DefaultMaxStaleness)
	testkit.WantErr(t, "Sync", replica.Sync(e.ctx), nil)
	if replica.Size() != n {
		t.Fatalf("Sync over %d feed entries: Size = %d; want %d", n, replica.Size(), n)
	}
	for _, id := range []string{"s00000", fmt.Sprintf("s%05d", feedPage), fmt.Sprintf("s%05d", n-1)} {
		if !replica.Revoked(id) {
			t.Errorf("Revoked(%s) after paged Sync = false; want true", id)
		}
	}
}

func TestRevocationListAdd(t *testing.T) {
	t.Parallel()
	clk := newClock()
	l := NewRevocationList(nil, clk.Now, slog.New(slog.DiscardHandler), DefaultMaxStaleness)
	l.Add(nil, clk.Now().Add(time.Hour))
	l.Add([]string{"a"}, clk.Now().Add(time.Hour))
	l.Add([]string{"a"}, clk.Now().Add(time.Minute)) // never shortens
	if !l.Revoked("a") || l.Revoked("b") || l.Size() != 1 {
		t.Fatalf("Revoked(a), Revoked(b), Size = %v, %v, %d; want true, false, 1", l.Revoked("a"), l.Revoked("b"), l.Size())
	}
	clk.Advance(time.Hour - time.Nanosecond)
	if !l.Revoked("a") {
		t.Errorf("Revoked(a) just before expiry = false; want true")
	}
	clk.Advance(time.Nanosecond)
	if l.Revoked("a") {
		t.Errorf("Revoked(a) at expiry = true; want false")
	}
}

func TestRevocationListSyncOutage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	l := NewRevocationList(outageFeed{e.store}, e.clock.Now, slog.New(slog.DiscardHandler), DefaultMaxStaleness)
	if err := l.Sync(e.ctx); !errors.Is(err, errOutage) {
		t.Errorf("Sync during an outage = %v; want the wrapped outage", err)
	}
	if !l.LastSync().IsZero() {
		t.Errorf("LastSync after a failed Sync = %v; want zero", l.LastSync())
	}
}

func TestRevocationListRun(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.addUser("alice", "alice's password")
	p := e.signIn("alice", "alice's password")
	testkit.WantErr(t, "Logout", e.revoke.Logout(e.ctx, e.claims(p.AccessToken), LogoutLocal), nil)

	feed := &signallingFeed{SessionStore: e.store, pruned: make(chan struct{}, 1)}
	replica := NewRevocationList(feed, e.clock.Now, slog.New(slog.DiscardHandler), DefaultMaxStaleness)
	ctx, cancel := context.WithCancel(e.ctx)
	done := make(chan struct{})
	go func() {
		replica.Run(ctx, time.Millisecond)
		close(done)
	}()
	<-feed.pruned // Run prunes the store; its sync job runs beside it
	testkit.Eventually(t, "Run synced the revocation", 10*time.Second, func() bool { return replica.Revoked(p.SessionID) })
	cancel()
	<-done
}

func TestRevocationListFeed(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.addUser("alice", "alice's password")
	var sids []string
	for range 3 {
		p := e.signIn("alice", "alice's password")
		sids = append(sids, p.SessionID)
		testkit.WantErr(t, "Logout", e.revoke.Logout(e.ctx, e.claims(p.AccessToken), LogoutLocal), nil)
		e.clock.Advance(time.Minute)
	}
	all, err := e.revoked.Feed(e.ctx, 0, 0)
	testkit.WantErr(t, "Feed(0, 0)", err, nil)
	if len(all) != 3 {
		t.Fatalf("Feed(0, 0) = %d entries; want 3", len(all))
	}
	for i, r := range all {
		if r.SessionID != sids[i] || (i > 0 && r.Seq <= all[i-1].Seq) || !r.Expires.After(r.At) {
			t.Errorf("Feed entry %d = %+v; want session %s in Seq order with Expires after At", i, r, sids[i])
		}
	}
	page, err := e.revoked.Feed(e.ctx, all[0].Seq, 1)
	testkit.WantErr(t, "Feed(after first, 1)", err, nil)
	if len(page) != 1 || page[0].SessionID != sids[1] {
		t.Errorf("Feed(after first, 1) = %+v; want only session %s", page, sids[1])
	}
	// Entries whose access tokens can no longer be valid drop out.
	e.clock.Advance(e.policy.AccessTTL + e.policy.Leeway - 2*time.Minute)
	live, err := e.revoked.Feed(e.ctx, 0, feedPage)
	testkit.WantErr(t, "Feed after expiry", err, nil)
	if len(live) != 1 || live[0].SessionID != sids[2] {
		t.Errorf("Feed after two entries expired = %+v; want only session %s", live, sids[2])
	}
	for _, limit := range []int{-1, feedPage + 1, math.MaxInt} {
		var ve *domain.ValidationError
		if _, err := e.revoked.Feed(e.ctx, 0, limit); !errors.As(err, &ve) || ve.Code != "invalid_request" {
			t.Errorf("Feed(limit %d) = %v; want invalid_request", limit, err)
		}
	}
	if _, err := NewRevocationList(outageFeed{e.store}, e.clock.Now, nil, DefaultMaxStaleness).Feed(e.ctx, 0, 10); !errors.Is(err, errOutage) {
		t.Errorf("Feed during an outage = %v; want the wrapped outage", err)
	}
}
