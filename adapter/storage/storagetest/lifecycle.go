package storagetest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/domain"
	"github.com/gatehouse-auth/gatehouse/internal/testkit"
)

// change applies ch and fails t unless the store answers want.
func change(t *testing.T, s Stores, ch domain.UserChange, want error) (*domain.User, []string) {
	t.Helper()
	u, revoked, err := s.ChangeUser(ctx(t), ch)
	testkit.WantErr(t, fmt.Sprintf("ChangeUser(%+v)", ch), err, want)
	slices.Sort(revoked)
	return u, revoked
}

// newSession is a session of userID at stamp, as the login use case makes
// it, with its first token hash(id+"/0").
func newSession(userID, id string, stamp int64) (*domain.Session, domain.RefreshToken) {
	sess := &domain.Session{ID: id, UserID: userID, UserStamp: stamp, CreatedAt: at(time.Minute), ExpiresAt: at(time.Hour), RotatedAt: at(time.Minute)}
	return sess, domain.RefreshToken{Hash: hash(id + "/0"), SessionID: id, CreatedAt: at(time.Minute)}
}

// insertsRacing creates 40 sessions of user u0001 at stamp 1 from as many
// goroutines, runs op beside them once half are started, and reports which
// inserts succeeded. An insert may fail only with one of allowed.
func insertsRacing(t *testing.T, s Stores, op func(), allowed ...error) []bool {
	t.Helper()
	const n = 40
	var wg sync.WaitGroup
	created := make([]bool, n)
	for i := range n {
		wg.Go(func() {
			sess, tok := newSession("u0001", fmt.Sprintf("s%04d", i), 1)
			err := s.CreateSession(ctx(t), sess, tok)
			if err != nil && !slices.ContainsFunc(allowed, func(a error) bool { return errors.Is(err, a) }) {
				t.Errorf("CreateSession #%d = %v; want nil or one of %v", i, err, allowed)
			}
			created[i] = err == nil
		})
		if i == n/2 {
			wg.Go(op)
		}
	}
	wg.Wait()
	return created
}

