package storagetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/domain"
	"github.com/gatehouse-auth/gatehouse/internal/testkit"
)

// racers is how many goroutines race for one single-use thing.
const racers = 20

// recoveryCodes returns RecoveryCodeCount code hashes named after set.
func recoveryCodes(set string) [][]byte {
	out := make([][]byte, domain.RecoveryCodeCount)
	for i := range out {
		out[i] = hash(fmt.Sprintf("code/%s/%d", set, i))
	}
	return out
}

// mustPutTOTP stores a pending factor of userID with the given secret.
func mustPutTOTP(t *testing.T, s Stores, userID, secret string) *domain.TOTP {
	t.Helper()
	p := &domain.TOTP{UserID: userID, Secret: []byte(secret), CreatedAt: at(time.Minute)}
	testkit.WantErr(t, "PutPendingTOTP("+userID+")", s.PutPendingTOTP(ctx(t), p), nil)
	return p
}

// mustEnableMFA confirms the pending factor of user (as mustCreateUser
// returned it) at(time.Hour) and step 100 with the recovery codes of set
// "a", as the confirming use case does. It returns the user and the factor
// as every read must now show them, having compared the user ChangeUser
// returned.
func mustEnableMFA(t *testing.T, s Stores, user *domain.User) (*domain.User, *domain.TOTP) {
	t.Helper()
	p := mustPutTOTP(t, s, user.ID, "secret-"+user.ID)
	got, _ := change(t, s, domain.UserChange{
		UserID: user.ID, EndSessions: true, At: at(time.Hour), FeedExpires: at(2 * time.Hour),
		MFA: &domain.MFAChange{Enable: true, Step: 100, RecoveryCodes: recoveryCodes("a"), Secret: p.Secret},
	}, nil)
	want := *user
	want.MFAEnabled, want.Stamp, want.UpdatedAt = true, user.Stamp+1, at(time.Hour)
	if d := mismatch(got, &want); d != "" {
		t.Fatalf("ChangeUser(enable) (-want +got):\n%s", d)
	}
	p.ConfirmedAt, p.LastStep = at(time.Hour), 100
	return &want, p
}

// mustTOTP returns the factor of userID or fails t.
func mustTOTP(t *testing.T, s Stores, userID string) *domain.TOTP {
	t.Helper()
	got, err := s.TOTPOf(ctx(t), userID)
	testkit.WantErr(t, "TOTPOf("+userID+")", err, nil)
	return got
}

// mustUser returns the user userID or fails t.
func mustUser(t *testing.T, s Stores, userID string) *domain.User {
	t.Helper()
	got, err := s.UserByID(ctx(t), userID)
	testkit.WantErr(t, "UserByID("+userID+")", err, nil)
	return got
}

// codesLeft returns RecoveryCodesLeft or fails t.
func codesLeft(t *testing.T, s Stores, userID string) int {
	t.Helper()
	n, err := s.RecoveryCodesLeft(ctx(t), userID)
	testkit.WantErr(t, "RecoveryCodesLeft("+userID+")", err, nil)
	return n
}

// winners counts the true results of racers concurrent calls of use.
func winners(t *testing.T, use func(i int) (bool, error)) int {
	t.Helper()
	var wg sync.WaitGroup
	won := make([]bool, racers)
	for i := range racers {
		wg.Go(func() {
			ok, err := use(i)
			if err != nil {
				t.Errorf("racer %d: %v", i, err)
			}
			won[i] = ok
		})
	}
	wg.Wait()
	n := 0
	for _, w := range won {
		if w {
			n++
		}
	}
	return n
}

