package storagetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/domain"
)

func testAttempts(t *testing.T, newStores factory) {
	t.Run("failures count, windows restart, success resets", func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		streak := domain.FailureKey{Key: "p:alice|10.0.0.1"}
		windowed := domain.FailureKey{Key: "i:10.0.0.1", Window: time.Minute}
		for i := range 3 {
			wantErr(t, "RecordFailures", s.RecordFailures(ctx(t), at(time.Duration(i)*time.Second), []domain.FailureKey{streak, windowed}), nil)
		}
		got, err := s.Attempts(ctx(t), []string{streak.Key, windowed.Key, "absent"})
		wantErr(t, "Attempts", err, nil)
		if len(got) != 2 {
			t.Fatalf("Attempts = %v; want exactly the two recorded keys", got)
		}
		if a := got[streak.Key]; a.Failures != 3 || !a.LastFailure.Equal(at(2*time.Second)) {
			t.Errorf("streak = %+v; want 3 failures, last at +2s", a)
		}
		if a := got[windowed.Key]; a.Failures != 3 || !a.WindowStart.Equal(at(0)) {
			t.Errorf("windowed = %+v; want 3 failures in a window from +0s", a)
		}

		// A minute later the window restarts; the streak keeps counting.
		wantErr(t, "RecordFailures", s.RecordFailures(ctx(t), at(time.Minute), []domain.FailureKey{streak, windowed}), nil)
		got, err = s.Attempts(ctx(t), []string{streak.Key, windowed.Key})
		wantErr(t, "Attempts", err, nil)
		if got[streak.Key].Failures != 4 || got[windowed.Key].Failures != 1 || !got[windowed.Key].WindowStart.Equal(at(time.Minute)) {
			t.Errorf("after a minute: streak %+v windowed %+v; want 4 and a restarted window of 1", got[streak.Key], got[windowed.Key])
		}

		known := "k:alice|10.0.0.1"
		wantErr(t, "RecordSuccess", s.RecordSuccess(ctx(t), at(2*time.Minute), []string{streak.Key}, known), nil)
		got, err = s.Attempts(ctx(t), []string{streak.Key, windowed.Key, known})
		wantErr(t, "Attempts", err, nil)
		if _, ok := got[streak.Key]; ok {
			t.Errorf("streak survived RecordSuccess: %+v", got[streak.Key])
		}
		if got[windowed.Key].Failures != 1 {
			t.Errorf("windowed counter changed by a success: %+v", got[windowed.Key])
		}
		if a := got[known]; !a.LastSuccess.Equal(at(2*time.Minute)) || a.Failures != 0 {
			t.Errorf("known = %+v; want last success at +2m and no failures", a)
		}
	})
	t.Run("concurrent failures all count", func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		const n = 40
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = s.RecordFailures(ctx(t), at(time.Duration(i)*time.Millisecond), []domain.FailureKey{{Key: "u:alice"}, {Key: "i:ip", Window: time.Hour}})
			}()
		}
		wg.Wait()
		for i, err := range errs {
			wantErr(t, fmt.Sprintf("RecordFailures #%d", i), err, nil)
		}
		got, err := s.Attempts(ctx(t), []string{"u:alice", "i:ip"})
		wantErr(t, "Attempts", err, nil)
		if got["u:alice"].Failures != n || got["i:ip"].Failures != n {
			t.Errorf("after %d concurrent failures: %+v; want every one counted", n, got)
		}
	})
	t.Run("prune drops idle counters", func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		wantErr(t, "RecordFailures", s.RecordFailures(ctx(t), at(0), []domain.FailureKey{{Key: "old"}}), nil)
		wantErr(t, "RecordFailures", s.RecordFailures(ctx(t), at(time.Hour), []domain.FailureKey{{Key: "new"}}), nil)
		wantErr(t, "RecordSuccess", s.RecordSuccess(ctx(t), at(time.Hour), nil, "known"), nil)
		wantErr(t, "PruneAttempts", s.PruneAttempts(ctx(t), at(30*time.Minute)), nil)
		got, err := s.Attempts(ctx(t), []string{"old", "new", "known"})
		wantErr(t, "Attempts", err, nil)
		if _, ok := got["old"]; ok || len(got) != 2 {
			t.Errorf("after prune: %v; want new and known only", got)
		}
	})
}
