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

// mustEnableMFA confirms userID's pending factor at step 100 with the
// recovery codes of set "a", as the confirming use case does.
func mustEnableMFA(t *testing.T, s Stores, userID string) *domain.User {
	t.Helper()
	p := mustPutTOTP(t, s, userID, "secret-"+userID)
	u, _ := change(t, s, domain.UserChange{
		UserID: userID, EndSessions: true, At: at(time.Hour), FeedExpires: at(2 * time.Hour),
		MFA: &domain.MFAChange{Enable: true, Step: 100, RecoveryCodes: recoveryCodes("a"), Secret: p.Secret},
	}, nil)
	return u
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
		mustCreateUser(t, s, "u0001", "alice")
		mustCreateSession(t, s, "u0001", "s0001")
		mustCreateSession(t, s, "u0001", "s0002")
		pending := mustPutTOTP(t, s, "u0001", "secret")
		ev := newEvent(1, domain.EventMFAEnabled, "u0001", at(time.Hour))
		u, revoked := change(t, s, domain.UserChange{
			UserID: "u0001", EndSessions: true, KeepSession: "s0001", At: at(time.Hour), FeedExpires: at(2 * time.Hour),
			MFA:    &domain.MFAChange{Enable: true, Step: 100, RecoveryCodes: recoveryCodes("a"), Secret: pending.Secret},
			Events: []domain.Event{ev},
		}, nil)
		if !u.MFAEnabled || u.Stamp != 2 || fmt.Sprint(revoked) != "[s0002]" {
			t.Errorf("ChangeUser(enable) = MFAEnabled %v, stamp %d, revoked %v; want true, 2, [s0002]", u.MFAEnabled, u.Stamp, revoked)
		}
		got, err := s.TOTPOf(ctx(t), "u0001")
		testkit.WantErr(t, "TOTPOf", err, nil)
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
		if got, _ := s.TOTPOf(ctx(t), "u0001"); got.LastStep != 100 || !got.ConfirmedAt.Equal(at(time.Hour)) {
			t.Errorf("TOTPOf after a second enable = step %d, confirmed %v; want 100, %v", got.LastStep, got.ConfirmedAt, at(time.Hour))
		}
	})

	t.Run("enable of a replaced pending secret is ErrConflict and writes nothing", func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		before := mustCreateUser(t, s, "u0001", "alice")
		checked := mustPutTOTP(t, s, "u0001", "the secret the code was checked against")
		mustPutTOTP(t, s, "u0001", "a secret put by a racing enrolment")
		change(t, s, domain.UserChange{
			UserID: "u0001", EndSessions: true, At: at(time.Hour), FeedExpires: at(2 * time.Hour),
			MFA:    &domain.MFAChange{Enable: true, Step: 100, RecoveryCodes: recoveryCodes("a"), Secret: checked.Secret},
			Events: []domain.Event{newEvent(1, domain.EventMFAEnabled, "u0001", at(time.Hour))},
		}, domain.ErrConflict)
		u, err := s.UserByID(ctx(t), "u0001")
		testkit.WantErr(t, "UserByID", err, nil)
		if u.MFAEnabled || u.Stamp != before.Stamp || codesLeft(t, s, "u0001") != 0 {
			t.Errorf("after a refused enable: MFAEnabled %v, stamp %d, %d codes; want nothing changed", u.MFAEnabled, u.Stamp, codesLeft(t, s, "u0001"))
		}
		if got, _ := s.TOTPOf(ctx(t), "u0001"); got.Confirmed() {
			t.Error("the racing enrolment's secret was confirmed")
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
		mustCreateUser(t, s, "u0001", "alice")
		mustEnableMFA(t, s, "u0001")
		u, _ := change(t, s, domain.UserChange{UserID: "u0001", EndSessions: true, At: at(2 * time.Hour), MFA: &domain.MFAChange{Disable: true}}, nil)
		if u.MFAEnabled || u.Stamp != 3 {
			t.Errorf("ChangeUser(disable) = MFAEnabled %v, stamp %d; want false, 3", u.MFAEnabled, u.Stamp)
		}
		if u, _ := s.UserByID(ctx(t), "u0001"); u.MFAEnabled {
			t.Error("UserByID after disable: MFAEnabled = true; want false")
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
		mustCreateUser(t, s, "u0001", "alice")
		mustEnableMFA(t, s, "u0001")
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
		if !u.MFAEnabled || u.Stamp != 2 {
			t.Errorf("ChangeUser(codes) = MFAEnabled %v, stamp %d; want true, 2 (unmoved)", u.MFAEnabled, u.Stamp)
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
		if _, err := s.TOTPOf(ctx(t), "u0001"); err != nil {
			t.Errorf("TOTPOf after replacing codes = %v; want the factor kept", err)
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
		if got, _ := s.TOTPOf(ctx(t), "u0001"); mismatch(got, second) != "" {
			t.Errorf("TOTPOf after a second put = %+v; want %+v", got, second)
		}
		change(t, s, domain.UserChange{UserID: "u0001", At: at(time.Hour), MFA: &domain.MFAChange{Enable: true, Step: 100, Secret: second.Secret}}, nil)
		err = s.PutPendingTOTP(ctx(t), &domain.TOTP{UserID: "u0001", Secret: []byte("third"), CreatedAt: at(2 * time.Hour)})
		testkit.WantErr(t, "PutPendingTOTP(confirmed)", err, domain.ErrMFAAlreadyEnabled)
		if got, _ := s.TOTPOf(ctx(t), "u0001"); string(got.Secret) != "second" || !got.Confirmed() {
			t.Errorf("TOTPOf after a refused put = secret %q, confirmed %v; want second, true", got.Secret, got.Confirmed())
		}
	})

	t.Run("totp steps are accepted once and in order", func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		mustCreateUser(t, s, "u0001", "alice")
		_, err := s.UseTOTPStep(ctx(t), "u0001", 1)
		testkit.WantErr(t, "UseTOTPStep(no factor)", err, domain.ErrNotFound)
		mustEnableMFA(t, s, "u0001") // at step 100
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
		if got, _ := s.TOTPOf(ctx(t), "u0001"); got.LastStep != 104 {
			t.Errorf("LastStep = %d; want 104", got.LastStep)
		}
	})

	t.Run("concurrent uses of one step: exactly one wins", func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		mustCreateUser(t, s, "u0001", "alice")
		mustEnableMFA(t, s, "u0001")
		n := winners(t, func(int) (bool, error) { return s.UseTOTPStep(ctx(t), "u0001", 101) })
		if n != 1 {
			t.Errorf("%d concurrent UseTOTPStep(101) won %d times; want 1", racers, n)
		}
	})

	t.Run("a recovery code is used once, with its events", func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		mustCreateUser(t, s, "u0001", "alice")
		mustCreateUser(t, s, "u0002", "bob")
		mustEnableMFA(t, s, "u0001")
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
		mustCreateUser(t, s, "u0001", "alice")
		mustEnableMFA(t, s, "u0001")
		testkit.WantErr(t, "CreateMFAToken", s.CreateMFAToken(ctx(t), newMFAToken("u0001", "t1", at(time.Hour))), nil)
		_, err := s.DeleteUser(ctx(t), domain.UserDeletion{ID: "u0001", At: at(2 * time.Hour), FeedExpires: at(3 * time.Hour)})
		testkit.WantErr(t, "DeleteUser", err, nil)
		mustCreateUser(t, s, "u0001", "alice") // the same id again: nothing of the old one may show
		_, err = s.TOTPOf(ctx(t), "u0001")
		testkit.WantErr(t, "TOTPOf after delete", err, domain.ErrNotFound)
		if n := codesLeft(t, s, "u0001"); n != 0 {
			t.Errorf("RecoveryCodesLeft after delete = %d; want 0", n)
		}
		_, err = s.MFATokenByHash(ctx(t), hash("mfa/t1"))
		testkit.WantErr(t, "MFATokenByHash after delete", err, domain.ErrNotFound)
		if u, _ := s.UserByID(ctx(t), "u0001"); u.MFAEnabled {
			t.Error("recreated user has MFAEnabled")
		}
	})
}
