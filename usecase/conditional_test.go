package usecase

import (
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-auth/gatehouse/domain"
	"github.com/gatehouse-auth/gatehouse/internal/testkit"
)

// The changes below are decided on a user read before a slow step (a hash,
// a decision on the roles) and written conditionally on the stamp read
// with it (domain.UserChange.IfStamp). racingUsers plays the concurrent
// change that lands between the read and the write; each test fails if
// the condition is dropped from the use case.

// racingUsers is a use case's user store that another writer beats to the
// next writes: before each of them race changes the user straight in the
// memory store (so the use case has already read the user it decides on).
type racingUsers struct {
	domain.UserStore
	race func() *domain.User

	mu    sync.Mutex
	left  int          // writes still to beat; negative: every one
	raced int          // writes beaten so far
	after *domain.User // the user as the last concurrent change left it
}

func (s *racingUsers) ChangeUser(ctx context.Context, ch domain.UserChange) (*domain.User, []string, error) {
	s.mu.Lock()
	if s.left != 0 {
		s.left--
		s.raced++
		s.after = s.race()
	}
	s.mu.Unlock()
	return s.UserStore.ChangeUser(ctx, ch)
}

// racedTimes returns how many writes race beat.
func (s *racingUsers) racedTimes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.raced
}

// leftBehind returns the user as the last concurrent change left it (nil before
// the first).
func (s *racingUsers) leftBehind() *domain.User {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.after
}

// raceUsers rebuilds e's use cases on a store where change beats the next
// times writes (negative: every write). change runs on the memory store
// directly: it commits no recorded event.
func (e *env) raceUsers(times int, change domain.UserChange) *racingUsers {
	e.t.Helper()
	r := &racingUsers{UserStore: e.rec, left: times}
	r.race = func() *domain.User {
		change.At = e.clock.Now()
		u, _, err := e.store.ChangeUser(e.ctx, change)
		testkit.WantErr(e.t, "concurrent ChangeUser", err, nil)
		return u
	}
	e.build(r)
	return r
}

// stored reads the user from the memory store or fails the test.
func (e *env) stored(id string) *domain.User {
	e.t.Helper()
	u, err := e.store.UserByID(e.ctx, id)
	testkit.WantErr(e.t, "UserByID", err, nil)
	return u
}

// wantUnwritten fails the test unless the write users' race beat (once
// or more) wrote nothing: the stored user is as the last concurrent
// change left it, and no event committed since the last take.
func (e *env) wantUnwritten(users *racingUsers, what string) {
	e.t.Helper()
	want := users.leftBehind()
	if want == nil {
		e.t.Fatalf("%s: the concurrent change never ran", what)
	}
	if diff := cmp.Diff(want, e.stored(want.ID)); diff != "" {
		e.t.Errorf("%s wrote to the user (-as the concurrent change left it +stored):\n%s", what, diff)
	}
	e.wantNoEvents(what)
}

// wantNoEvents fails the test if any auth event committed since the last
// take.
func (e *env) wantNoEvents(what string) {
	e.t.Helper()
	if evs := e.rec.take(); len(evs) > 0 {
		types := make([]domain.EventType, 0, len(evs))
		for _, ev := range evs {
			types = append(types, ev.Type)
		}
		e.t.Errorf("%s committed events %v; want none", what, types)
	}
}

// concurrentChanges are admin changes that may land while a user's own
// request is between its read and its write; each moves the stamp.
func concurrentChanges(id string) map[string]domain.UserChange {
	yes, none := true, []string{}
	return map[string]domain.UserChange{
		"disable":        {UserID: id, Disabled: &yes, EndSessions: true, RevokeAPIKeys: true},
		"role change":    {UserID: id, Roles: &none, EndSessions: true},
		"password reset": {UserID: id, PasswordHash: "h:the admin's choice", EndSessions: true},
	}
}

