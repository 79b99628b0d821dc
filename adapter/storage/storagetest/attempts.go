package storagetest

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/domain"
	"github.com/gatehouse-auth/gatehouse/internal/testkit"
)

// errRefused is what the suite's admit functions return to refuse.
var errRefused = errors.New("refused")

// admitAll admits every attempt.
func admitAll(map[string]domain.Attempt) error { return nil }

// reserve counts one attempt on keys at t, admitting it.
func reserve(t *testing.T, s Stores, when time.Time, keys ...domain.FailureKey) {
	t.Helper()
	testkit.WantErr(t, "Reserve", s.Reserve(ctx(t), when, nil, keys, admitAll), nil)
}

// counters reads the counters of keys through a Reserve that counts
// nothing.
func counters(t *testing.T, s Stores, keys ...string) map[string]domain.Attempt {
	t.Helper()
	var got map[string]domain.Attempt
	err := s.Reserve(ctx(t), at(0), keys, nil, func(m map[string]domain.Attempt) error {
		got = m
		return nil
	})
	testkit.WantErr(t, "Reserve(read only)", err, nil)
	return got
}

func testAttempts(t *testing.T, newStores factory) {
	t.Run("reservations count, windows restart, success resets and releases", func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		streak := domain.FailureKey{Key: "p:alice|10.0.0.1"}
		windowed := domain.FailureKey{Key: "i:10.0.0.1", Window: time.Minute}
		for i := range 3 {
			reserve(t, s, at(time.Duration(i)*time.Second), streak, windowed)
		}
		got := counters(t, s, streak.Key, windowed.Key, "absent")
		if len(got) != 2 {
			t.Fatalf("counters = %v; want exactly the two counted keys", got)
		}
		if a := got[streak.Key]; a.Failures != 3 || !a.LastFailure.Equal(at(2*time.Second)) {
			t.Errorf("streak = %+v; want 3 failures, last at +2s", a)
		}
		if a := got[windowed.Key]; a.Failures != 3 || !a.WindowStart.Equal(at(0)) {
			t.Errorf("windowed = %+v; want 3 failures in a window from +0s", a)
		}

		// A minute later the window restarts; the streak keeps counting.
		reserve(t, s, at(time.Minute), streak, windowed)
		got = counters(t, s, streak.Key, windowed.Key)
		if got[streak.Key].Failures != 4 || got[windowed.Key].Failures != 1 || !got[windowed.Key].WindowStart.Equal(at(time.Minute)) {
			t.Errorf("after a minute: streak %+v windowed %+v; want 4 and a restarted window of 1", got[streak.Key], got[windowed.Key])
		}

		known := "k:alice|10.0.0.1"
		testkit.WantErr(t, "RecordSuccess", s.RecordSuccess(ctx(t), at(2*time.Minute), []string{streak.Key}, []string{windowed.Key, "absent"}, known), nil)
		got = counters(t, s, streak.Key, windowed.Key, known, "absent")
		if _, ok := got[streak.Key]; ok {
			t.Errorf("streak survived RecordSuccess: %+v", got[streak.Key])
		}
		if got[windowed.Key].Failures != 0 {
			t.Errorf("released counter = %+v; want its one count taken back", got[windowed.Key])
		}
		if a := got[known]; !a.LastSuccess.Equal(at(2*time.Minute)) || a.Failures != 0 {
			t.Errorf("known = %+v; want last success at +2m and no failures", a)
		}
		if _, ok := got["absent"]; ok {
			t.Errorf("releasing an absent counter created it: %+v", got["absent"])
		}
		testkit.WantErr(t, "RecordSuccess", s.RecordSuccess(ctx(t), at(3*time.Minute), nil, []string{windowed.Key}, ""), nil)
		if n := counters(t, s, windowed.Key)[windowed.Key].Failures; n != 0 {
			t.Errorf("released below zero: %d", n)
		}
	})
	t.Run("a refused reservation counts nothing", func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		key := domain.FailureKey{Key: "p:bob"}
		reserve(t, s, at(0), key)
		err := s.Reserve(ctx(t), at(time.Second), []string{key.Key}, []domain.FailureKey{key}, func(got map[string]domain.Attempt) error {
			if got[key.Key].Failures != 1 {
				t.Errorf("admit saw %+v; want the one earlier count", got[key.Key])
			}
			return errRefused
		})
		testkit.WantErr(t, "Reserve(refused)", err, errRefused)
		if a := counters(t, s, key.Key)[key.Key]; a.Failures != 1 || !a.LastFailure.Equal(at(0)) {
			t.Errorf("after a refusal: %+v; want still 1 failure at +0s", a)
		}
	})
	t.Run("concurrent reservations all count", func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		const n = 40
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Go(func() {
				errs[i] = s.Reserve(ctx(t), at(time.Duration(i)*time.Millisecond), nil,
					[]domain.FailureKey{{Key: "u:alice"}, {Key: "i:ip", Window: time.Hour}}, admitAll)
			})
		}
		wg.Wait()
		for i, err := range errs {
			testkit.WantErr(t, fmt.Sprintf("Reserve #%d", i), err, nil)
		}
		got := counters(t, s, "u:alice", "i:ip")
		if got["u:alice"].Failures != n || got["i:ip"].Failures != n {
			t.Errorf("after %d concurrent reservations: %+v; want every one counted", n, got)
		}
	})
	t.Run("concurrent reservations are judged one at a time", func(t *testing.T) {
		// The throttle's promise: N simultaneous guesses meet the limit of
		// N sequential ones. Each admit sees every reservation admitted
		// before it, on keys shared in any order.
		t.Parallel()
		s := newStores(t)
		const n, limit = 30, 5
		var admitted atomic.Int32
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			keys := []domain.FailureKey{{Key: "p:carol|ip"}, {Key: "u:carol"}, {Key: "i:ip", Window: time.Hour}}
			if i%2 == 1 {
				keys[0], keys[2] = keys[2], keys[0] // lock order must not matter
			}
			wg.Go(func() {
				errs[i] = s.Reserve(ctx(t), at(time.Duration(i)*time.Millisecond), []string{"p:carol|ip"}, keys,
					func(got map[string]domain.Attempt) error {
						if got["p:carol|ip"].Failures >= limit {
							return errRefused
						}
						admitted.Add(1)
						return nil
					})
			})
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil && !errors.Is(err, errRefused) {
				t.Fatalf("Reserve #%d = %v; want nil or the refusal", i, err)
			}
		}
		if got := admitted.Load(); got != limit {
			t.Errorf("%d simultaneous reservations admitted %d; want exactly %d", n, got, limit)
		}
		if got := counters(t, s, "p:carol|ip")["p:carol|ip"].Failures; got != limit {
			t.Errorf("counter = %d; want %d (refusals count nothing)", got, limit)
		}
	})
	t.Run("reservations racing successes and cancellations never deadlock", func(t *testing.T) {
		// What the throttle does for parallel logins of one user from one
		// address: each reserves (pair, user, address), then settles as a
		// success (reset pair and user, release the address, stamp known)
		// or a cancellation (release all three). Every call must succeed,
		// whatever order each store takes its row locks in.
		t.Parallel()
		s := newStores(t)
		const n = 40
		pair, user, ip := "p:dave|ip", "u:dave", "i:ip"
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Go(func() {
				when := at(time.Duration(i) * time.Millisecond)
				err := s.Reserve(ctx(t), when, []string{pair, user, ip, "k:dave|ip"},
					[]domain.FailureKey{{Key: pair}, {Key: user}, {Key: ip, Window: time.Hour}}, admitAll)
				if err == nil && i%2 == 0 {
					err = s.RecordSuccess(ctx(t), when, []string{pair, user}, []string{ip}, "k:dave|ip")
				} else if err == nil {
					err = s.RecordSuccess(ctx(t), when, nil, []string{pair, user, ip}, "")
				}
				errs[i] = err
			})
		}
		wg.Wait()
		for i, err := range errs {
			testkit.WantErr(t, fmt.Sprintf("Reserve and settle #%d", i), err, nil)
		}
		if got := counters(t, s, ip)[ip].Failures; got != 0 {
			t.Errorf("address counter after %d settled attempts = %d; want 0", n, got)
		}
	})
	t.Run("prune drops idle counters", func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		reserve(t, s, at(0), domain.FailureKey{Key: "old"})
		reserve(t, s, at(time.Hour), domain.FailureKey{Key: "new"})
		testkit.WantErr(t, "RecordSuccess", s.RecordSuccess(ctx(t), at(time.Hour), nil, nil, "known"), nil)
		testkit.WantErr(t, "PruneAttempts", s.PruneAttempts(ctx(t), at(30*time.Minute)), nil)
		got := counters(t, s, "old", "new", "known")
		if _, ok := got["old"]; ok || len(got) != 2 {
			t.Errorf("after prune: %v; want new and known only", got)
		}
	})
}
