package usecase

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/adapter/storage/memory"
	"github.com/gatehouse-auth/gatehouse/domain"
)

// retryAfter returns the RetryAfter of a *domain.ThrottledError, 0 for nil,
// and fails t for any other error.
// ctx is the context of the throttle's store calls in these tests.
var ctx = context.Background()

func retryAfter(t *testing.T, err error) time.Duration {
	t.Helper()
	if err == nil {
		return 0
	}
	var te *domain.ThrottledError
	if !errors.As(err, &te) {
		t.Fatalf("Check = %v; want *domain.ThrottledError or nil", err)
	}
	if te.RetryAfter <= 0 {
		t.Fatalf("ThrottledError.RetryAfter = %v; want > 0", te.RetryAfter)
	}
	return te.RetryAfter
}

func TestThrottlePairBackoff(t *testing.T) {
	t.Parallel()
	clk := newClock()
	th := NewThrottle(memory.New(), DefaultThrottlePolicy(), clk.now)
	const user, ip = "alice", "198.51.100.1"

	for i := 1; i < 5; i++ {
		th.Failure(ctx, user, ip)
		if got := retryAfter(t, th.Check(ctx, user, ip)); got != 0 {
			t.Fatalf("Check after %d failures: RetryAfter = %v; want no throttle", i, got)
		}
	}
	// From the 5th consecutive failure on, the wait starts at 1 s and
	// doubles with each further failure, capped at 15 minutes.
	want := time.Second
	for n := 5; n <= 20; n++ {
		th.Failure(ctx, user, ip)
		if got := retryAfter(t, th.Check(ctx, user, ip)); got != want {
			t.Fatalf("Check after %d failures: RetryAfter = %v; want %v", n, got, want)
		}
		// Other pairs are unaffected.
		if got := retryAfter(t, th.Check(ctx, user, "198.51.100.2")); n < 20 && got != 0 {
			t.Fatalf("Check(other IP) after %d failures = %v; want no throttle", n, got)
		}
		if got := retryAfter(t, th.Check(ctx, "bob", ip)); got != 0 {
			t.Fatalf("Check(other user) after %d failures = %v; want no throttle", n, got)
		}
		half := want / 2
		clk.advance(half)
		if got := retryAfter(t, th.Check(ctx, user, ip)); got != want-half {
			t.Fatalf("Check %v into a %v wait: RetryAfter = %v; want %v", half, want, got, want-half)
		}
		clk.advance(want - half)
		if got := retryAfter(t, th.Check(ctx, user, ip)); got != 0 {
			t.Fatalf("Check once the %v wait is over = %v; want no throttle", want, got)
		}
		want = min(2*want, 15*time.Minute)
	}
	if want != 15*time.Minute {
		t.Fatalf("backoff after 20 failures = %v; want the 15m cap", want)
	}
}

func TestThrottleCap(t *testing.T) {
	t.Parallel()
	clk := newClock()
	p := DefaultThrottlePolicy()
	p.MaxDelay = 5 * time.Second
	th := NewThrottle(memory.New(), p, clk.now)
	wants := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 5 * time.Second, 5 * time.Second, 5 * time.Second}
	for range 4 {
		th.Failure(ctx, "alice", "ip")
	}
	for i, want := range wants {
		th.Failure(ctx, "alice", "ip")
		if got := retryAfter(t, th.Check(ctx, "alice", "ip")); got != want {
			t.Errorf("Check after %d failures: RetryAfter = %v; want %v", 5+i, got, want)
		}
		clk.advance(want)
	}
}

func TestThrottleSuccessResetsPair(t *testing.T) {
	t.Parallel()
	clk := newClock()
	th := NewThrottle(memory.New(), DefaultThrottlePolicy(), clk.now)
	for range 5 {
		th.Failure(ctx, "alice", "ip1")
	}
	if retryAfter(t, th.Check(ctx, "alice", "ip1")) == 0 {
		t.Fatal("Check after 5 failures = nil; want throttled")
	}
	clk.advance(time.Second)
	th.Success(ctx, "alice", "ip1")
	// A fresh allowance of 4 failures: the 5th throttles again.
	for i := 1; i <= 4; i++ {
		th.Failure(ctx, "alice", "ip1")
		if got := retryAfter(t, th.Check(ctx, "alice", "ip1")); got != 0 {
			t.Fatalf("Check after success + %d failures = %v; want no throttle", i, got)
		}
	}
	th.Failure(ctx, "alice", "ip1")
	if got := retryAfter(t, th.Check(ctx, "alice", "ip1")); got != time.Second {
		t.Fatalf("Check after success + 5 failures = %v; want 1s", got)
	}
}