func TestHashUpgradeYieldsToAConcurrentChange(t *testing.T) {
	t.Parallel()
	for name, change := range concurrentChanges("") {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			u := e.addUser("alice", "alice's password", "ops")
			e.setHash(u, "old:alice's password") // an imported bcrypt hash, say
			change.UserID = u.ID
			users := e.raceUsers(1, change)
			e.rec.take()

			// The password matches the old hash and the login asks for an
			// upgrade; an admin's change lands before the upgrade's write.
			_, err := e.login.Login(e.ctx, LoginInput{Username: "alice", Password: "alice's password", IP: "192.0.2.1"})
			testkit.WantErr(t, "Login across a "+name, err, domain.ErrInvalidCredentials)
			if n := users.racedTimes(); n != 1 {
				t.Fatalf("the concurrent %s beat %d writes; want the upgrade's", name, n)
			}
			e.wantUnwritten(users, "a hash upgrade raced by a "+name)
		})
	}
}

func TestHashUpgradeNeverUndoesAPasswordReset(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.addUser("alice", "alice's password")
	e.setHash(u, "old:alice's password")
	e.raceUsers(1, concurrentChanges(u.ID)["password reset"])
	_, err := e.login.Login(e.ctx, LoginInput{Username: "alice", Password: "alice's password", IP: "192.0.2.1"})
	testkit.WantErr(t, "Login across a password reset", err, domain.ErrInvalidCredentials)

	// The old password is gone for good; the admin's works.
	_, err = e.login.Login(e.ctx, LoginInput{Username: "alice", Password: "alice's password", IP: "192.0.2.1"})
	testkit.WantErr(t, "Login(old password) after the reset", err, domain.ErrInvalidCredentials)
	e.signIn("alice", "the admin's choice")
}

func TestChangePasswordRefusedWhenTheUserChangedMeanwhile(t *testing.T) {
	t.Parallel()
	for name, change := range concurrentChanges("") {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			u := e.addUser("alice", "alice's password", "ops")
			c := e.claims(e.signIn("alice", "alice's password").AccessToken)
			change.UserID = u.ID
			users := e.raceUsers(1, change)
			e.rec.take()

			// The current password is checked and the new one hashed; an
			// admin's change lands before the write.
			err := e.account.ChangePassword(e.ctx, c, "alice's password", "a brand new password", "192.0.2.1")
			testkit.WantErr(t, "ChangePassword across a "+name, err, domain.ErrConflict)
			if n := users.racedTimes(); n != 1 {
				t.Fatalf("the concurrent %s beat %d writes; want the change's", name, n)
			}
			e.wantUnwritten(users, "a password change raced by a "+name)
		})
	}
}

func TestUpdateGivesUpWhenTheUserKeepsChanging(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.addUser("alice", "alice's password", "ops")
	// Before every write of the admin's update, someone else resets the
	// password (the stamp moves each time).
	users := e.raceUsers(-1, concurrentChanges(u.ID)["password reset"])
	e.rec.take()
	yes := true
	_, err := e.users.Update(e.ctx, u.ID, UserPatch{Disabled: &yes})
	testkit.WantErr(t, "Update while the user keeps changing", err, domain.ErrConflict)
	if n := users.racedTimes(); n != updateAttempts {
		t.Errorf("Update tried %d writes; want %d", n, updateAttempts)
	}
	e.wantUnwritten(users, "an Update that never won its race")
}

func TestUpdateDecidesOnTheUserAsItIsWhenWritten(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.addUser("alice", "alice's password")
	// Another admin gives alice the same role just before this admin's
	// write: the retry finds nothing left to change, so it writes nothing
	// (no second revocation, no user.roles_changed with stale
	// previous roles).
	ops := []string{"ops"}
	users := e.raceUsers(1, domain.UserChange{UserID: u.ID, Roles: &ops, EndSessions: true})
	e.rec.take()

	got, err := e.users.Update(e.ctx, u.ID, UserPatch{Roles: &ops})
	testkit.WantErr(t, "Update(roles) raced by the same change", err, nil)
	if n := users.racedTimes(); n != 1 {
		t.Fatalf("the concurrent change beat %d writes; want one", n)
	}
	e.wantUnwritten(users, "an Update with nothing left to change")
	if diff := cmp.Diff(users.leftBehind(), got); diff != "" {
		t.Errorf("Update returned (-stored +returned):\n%s", diff)
	}
	if !slices.Equal(got.Roles, ops) {
		t.Errorf("Update(roles) = roles %q; want %q", got.Roles, ops)
	}
}