func testUserChanges(t *testing.T, newStores factory) {
	t.Run("a change writes only its own fields", func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		want := mustCreateUser(t, s, "u0001", "alice")
		want.Roles = []string{"ops"}

		got, _ := change(t, s, domain.UserChange{UserID: "u0001", Roles: &want.Roles, At: elsewhere(at(time.Hour))}, nil)
		want.UpdatedAt = at(time.Hour)
		if d := mismatch(got, want); d != "" {
			t.Errorf("ChangeUser(roles) returned (-want +got):\n%s", d)
		}
		yes := true
		change(t, s, domain.UserChange{UserID: "u0001", Disabled: &yes, At: at(2 * time.Hour)}, nil)
		change(t, s, domain.UserChange{UserID: "u0001", PasswordHash: "$2a$10$new", At: at(3 * time.Hour)}, nil)
		want.Disabled, want.PasswordHash, want.UpdatedAt = true, "$2a$10$new", at(3*time.Hour)
		got, err := s.UserByID(ctx(t), "u0001")
		testkit.WantErr(t, "UserByID", err, nil)
		if d := mismatch(got, want); d != "" {
			t.Errorf("after three one-field changes (-want +got):\n%s", d)
		}

		// Clearing is a change too; nil roles leave them.
		none := []string{}
		no := false
		change(t, s, domain.UserChange{UserID: "u0001", Roles: &none, Disabled: &no, At: at(4 * time.Hour)}, nil)
		change(t, s, domain.UserChange{UserID: "u0001", At: at(5 * time.Hour)}, nil)
		want.Roles, want.Disabled, want.UpdatedAt = nil, false, at(5*time.Hour)
		got, err = s.UserByID(ctx(t), "u0001")
		testkit.WantErr(t, "UserByID", err, nil)
		if d := mismatch(got, want); d != "" {
			t.Errorf("after clearing (-want +got):\n%s", d)
		}
		change(t, s, domain.UserChange{UserID: "u0404", At: at(time.Hour)}, domain.ErrNotFound)
	})

	t.Run("a conditional change needs the stamp it read", func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		want := mustCreateUser(t, s, "u0001", "alice")
		change(t, s, domain.UserChange{UserID: "u0001", PasswordHash: "stale", IfStamp: 2, At: at(time.Hour)}, domain.ErrConflict)
		change(t, s, domain.UserChange{UserID: "u0404", IfStamp: 1, At: at(time.Hour)}, domain.ErrNotFound)
		got, _ := change(t, s, domain.UserChange{UserID: "u0001", PasswordHash: "fresh", IfStamp: 1, At: at(time.Hour)}, nil)
		want.PasswordHash, want.UpdatedAt = "fresh", at(time.Hour)
		if d := mismatch(got, want); d != "" {
			t.Errorf("conditional change without EndSessions (stamp stays) (-want +got):\n%s", d)
		}
		got, _ = change(t, s, domain.UserChange{UserID: "u0001", PasswordHash: "newer", IfStamp: 1, EndSessions: true, At: at(2 * time.Hour)}, nil)
		if got.Stamp != 2 {
			t.Errorf("stamp after a credential change = %d; want 2", got.Stamp)
		}
		change(t, s, domain.UserChange{UserID: "u0001", PasswordHash: "lost", IfStamp: 1, At: at(3 * time.Hour)}, domain.ErrConflict)
		if u, _ := s.UserByID(ctx(t), "u0001"); u.PasswordHash != "newer" {
			t.Errorf("a refused change wrote the password: %q", u.PasswordHash)
		}
	})

	t.Run("a credential change ends the sessions but one", func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		mustCreateUser(t, s, "u0001", "alice")
		mustCreateUser(t, s, "u0002", "bob")
		keep := mustCreateSession(t, s, "u0001", "s0001")
		mustCreateSession(t, s, "u0001", "s0002")
		mustCreateSession(t, s, "u0001", "s0003")
		mustCreateSession(t, s, "u0002", "s0004")
		mustRevoke(t, s, domain.SessionRevocation{SessionID: "s0003", At: at(time.Minute), FeedExpires: at(time.Hour)}, "s0003")

		u, revoked := change(t, s, domain.UserChange{UserID: "u0001", PasswordHash: "new", EndSessions: true, KeepSession: "s0001",
			At: elsewhere(at(2 * time.Minute)), FeedExpires: at(time.Hour)}, nil)
		if u.Stamp != 2 || fmt.Sprint(revoked) != "[s0002]" {
			t.Fatalf("ChangeUser = stamp %d, revoked %v; want stamp 2, [s0002]", u.Stamp, revoked)
		}
		feed := mustFeed(t, s, 0, at(0), 0)
		if len(feed) != 2 || feed[1].SessionID != "s0002" || !feed[1].At.Equal(at(2*time.Minute)) {
			t.Errorf("feed = %+v; want s0003's entry, then s0002 at +2m", feed)
		}
		keep.UserStamp = 2
		got, err := s.SessionByID(ctx(t), "s0001")
		testkit.WantErr(t, "SessionByID(kept)", err, nil)
		if d := mismatch(got, keep); d != "" {
			t.Errorf("kept session (-want +got):\n%s", d)
		}
		// The kept session rotates under the new stamp; a new one needs it.
		rot := domain.Rotation{SessionID: "s0001", NewHash: hash("s0001/1"), At: at(3 * time.Minute)}
		testkit.WantErr(t, "RotateRefreshToken(kept)", s.RotateRefreshToken(ctx(t), rot), nil)
		old, tok := newSession("u0001", "s0005", 1)
		testkit.WantErr(t, "CreateSession(old stamp)", s.CreateSession(ctx(t), old, tok), domain.ErrConflict)
		cur, tok := newSession("u0001", "s0006", 2)
		testkit.WantErr(t, "CreateSession(new stamp)", s.CreateSession(ctx(t), cur, tok), nil)
		if g := mustGrant(t, s, "s0004/0"); g.Session.Revoked() || g.User.Stamp != 1 {
			t.Errorf("another user's session or stamp changed: %+v", g)
		}
	})

	t.Run("sessions need an enabled user at the same stamp", func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		mustCreateUser(t, s, "u0001", "alice")
		mustCreateSession(t, s, "u0001", "s0001")
		gone, tok := newSession("u0404", "s0002", 1)
		testkit.WantErr(t, "CreateSession(no user)", s.CreateSession(ctx(t), gone, tok), domain.ErrNotFound)

		yes, no := true, false
		change(t, s, domain.UserChange{UserID: "u0001", Disabled: &yes, At: at(time.Minute)}, nil)
		sess, tok := newSession("u0001", "s0003", 1)
		testkit.WantErr(t, "CreateSession(disabled)", s.CreateSession(ctx(t), sess, tok), domain.ErrConflict)
		rot := domain.Rotation{SessionID: "s0001", NewHash: hash("s0001/1"), At: at(2 * time.Minute)}
		testkit.WantErr(t, "RotateRefreshToken(disabled user)", s.RotateRefreshToken(ctx(t), rot), domain.ErrConflict)

		change(t, s, domain.UserChange{UserID: "u0001", Disabled: &no, At: at(3 * time.Minute)}, nil)
		testkit.WantErr(t, "RotateRefreshToken(enabled again)", s.RotateRefreshToken(ctx(t), rot), nil)
		testkit.WantErr(t, "CreateSession(enabled again)", s.CreateSession(ctx(t), sess, tok), nil)
	})

	t.Run("no session outlives a credential change racing it", func(t *testing.T) {
		// Logins in flight insert sessions under the stamp they read while
		// an admin changes the password: whatever the interleaving, every
		// session left live afterwards carries the new stamp.
		t.Parallel()
		s := newStores(t)
		mustCreateUser(t, s, "u0001", "alice")
		var changeErr error
		created := insertsRacing(t, s, func() {
			_, _, changeErr = s.ChangeUser(ctx(t), domain.UserChange{UserID: "u0001", PasswordHash: "new", EndSessions: true, At: at(time.Minute), FeedExpires: at(time.Hour)})
		}, domain.ErrConflict)
		testkit.WantErr(t, "ChangeUser", changeErr, nil)
		fed := map[string]bool{}
		for _, r := range mustFeed(t, s, 0, at(0), 0) {
			fed[r.SessionID] = true
		}
		for i, ok := range created {
			if !ok {
				continue
			}
			id := fmt.Sprintf("s%04d", i)
			g := mustGrant(t, s, id+"/0")
			if !g.Session.Revoked() && g.Session.UserStamp != g.User.Stamp {
				t.Errorf("session %s survived the change live with stamp %d (user at %d)", id, g.Session.UserStamp, g.User.Stamp)
			}
			if g.Session.Revoked() != fed[id] {
				t.Errorf("session %s revoked=%v but in feed=%v", id, g.Session.Revoked(), fed[id])
			}
		}
	})

	t.Run("no session outlives a deletion racing it", func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		mustCreateUser(t, s, "u0001", "alice")
		var deleted []string
		var deleteErr error
		created := insertsRacing(t, s, func() {
			deleted, deleteErr = s.DeleteUser(ctx(t), domain.UserDeletion{ID: "u0001", At: at(time.Minute), FeedExpires: at(time.Hour)})
		}, domain.ErrNotFound, domain.ErrConflict)
		testkit.WantErr(t, "DeleteUser", deleteErr, nil)
		fed := map[string]bool{}
		for _, r := range mustFeed(t, s, 0, at(0), 0) {
			fed[r.SessionID] = true
		}
		for i, ok := range created {
			if id := fmt.Sprintf("s%04d", i); ok && !fed[id] {
				t.Errorf("session %s was created but the deletion fed no revocation for it (deleted %v)", id, deleted)
			}
		}
	})

	t.Run("concurrent changes of different fields are all kept", func(t *testing.T) {
		// A user changing their password over and over cannot undo an
		// admin's disable or role change.
		t.Parallel()
		s := newStores(t)
		mustCreateUser(t, s, "u0001", "alice")
		yes := true
		roles := []string{"ops"}
		var wg sync.WaitGroup
		for i := range 20 {
			wg.Go(func() {
				hash := fmt.Sprintf("hash-%d", i)
				if _, _, err := s.ChangeUser(ctx(t), domain.UserChange{UserID: "u0001", PasswordHash: hash, EndSessions: true, At: at(time.Minute)}); err != nil {
					t.Errorf("ChangeUser(password) = %v", err)
				}
			})
			if i == 10 {
				wg.Go(func() {
					change(t, s, domain.UserChange{UserID: "u0001", Disabled: &yes, EndSessions: true, At: at(time.Minute)}, nil)
				})
				wg.Go(func() {
					change(t, s, domain.UserChange{UserID: "u0001", Roles: &roles, EndSessions: true, At: at(time.Minute)}, nil)
				})
			}
		}
		wg.Wait()
		u, err := s.UserByID(ctx(t), "u0001")
		testkit.WantErr(t, "UserByID", err, nil)
		if !u.Disabled || fmt.Sprint(u.Roles) != "[ops]" || u.Stamp != 23 {
			t.Errorf("after racing changes: disabled=%v roles=%v stamp=%d; want true, [ops], 23 (one step per change)", u.Disabled, u.Roles, u.Stamp)
		}
	})
}
