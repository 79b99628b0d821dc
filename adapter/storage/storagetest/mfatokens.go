package storagetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/domain"
	"github.com/gatehouse-auth/gatehouse/internal/testkit"
)

// newMFAToken returns an mfa token of userID named name (hash
// hash("mfa/"+name)), created at created and living MFATokenTTL.
func newMFAToken(userID, name string, created time.Time) *domain.MFAToken {
	return &domain.MFAToken{
		Hash:      hash("mfa/" + name),
		UserID:    userID,
		UserStamp: 1,
		Scope:     []string{"openid", "profile"},
		Grant:     "password",
		IP:        "198.51.100.4",
		UserAgent: "curl/8.5.0 " + name,
		CreatedAt: created,
		ExpiresAt: created.Add(domain.MFATokenTTL),
	}
}

// mustCreateMFAToken stores tok or fails t.
func mustCreateMFAToken(t *testing.T, s Stores, tok *domain.MFAToken) {
	t.Helper()
	testkit.WantErr(t, "CreateMFAToken", s.CreateMFAToken(ctx(t), tok), nil)
}

// consume runs ConsumeMFAToken and fails t on an error.
func consume(t *testing.T, s Stores, name string, now time.Time) bool {
	t.Helper()
	ok, err := s.ConsumeMFAToken(ctx(t), hash("mfa/"+name), now)
	testkit.WantErr(t, "ConsumeMFAToken("+name+")", err, nil)
	return ok
}