func TestThrottlePerUser(t *testing.T) {
	t.Parallel()
	clk := newClock()
	th := NewThrottle(memory.New(), DefaultThrottlePolicy(), clk.now)
	const known, stranger = "192.0.2.10", "203.0.113.99"
	th.Success(ctx, "alice", known)

	// 20 consecutive failures from 20 different addresses: no pair and no
	// address reaches its own limit.
	for i := 1; i <= 20; i++ {
		if got := retryAfter(t, th.Check(ctx, "alice", stranger)); got != 0 {
			t.Fatalf("Check(new IP) after %d user failures = %v; want no throttle", i-1, got)
		}
		th.Failure(ctx, "alice", fmt.Sprintf("10.0.0.%d", i))
		clk.advance(time.Millisecond)
	}
	clk.advance(-time.Millisecond)
	if got := retryAfter(t, th.Check(ctx, "alice", stranger)); got != time.Second {
		t.Errorf("Check(new IP) after 20 user failures: RetryAfter = %v; want 1s", got)
	}
	if got := retryAfter(t, th.Check(ctx, "alice", known)); got != 0 {
		t.Errorf("Check(IP that logged in before) after 20 user failures = %v; want no throttle", got)
	}
	if got := retryAfter(t, th.Check(ctx, "bob", stranger)); got != 0 {
		t.Errorf("Check(other user) = %v; want no throttle", got)
	}
	// A success from the known address resets the user's streak.
	th.Success(ctx, "alice", known)
	if got := retryAfter(t, th.Check(ctx, "alice", stranger)); got != 0 {
		t.Errorf("Check(new IP) after the user's success = %v; want no throttle", got)
	}
}

func TestThrottleKnownIPIsForgotten(t *testing.T) {
	t.Parallel()
	clk := newClock()
	p := DefaultThrottlePolicy()
	th := NewThrottle(memory.New(), p, clk.now)
	const ip = "192.0.2.10"
	th.Success(ctx, "alice", ip)
	// Long after that login the address is no longer a recent success.
	clk.advance(p.KnownIPMemory + time.Hour)
	for i := 1; i <= 20; i++ {
		th.Failure(ctx, "alice", fmt.Sprintf("10.0.0.%d", i))
	}
	if got := retryAfter(t, th.Check(ctx, "alice", ip)); got == 0 {
		t.Errorf("Check(IP whose last success is %v old) after 20 user failures = nil; want throttled (KnownIPMemory = %v)",
			p.KnownIPMemory+time.Hour, p.KnownIPMemory)
	}
}

func TestThrottlePerIP(t *testing.T) {
	t.Parallel()
	clk := newClock()
	p := DefaultThrottlePolicy()
	th := NewThrottle(memory.New(), p, clk.now)
	const ip = "203.0.113.7"
	start := clk.now()
	for i := 1; i <= 50; i++ {
		if got := retryAfter(t, th.Check(ctx, fmt.Sprintf("user%d", i), ip)); got != 0 {
			t.Fatalf("Check after %d IP failures = %v; want no throttle", i-1, got)
		}
		th.Failure(ctx, fmt.Sprintf("user%d", i), ip)
		clk.advance(time.Second)
	}
	// Every username from that address waits until the window ends.
	wantWait := start.Add(p.IPWindow).Sub(clk.now())
	for _, name := range []string{"user1", "someone-new", "alice"} {
		if got := retryAfter(t, th.Check(ctx, name, ip)); got != wantWait {
			t.Errorf("Check(%q, %q) after 50 failures: RetryAfter = %v; want %v", name, ip, got, wantWait)
		}
	}
	if got := retryAfter(t, th.Check(ctx, "someone-new", "203.0.113.8")); got != 0 {
		t.Errorf("Check(other IP) = %v; want no throttle", got)
	}
	clk.advance(wantWait - time.Second)
	if got := retryAfter(t, th.Check(ctx, "someone-new", ip)); got != time.Second {
		t.Errorf("Check 1s before the window ends: RetryAfter = %v; want 1s", got)
	}
	clk.advance(time.Second)
	if got := retryAfter(t, th.Check(ctx, "someone-new", ip)); got != 0 {
		t.Errorf("Check after the window = %v; want no throttle", got)
	}
}

func TestThrottleConcurrent(t *testing.T) {
	t.Parallel()
	clk := newClock()
	th := NewThrottle(memory.New(), DefaultThrottlePolicy(), clk.now)
	// Enough distinct addresses to make Failure prune its maps.
	throttled := make(chan int)
	for g := range 8 {
		go func() {
			n := 0
			for i := range 200 {
				ip := fmt.Sprintf("10.%d.%d.1", g, i)
				if th.Check(ctx, "alice", ip) != nil {
					n++
				}
				th.Failure(ctx, "alice", ip)
				if i%10 == 0 {
					th.Success(ctx, "bob", ip)
				}
				clk.advance(time.Millisecond)
			}
			throttled <- n
		}()
	}
	total := 0
	for range 8 {
		total += <-throttled
	}
	if total == 0 {
		t.Errorf("no attempt of 1600 consecutive user failures from new IPs was throttled")
	}
}
