package usecase

import (
	"context"
	"github.com/gatehouse-auth/gatehouse/internal/testkit"
	"sync/atomic"
	"testing"
	"time"
)

func TestSchedulerRunsJobsAndWaitsForThem(t *testing.T) {
	t.Parallel()
	var fast, slow, never atomic.Int32
	release := make(chan struct{})
	var slowDone atomic.Bool
	s := NewScheduler(
		Job{Name: "fast", Every: time.Millisecond, Run: func(context.Context) { fast.Add(1) }},
		// slow runs at start (not only after its first interval) and is
		// still running when the context ends.
		Job{Name: "slow", Every: time.Hour, Run: func(context.Context) {
			slow.Add(1)
			<-release
			slowDone.Store(true)
		}},
		Job{Name: "never", Run: func(context.Context) { never.Add(1) }},
	)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { defer close(done); s.Run(ctx) }()

	testkit.Eventually(t, "fast ran three times and slow started", 10*time.Second, func() bool { return fast.Load() >= 3 && slow.Load() == 1 })
	cancel()
	select {
	case <-done:
		t.Fatal("Run returned while a job was still running; want it to wait")
	case <-time.After(20 * time.Millisecond):
	}
	close(release)
	<-done
	if !slowDone.Load() || slow.Load() != 1 || never.Load() != 0 {
		t.Errorf("after Run: slow finished %v, ran %d times, never ran %d times; want true, 1, 0", slowDone.Load(), slow.Load(), never.Load())
	}
	n := fast.Load()
	time.Sleep(5 * time.Millisecond)
	if fast.Load() != n {
		t.Errorf("fast ran after Run returned")
	}
}