func testMFATokens(t *testing.T, newStores factory) {
	t.Run("create and read back", func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		mustCreateUser(t, s, "u0001", "alice")
		want := newMFAToken("u0001", "t1", elsewhere(at(time.Minute)))
		covers(t, want, "Failures", "UsedAt") // set by FailMFAToken and ConsumeMFAToken below
		mustCreateMFAToken(t, s, want)
		got, err := s.MFATokenByHash(ctx(t), want.Hash)
		testkit.WantErr(t, "MFATokenByHash", err, nil)
		if d := mismatch(got, want); d != "" {
			t.Errorf("MFATokenByHash (-want +got):\n%s", d)
		}
		_, err = s.MFATokenByHash(ctx(t), hash("mfa/unknown"))
		testkit.WantErr(t, "MFATokenByHash(unknown)", err, domain.ErrNotFound)
		testkit.WantErr(t, "CreateMFAToken(same hash)", s.CreateMFAToken(ctx(t), newMFAToken("u0001", "t1", at(0))), domain.ErrConflict)
		testkit.WantErr(t, "CreateMFAToken(unknown user)", s.CreateMFAToken(ctx(t), newMFAToken("nobody", "t2", at(0))), domain.ErrNotFound)

		if n, err := s.FailMFAToken(ctx(t), want.Hash); n != 1 || err != nil {
			t.Fatalf("FailMFAToken = %d, %v; want 1, nil", n, err)
		}
		if !consume(t, s, "t1", at(2*time.Minute)) {
			t.Fatal("ConsumeMFAToken(live) = false; want true")
		}
		want.Failures, want.UsedAt = 1, at(2*time.Minute)
		got, _ = s.MFATokenByHash(ctx(t), want.Hash)
		if d := mismatch(got, want); d != "" {
			t.Errorf("MFATokenByHash after a failure and use (-want +got):\n%s", d)
		}
	})

	t.Run("a token is consumed once", func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		mustCreateUser(t, s, "u0001", "alice")
		mustCreateMFAToken(t, s, newMFAToken("u0001", "t1", at(0)))
		if !consume(t, s, "t1", at(time.Minute)) {
			t.Fatal("first ConsumeMFAToken = false; want true")
		}
		if consume(t, s, "t1", at(time.Minute)) {
			t.Error("second ConsumeMFAToken = true; want false")
		}
		if consume(t, s, "unknown", at(time.Minute)) {
			t.Error("ConsumeMFAToken(unknown) = true; want false")
		}
	})

	t.Run("concurrent consumes: exactly one wins", func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		mustCreateUser(t, s, "u0001", "alice")
		mustCreateMFAToken(t, s, newMFAToken("u0001", "t1", at(0)))
		n := winners(t, func(int) (bool, error) { return s.ConsumeMFAToken(ctx(t), hash("mfa/t1"), at(time.Minute)) })
		if n != 1 {
			t.Errorf("%d concurrent ConsumeMFAToken won %d times; want 1", racers, n)
		}
	})

	t.Run("failures count and the last one kills the token", func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		mustCreateUser(t, s, "u0001", "alice")
		mustCreateMFAToken(t, s, newMFAToken("u0001", "dies", at(0)))
		mustCreateMFAToken(t, s, newMFAToken("u0001", "survives", at(0)))
		for i := 1; i <= domain.MFATokenMaxFailures; i++ {
			n, err := s.FailMFAToken(ctx(t), hash("mfa/dies"))
			testkit.WantErr(t, fmt.Sprintf("FailMFAToken #%d", i), err, nil)
			if n != i {
				t.Errorf("FailMFAToken #%d = %d; want %d", i, n, i)
			}
			if i < domain.MFATokenMaxFailures {
				testkit.WantErr(t, "FailMFAToken(survives)", errOnly(s.FailMFAToken(ctx(t), hash("mfa/survives"))), nil)
			}
		}
		if consume(t, s, "dies", at(time.Minute)) {
			t.Errorf("ConsumeMFAToken after %d failures = true; want false", domain.MFATokenMaxFailures)
		}
		if !consume(t, s, "survives", at(time.Minute)) {
			t.Errorf("ConsumeMFAToken after %d failures = false; want true", domain.MFATokenMaxFailures-1)
		}
		_, err := s.FailMFAToken(ctx(t), hash("mfa/unknown"))
		testkit.WantErr(t, "FailMFAToken(unknown)", err, domain.ErrNotFound)
	})

	t.Run("concurrent failures are all counted", func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		mustCreateUser(t, s, "u0001", "alice")
		mustCreateMFAToken(t, s, newMFAToken("u0001", "t1", at(0)))
		winners(t, func(int) (bool, error) { return false, errOnly(s.FailMFAToken(ctx(t), hash("mfa/t1"))) })
		got, err := s.MFATokenByHash(ctx(t), hash("mfa/t1"))
		testkit.WantErr(t, "MFATokenByHash", err, nil)
		if got.Failures != racers {
			t.Errorf("Failures after %d concurrent FailMFAToken = %d; want %d", racers, got.Failures, racers)
		}
	})

	t.Run("an expired token is not consumable", func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		mustCreateUser(t, s, "u0001", "alice")
		tok := newMFAToken("u0001", "t1", at(0))
		mustCreateMFAToken(t, s, tok)
		if consume(t, s, "t1", elsewhere(tok.ExpiresAt)) {
			t.Error("ConsumeMFAToken at ExpiresAt = true; want false")
		}
		if consume(t, s, "t1", tok.ExpiresAt.Add(time.Hour)) {
			t.Error("ConsumeMFAToken after ExpiresAt = true; want false")
		}
		if !consume(t, s, "t1", tok.ExpiresAt.Add(-time.Microsecond)) {
			t.Error("ConsumeMFAToken just before ExpiresAt = false; want true")
		}
	})

	t.Run("prune deletes the expired tokens", func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		mustCreateUser(t, s, "u0001", "alice")
		for i, name := range []string{"t0", "t1", "t2"} {
			mustCreateMFAToken(t, s, newMFAToken("u0001", name, at(time.Duration(i)*time.Hour)))
		}
		prune := func(before time.Time, want int64) {
			t.Helper()
			n, err := s.PruneMFATokens(ctx(t), before)
			testkit.WantErr(t, "PruneMFATokens", err, nil)
			if n != want {
				t.Errorf("PruneMFATokens(%v) = %d; want %d", before, n, want)
			}
		}
		prune(at(time.Hour), 1) // t0 expired at 0:05
		_, err := s.MFATokenByHash(ctx(t), hash("mfa/t0"))
		testkit.WantErr(t, "MFATokenByHash(pruned)", err, domain.ErrNotFound)
		if _, err := s.MFATokenByHash(ctx(t), hash("mfa/t1")); err != nil {
			t.Errorf("MFATokenByHash(t1, live at the cut) = %v; want kept", err)
		}
		prune(elsewhere(at(3*time.Hour)), 2)
		prune(at(3*time.Hour), 0)
	})
}

// errOnly drops a result and keeps the error.
func errOnly[T any](_ T, err error) error { return err }