func testMFA(t *testing.T, newStores factory) {
	t.Run("enable confirms the pending factor with the change", func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		user := mustCreateUser(t, s, "u0001", "alice")
		mustCreateSession(t, s, "u0001", "s0001")
		mustCreateSession(t, s, "u0001", "s0002")
		pending := mustPutTOTP(t, s, "u0001", "secret")
		ev := newEvent(1, domain.EventMFAEnabled, "u0001", at(time.Hour))
		u, revoked := change(t, s, domain.UserChange{
			UserID: "u0001", EndSessions: true, KeepSession: "s0001", At: at(time.Hour), FeedExpires: at(2 * time.Hour),
			MFA:    &domain.MFAChange{Enable: true, Step: 100, RecoveryCodes: recoveryCodes("a"), Secret: pending.Secret},
			Events: []domain.Event{ev},
		}, nil)
		wantUser := *user
		wantUser.MFAEnabled, wantUser.Stamp, wantUser.UpdatedAt = true, 2, at(time.Hour)
		if d := mismatch(u, &wantUser); d != "" || fmt.Sprint(revoked) != "[s0002]" {
			t.Errorf("ChangeUser(enable) revoked %v; want [s0002]; user (-want +got):\n%s", revoked, d)
		}
		if d := mismatch(mustUser(t, s, "u0001"), &wantUser); d != "" {
			t.Errorf("UserByID after enable (-want +got):\n%s", d)
		}
		got := mustTOTP(t, s, "u0001")
		want := *pending
		want.ConfirmedAt, want.LastStep = at(time.Hour), 100
		if d := mismatch(got, &want); d != "" || !got.Confirmed() {
			t.Errorf("TOTPOf after enable (-want +got):\n%s", d)
		}
		if n := codesLeft(t, s, "u0001"); n != domain.RecoveryCodeCount {
			t.Errorf("RecoveryCodesLeft = %d; want %d", n, domain.RecoveryCodeCount)
		}
		if ids := eventIDs(listEvents(t, s, domain.EventQuery{UserID: "u0001", Limit: 10})); fmt.Sprint(ids) != fmt.Sprint([]string{ev.ID}) {
			t.Errorf("events = %v; want [%s]", ids, ev.ID)
		}
		// A confirmed factor is not pending: enabling again changes nothing.
		change(t, s, domain.UserChange{UserID: "u0001", At: at(2 * time.Hour), MFA: &domain.MFAChange{Enable: true, Step: 200}}, domain.ErrMFANotEnabled)
		if d := mismatch(mustTOTP(t, s, "u0001"), &want); d != "" {
			t.Errorf("TOTPOf after a second enable (-want +got):\n%s", d)
		}
	})

	t.Run("enable of a replaced pending secret is ErrConflict and writes nothing", func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		before := mustCreateUser(t, s, "u0001", "alice")
		checked := mustPutTOTP(t, s, "u0001", "the secret the code was checked against")
		racing := mustPutTOTP(t, s, "u0001", "a secret put by a racing enrolment")
		change(t, s, domain.UserChange{
			UserID: "u0001", EndSessions: true, At: at(time.Hour), FeedExpires: at(2 * time.Hour),
			MFA:    &domain.MFAChange{Enable: true, Step: 100, RecoveryCodes: recoveryCodes("a"), Secret: checked.Secret},
			Events: []domain.Event{newEvent(1, domain.EventMFAEnabled, "u0001", at(time.Hour))},
		}, domain.ErrConflict)
		if d := mismatch(mustUser(t, s, "u0001"), before); d != "" {
			t.Errorf("user after a refused enable (-want +got):\n%s", d)
		}
		if n := codesLeft(t, s, "u0001"); n != 0 {
			t.Errorf("RecoveryCodesLeft after a refused enable = %d; want 0", n)
		}
		if d := mismatch(mustTOTP(t, s, "u0001"), racing); d != "" {
			t.Errorf("the racing enrolment's factor after a refused enable (-want +got):\n%s", d)
		}
	})

	t.Run("enable without a pending factor is ErrMFANotEnabled and writes nothing", func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		before := mustCreateUser(t, s, "u0001", "alice")
		sess := mustCreateSession(t, s, "u0001", "s0001")
		roles := []string{domain.RoleAdmin}
		change(t, s, domain.UserChange{
			UserID: "u0001", Roles: &roles, EndSessions: true, RevokeAPIKeys: true, At: at(time.Hour), FeedExpires: at(2 * time.Hour),
			MFA:    &domain.MFAChange{Enable: true, Step: 100, RecoveryCodes: recoveryCodes("a")},
			Events: []domain.Event{newEvent(1, domain.EventMFAEnabled, "u0001", at(time.Hour))},
		}, domain.ErrMFANotEnabled)
		u, err := s.UserByID(ctx(t), "u0001")
		testkit.WantErr(t, "UserByID", err, nil)
		if d := mismatch(u, before); d != "" {
			t.Errorf("user after a refused enable (-want +got):\n%s", d)
		}
		got, err := s.SessionByID(ctx(t), "s0001")
		testkit.WantErr(t, "SessionByID", err, nil)
		if d := mismatch(got, sess); d != "" {
			t.Errorf("session after a refused enable (-want +got):\n%s", d)
		}
		if n := codesLeft(t, s, "u0001"); n != 0 {
			t.Errorf("RecoveryCodesLeft after a refused enable = %d; want 0", n)
		}
		if evs := listEvents(t, s, domain.EventQuery{Limit: 10}); len(evs) != 0 {
			t.Errorf("events after a refused enable = %v; want none", eventIDs(evs))
		}
		if feed := mustFeed(t, s, 0, at(0), 0); len(feed) != 0 {
			t.Errorf("feed after a refused enable = %v; want empty", feedSessions(feed))
		}
		_, err = s.TOTPOf(ctx(t), "u0001")
		testkit.WantErr(t, "TOTPOf", err, domain.ErrNotFound)
	})

	t.Run("disable removes the factor and the codes", func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		want, _ := mustEnableMFA(t, s, mustCreateUser(t, s, "u0001", "alice"))
		u, _ := change(t, s, domain.UserChange{UserID: "u0001", EndSessions: true, At: at(2 * time.Hour), MFA: &domain.MFAChange{Disable: true}}, nil)
		want.MFAEnabled, want.Stamp, want.UpdatedAt = false, 3, at(2*time.Hour)
		if d := mismatch(u, want); d != "" {
			t.Errorf("ChangeUser(disable) (-want +got):\n%s", d)
		}
		if d := mismatch(mustUser(t, s, "u0001"), want); d != "" {
			t.Errorf("UserByID after disable (-want +got):\n%s", d)
		}
		_, err := s.TOTPOf(ctx(t), "u0001")
		testkit.WantErr(t, "TOTPOf after disable", err, domain.ErrNotFound)
		if n := codesLeft(t, s, "u0001"); n != 0 {
			t.Errorf("RecoveryCodesLeft after disable = %d; want 0", n)
		}
		if ok, err := s.UseRecoveryCode(ctx(t), "u0001", recoveryCodes("a")[0], at(3*time.Hour), nil); ok || err != nil {
			t.Errorf("UseRecoveryCode after disable = %v, %v; want false, nil", ok, err)
		}
		mustPutTOTP(t, s, "u0001", "again") // a new enrolment may start
	})

	t.Run("recovery codes are replaced, not added", func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		want, factor := mustEnableMFA(t, s, mustCreateUser(t, s, "u0001", "alice"))
		use := func(h []byte) bool {
			t.Helper()
			ok, err := s.UseRecoveryCode(ctx(t), "u0001", h, at(3*time.Hour), nil)
			testkit.WantErr(t, "UseRecoveryCode", err, nil)
			return ok
		}
		if !use(recoveryCodes("a")[0]) || codesLeft(t, s, "u0001") != domain.RecoveryCodeCount-1 {
			t.Fatal("using a code of set a failed or did not count")
		}
		u, _ := change(t, s, domain.UserChange{UserID: "u0001", At: at(4 * time.Hour), MFA: &domain.MFAChange{RecoveryCodes: recoveryCodes("b")}}, nil)
		want.UpdatedAt = at(4 * time.Hour) // the stamp stays: no session rests on the codes
		if d := mismatch(u, want); d != "" {
			t.Errorf("ChangeUser(codes) (-want +got):\n%s", d)
		}
		if n := codesLeft(t, s, "u0001"); n != domain.RecoveryCodeCount {
			t.Errorf("RecoveryCodesLeft after replace = %d; want %d", n, domain.RecoveryCodeCount)
		}
		if use(recoveryCodes("a")[1]) {
			t.Error("a replaced code was accepted")
		}
		if !use(recoveryCodes("b")[1]) {
			t.Error("a new code was refused")
		}
		change(t, s, domain.UserChange{UserID: "u0001", At: at(5 * time.Hour), MFA: &domain.MFAChange{RecoveryCodes: recoveryCodes("b")}}, nil)
		if !use(recoveryCodes("b")[1]) {
			t.Error("a code given again after use was refused: replacing makes every code unused")
		}
		if d := mismatch(mustTOTP(t, s, "u0001"), factor); d != "" {
			t.Errorf("TOTPOf after replacing codes: the factor changed (-want +got):\n%s", d)
		}
	})

	t.Run("pending factor: put, replace, refused once confirmed", func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		mustCreateUser(t, s, "u0001", "alice")
		err := s.PutPendingTOTP(ctx(t), &domain.TOTP{UserID: "nobody", Secret: []byte("x"), CreatedAt: at(0)})
		testkit.WantErr(t, "PutPendingTOTP(unknown user)", err, domain.ErrNotFound)
		_, err = s.TOTPOf(ctx(t), "u0001")
		testkit.WantErr(t, "TOTPOf(none)", err, domain.ErrNotFound)

		first := &domain.TOTP{UserID: "u0001", Secret: []byte("first"), CreatedAt: elsewhere(at(time.Minute)), LastStep: 7}
		covers(t, first, "ConfirmedAt") // set by enabling
		testkit.WantErr(t, "PutPendingTOTP", s.PutPendingTOTP(ctx(t), first), nil)
		got, err := s.TOTPOf(ctx(t), "u0001")
		testkit.WantErr(t, "TOTPOf", err, nil)
		if d := mismatch(got, first); d != "" || got.Confirmed() {
			t.Errorf("TOTPOf (-want +got):\n%s", d)
		}
		second := mustPutTOTP(t, s, "u0001", "second")
		if d := mismatch(mustTOTP(t, s, "u0001"), second); d != "" {
			t.Errorf("TOTPOf after a second put (-want +got):\n%s", d)
		}
		change(t, s, domain.UserChange{UserID: "u0001", At: at(time.Hour), MFA: &domain.MFAChange{Enable: true, Step: 100, Secret: second.Secret}}, nil)
		err = s.PutPendingTOTP(ctx(t), &domain.TOTP{UserID: "u0001", Secret: []byte("third"), CreatedAt: at(2 * time.Hour)})
		testkit.WantErr(t, "PutPendingTOTP(confirmed)", err, domain.ErrMFAAlreadyEnabled)
		second.ConfirmedAt, second.LastStep = at(time.Hour), 100
		if d := mismatch(mustTOTP(t, s, "u0001"), second); d != "" {
			t.Errorf("TOTPOf after a refused put (-want +got):\n%s", d)
		}
	})

	t.Run("totp steps are accepted once and in order", func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		user := mustCreateUser(t, s, "u0001", "alice")
		_, err := s.UseTOTPStep(ctx(t), "u0001", 1)
		testkit.WantErr(t, "UseTOTPStep(no factor)", err, domain.ErrNotFound)
		_, factor := mustEnableMFA(t, s, user) // at step 100
		for _, c := range []struct {
			step int64
			want bool
		}{{100, false}, {99, false}, {101, true}, {101, false}, {103, true}, {102, false}, {104, true}} {
			ok, err := s.UseTOTPStep(ctx(t), "u0001", c.step)
			testkit.WantErr(t, fmt.Sprintf("UseTOTPStep(%d)", c.step), err, nil)
			if ok != c.want {
				t.Errorf("UseTOTPStep(%d) = %v; want %v", c.step, ok, c.want)
			}
		}
		factor.LastStep = 104
		if d := mismatch(mustTOTP(t, s, "u0001"), factor); d != "" {
			t.Errorf("TOTPOf after the steps (-want +got):\n%s", d)
		}
	})

	t.Run("concurrent uses of one step: exactly one wins", func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		mustEnableMFA(t, s, mustCreateUser(t, s, "u0001", "alice"))
		n := winners(t, func(int) (bool, error) { return s.UseTOTPStep(ctx(t), "u0001", 101) })
		if n != 1 {
			t.Errorf("%d concurrent UseTOTPStep(101) won %d times; want 1", racers, n)
		}
	})

	t.Run("a recovery code is used once, with its events", func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		alice := mustCreateUser(t, s, "u0001", "alice")
		mustCreateUser(t, s, "u0002", "bob")
		mustEnableMFA(t, s, alice)
		code := recoveryCodes("a")[3]
		if ok, err := s.UseRecoveryCode(ctx(t), "u0002", code, at(time.Hour), nil); ok || err != nil {
			t.Errorf("UseRecoveryCode(another user's code) = %v, %v; want false, nil", ok, err)
		}
		n := winners(t, func(i int) (bool, error) {
			ev := newEvent(i+1, domain.EventMFARecoveryCodeUsed, "u0001", at(2*time.Hour))
			return s.UseRecoveryCode(ctx(t), "u0001", code, at(2*time.Hour), []domain.Event{ev})
		})
		if n != 1 {
			t.Errorf("%d concurrent UseRecoveryCode won %d times; want 1", racers, n)
		}
		evs := listEvents(t, s, domain.EventQuery{Types: []domain.EventType{domain.EventMFARecoveryCodeUsed}, Limit: 100})
		if len(evs) != 1 {
			t.Errorf("recovery events = %v; want exactly the winner's", eventIDs(evs))
		}
		if n := codesLeft(t, s, "u0001"); n != domain.RecoveryCodeCount-1 {
			t.Errorf("RecoveryCodesLeft = %d; want %d", n, domain.RecoveryCodeCount-1)
		}
		if ok, err := s.UseRecoveryCode(ctx(t), "u0001", code, at(3*time.Hour), nil); ok || err != nil {
			t.Errorf("UseRecoveryCode(used) = %v, %v; want false, nil", ok, err)
		}
	})

	t.Run("deleting a user deletes its MFA state", func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		mustEnableMFA(t, s, mustCreateUser(t, s, "u0001", "alice"))
		testkit.WantErr(t, "CreateMFAToken", s.CreateMFAToken(ctx(t), newMFAToken("u0001", "t1", at(time.Hour))), nil)
		_, err := s.DeleteUser(ctx(t), domain.UserDeletion{ID: "u0001", At: at(2 * time.Hour), FeedExpires: at(3 * time.Hour)})
		testkit.WantErr(t, "DeleteUser", err, nil)
		again := mustCreateUser(t, s, "u0001", "alice") // the same id again: nothing of the old one may show
		_, err = s.TOTPOf(ctx(t), "u0001")
		testkit.WantErr(t, "TOTPOf after delete", err, domain.ErrNotFound)
		if n := codesLeft(t, s, "u0001"); n != 0 {
			t.Errorf("RecoveryCodesLeft after delete = %d; want 0", n)
		}
		_, err = s.MFATokenByHash(ctx(t), hash("mfa/t1"))
		testkit.WantErr(t, "MFATokenByHash after delete", err, domain.ErrNotFound)
		if d := mismatch(mustUser(t, s, "u0001"), again); d != "" {
			t.Errorf("recreated user (-want +got):\n%s", d)
		}
	})
}
