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

// check reports whether an attempt for user from ip would be throttled
// now, counting nothing: Reserve's decision without its count.
func check(th *Throttle, user, ip string) error {
	k := keysFor(user, ip)
	now := th.now()
	return th.store.Reserve(ctx, now, []string{k.pair, k.user, k.ip, k.known}, nil, func(got map[string]domain.Attempt) error {
		if wait := th.wait(got, k, now); wait > 0 {
			return &domain.ThrottledError{RetryAfter: wait}
		}
		return nil
	})
}

// failure reserves an attempt that then fails (it stays counted), or fails
// t if the attempt is refused.
func failure(t *testing.T, th *Throttle, user, ip string) {
	t.Helper()
	if err := th.Reserve(ctx, user, ip); err != nil {
		t.Fatalf("Reserve(%q, %q) = %v; want the attempt admitted", user, ip, err)
	}
}

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
	th := NewThrottle(memory.New(), DefaultThrottlePolicy(), clk.Now)
	const user, ip = "alice", "198.51.100.1"

	for i := 1; i < 5; i++ {
		failure(t, th, user, ip)
		if got := retryAfter(t, check(th, user, ip)); got != 0 {
			t.Fatalf("Check after %d failures: RetryAfter = %v; want no throttle", i, got)
		}
	}
	// From the 5th consecutive failure on, the wait starts at 1 s and
	// doubles with each further failure, capped at 15 minutes.
	want := time.Second
	for n := 5; n <= 20; n++ {
		failure(t, th, user, ip)
		if got := retryAfter(t, check(th, user, ip)); got != want {
			t.Fatalf("Check after %d failures: RetryAfter = %v; want %v", n, got, want)
		}
		// Other pairs are unaffected.
		if got := retryAfter(t, check(th, user, "198.51.100.2")); n < 20 && got != 0 {
			t.Fatalf("Check(other IP) after %d failures = %v; want no throttle", n, got)
		}
		if got := retryAfter(t, check(th, "bob", ip)); got != 0 {
			t.Fatalf("Check(other user) after %d failures = %v; want no throttle", n, got)
		}
		half := want / 2
		clk.Advance(half)
		if got := retryAfter(t, check(th, user, ip)); got != want-half {
			t.Fatalf("Check %v into a %v wait: RetryAfter = %v; want %v", half, want, got, want-half)
		}
		clk.Advance(want - half)
		if got := retryAfter(t, check(th, user, ip)); got != 0 {
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
	th := NewThrottle(memory.New(), p, clk.Now)
	wants := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 5 * time.Second, 5 * time.Second, 5 * time.Second}
	for range 4 {
		failure(t, th, "alice", "ip")
	}
	for i, want := range wants {
		failure(t, th, "alice", "ip")
		if got := retryAfter(t, check(th, "alice", "ip")); got != want {
			t.Errorf("Check after %d failures: RetryAfter = %v; want %v", 5+i, got, want)
		}
		clk.Advance(want)
	}
}

func TestThrottleSuccessResetsPair(t *testing.T) {
	t.Parallel()
	clk := newClock()
	th := NewThrottle(memory.New(), DefaultThrottlePolicy(), clk.Now)
	for range 5 {
		failure(t, th, "alice", "ip1")
	}
	if retryAfter(t, check(th, "alice", "ip1")) == 0 {
		t.Fatal("Check after 5 failures = nil; want throttled")
	}
	clk.Advance(time.Second)
	th.Success(ctx, "alice", "ip1")
	// A fresh allowance of 4 failures: the 5th throttles again.
	for i := 1; i <= 4; i++ {
		failure(t, th, "alice", "ip1")
		if got := retryAfter(t, check(th, "alice", "ip1")); got != 0 {
			t.Fatalf("Check after success + %d failures = %v; want no throttle", i, got)
		}
	}
	failure(t, th, "alice", "ip1")
	if got := retryAfter(t, check(th, "alice", "ip1")); got != time.Second {
		t.Fatalf("Check after success + 5 failures = %v; want 1s", got)
	}
}

func TestThrottlePerUser(t *testing.T) {
	t.Parallel()
	clk := newClock()
	th := NewThrottle(memory.New(), DefaultThrottlePolicy(), clk.Now)
	const known, stranger = "192.0.2.10", "203.0.113.99"
	th.Success(ctx, "alice", known)

	// 20 consecutive failures from 20 different addresses: no pair and no
	// address reaches its own limit.
	for i := 1; i <= 20; i++ {
		if got := retryAfter(t, check(th, "alice", stranger)); got != 0 {
			t.Fatalf("Check(new IP) after %d user failures = %v; want no throttle", i-1, got)
		}
		failure(t, th, "alice", fmt.Sprintf("10.0.0.%d", i))
		clk.Advance(time.Millisecond)
	}
	clk.Advance(-time.Millisecond)
	if got := retryAfter(t, check(th, "alice", stranger)); got != time.Second {
		t.Errorf("Check(new IP) after 20 user failures: RetryAfter = %v; want 1s", got)
	}
	if got := retryAfter(t, check(th, "alice", known)); got != 0 {
		t.Errorf("Check(IP that logged in before) after 20 user failures = %v; want no throttle", got)
	}
	if got := retryAfter(t, check(th, "bob", stranger)); got != 0 {
		t.Errorf("Check(other user) = %v; want no throttle", got)
	}
	// A success from the known address resets the user's streak.
	th.Success(ctx, "alice", known)
	if got := retryAfter(t, check(th, "alice", stranger)); got != 0 {
		t.Errorf("Check(new IP) after the user's success = %v; want no throttle", got)
	}
}

func TestThrottleKnownIPIsForgotten(t *testing.T) {
	t.Parallel()
	clk := newClock()
	p := DefaultThrottlePolicy()
	th := NewThrottle(memory.New(), p, clk.Now)
	const ip = "192.0.2.10"
	th.Success(ctx, "alice", ip)
	// Long after that login the address is no longer a recent success.
	clk.Advance(p.KnownIPMemory + time.Hour)
	for i := 1; i <= 20; i++ {
		failure(t, th, "alice", fmt.Sprintf("10.0.0.%d", i))
	}
	if got := retryAfter(t, check(th, "alice", ip)); got == 0 {
		t.Errorf("Check(IP whose last success is %v old) after 20 user failures = nil; want throttled (KnownIPMemory = %v)",
			p.KnownIPMemory+time.Hour, p.KnownIPMemory)
	}
}

func TestThrottlePerIP(t *testing.T) {
	t.Parallel()
	clk := newClock()
	p := DefaultThrottlePolicy()
	th := NewThrottle(memory.New(), p, clk.Now)
	const ip = "203.0.113.7"
	start := clk.Now()
	for i := 1; i <= 50; i++ {
		if got := retryAfter(t, check(th, fmt.Sprintf("user%d", i), ip)); got != 0 {
			t.Fatalf("Check after %d IP failures = %v; want no throttle", i-1, got)
		}
		failure(t, th, fmt.Sprintf("user%d", i), ip)
		clk.Advance(time.Second)
	}
	// Every username from that address waits until the window ends.
	wantWait := start.Add(p.IPWindow).Sub(clk.Now())
	for _, name := range []string{"user1", "someone-new", "alice"} {
		if got := retryAfter(t, check(th, name, ip)); got != wantWait {
			t.Errorf("Check(%q, %q) after 50 failures: RetryAfter = %v; want %v", name, ip, got, wantWait)
		}
	}
	if got := retryAfter(t, check(th, "someone-new", "203.0.113.8")); got != 0 {
		t.Errorf("Check(other IP) = %v; want no throttle", got)
	}
	clk.Advance(wantWait - time.Second)
	if got := retryAfter(t, check(th, "someone-new", ip)); got != time.Second {
		t.Errorf("Check 1s before the window ends: RetryAfter = %v; want 1s", got)
	}
	clk.Advance(time.Second)
	if got := retryAfter(t, check(th, "someone-new", ip)); got != 0 {
		t.Errorf("Check after the window = %v; want no throttle", got)
	}
}

func TestThrottleConcurrent(t *testing.T) {
	t.Parallel()
	clk := newClock()
	th := NewThrottle(memory.New(), DefaultThrottlePolicy(), clk.Now)
	// Many goroutines, many addresses, one user: the user's streak must
	// throttle strangers.
	throttled := make(chan int)
	for g := range 8 {
		go func() {
			n := 0
			for i := range 200 {
				ip := fmt.Sprintf("10.%d.%d.1", g, i)
				if th.Reserve(ctx, "alice", ip) != nil {
					n++
				}
				if i%10 == 0 {
					th.Success(ctx, "bob", ip)
				}
				clk.Advance(time.Millisecond)
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

func TestThrottleParallelGuesses(t *testing.T) {
	// 30 simultaneous wrong passwords for one user from one address meet
	// the pair limit of 30 sequential ones: 5 are admitted, 25 wait.
	t.Parallel()
	clk := newClock()
	th := NewThrottle(memory.New(), DefaultThrottlePolicy(), clk.Now)
	const n = 30
	errs := make(chan error, n)
	start := make(chan struct{})
	for range n {
		go func() {
			<-start
			errs <- th.Reserve(ctx, "alice", "198.51.100.1")
		}()
	}
	close(start)
	admitted := 0
	for range n {
		if retryAfter(t, <-errs) == 0 {
			admitted++
		}
	}
	if admitted != 5 {
		t.Errorf("%d parallel guesses: %d admitted; want 5 (the pair allowance)", n, admitted)
	}
}

func TestThrottleSuccessGivesBackTheAddressCount(t *testing.T) {
	// Every attempt counts against its address before its hash; a right
	// password takes that back, so an office behind one address can log in
	// more than IPFailures times.
	t.Parallel()
	clk := newClock()
	p := DefaultThrottlePolicy()
	th := NewThrottle(memory.New(), p, clk.Now)
	for i := range p.IPFailures + 10 {
		name := fmt.Sprintf("user%d", i)
		if err := th.Reserve(ctx, name, "192.0.2.1"); err != nil {
			t.Fatalf("Reserve #%d = %v; want admitted", i, err)
		}
		if err := th.Success(ctx, name, "192.0.2.1"); err != nil {
			t.Fatalf("Success #%d = %v", i, err)
		}
	}
}

func TestThrottleIPv6CountsPer64(t *testing.T) {
	t.Parallel()
	clk := newClock()
	p := DefaultThrottlePolicy()
	th := NewThrottle(memory.New(), p, clk.Now)
	// Moving inside one /64 does not reset any per-address counter.
	for i := 1; i <= p.PairFailures; i++ {
		failure(t, th, "alice", fmt.Sprintf("2001:db8:1:2::%x", i))
	}
	if got := retryAfter(t, check(th, "alice", "2001:db8:1:2:ffff:ffff:ffff:ffff")); got != p.BaseDelay {
		t.Errorf("pair check from the same /64 after %d failures = %v; want %v", p.PairFailures, got, p.BaseDelay)
	}
	if got := retryAfter(t, check(th, "alice", "2001:db8:1:3::1")); got != 0 {
		t.Errorf("pair check from the next /64 = %v; want no throttle", got)
	}
	for i := range p.IPFailures - p.PairFailures {
		failure(t, th, fmt.Sprintf("user%d", i), fmt.Sprintf("2001:db8:1:2:%x::1", i+1))
	}
	if got := retryAfter(t, check(th, "someone", "2001:db8:1:2::beef")); got == 0 {
		t.Errorf("address check from the same /64 after %d failures: no throttle; want the window", p.IPFailures)
	}
	// IPv4 and IPv4-mapped IPv6 are one address.
	for i := 1; i <= p.PairFailures; i++ {
		failure(t, th, "bob", "192.0.2.7")
	}
	if got := retryAfter(t, check(th, "bob", "::ffff:192.0.2.7")); got == 0 {
		t.Errorf("IPv4-mapped address escaped the IPv4 pair counter")
	}
	if got := retryAfter(t, check(th, "bob", "192.0.2.8")); got != 0 {
		t.Errorf("IPv4 neighbour = %v; want no throttle (IPv4 counts per address)", got)
	}
}

func TestAddressKey(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ in, want string }{
		{"192.0.2.1", "192.0.2.1"},
		{"::ffff:192.0.2.1", "192.0.2.1"},
		{"2001:db8::1", "2001:db8::/64"},
		{"2001:db8:0:0:ffff::1", "2001:db8::/64"},
		{"fe80::1%eth0", "fe80::/64"},
		{"not an address", "not an address"},
		{"", ""},
	} {
		if got := addressKey(tt.in); got != tt.want {
			t.Errorf("addressKey(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
}

func TestThrottleSignups(t *testing.T) {
	t.Parallel()
	clk := newClock()
	p := DefaultThrottlePolicy()
	th := NewThrottle(memory.New(), p, clk.Now)
	start := clk.Now()
	for i := range p.SignupLimit {
		if err := th.ReserveSignup(ctx, fmt.Sprintf("2001:db8::%x", i+1)); err != nil {
			t.Fatalf("sign-up #%d from one /64 = %v; want admitted", i+1, err)
		}
		clk.Advance(time.Second)
	}
	want := start.Add(p.SignupWindow).Sub(clk.Now())
	if got := retryAfter(t, th.ReserveSignup(ctx, "2001:db8::ffff")); got != want {
		t.Errorf("sign-up #%d: RetryAfter = %v; want %v (the rest of the window)", p.SignupLimit+1, got, want)
	}
	if err := th.ReserveSignup(ctx, "2001:db8:0:1::1"); err != nil {
		t.Errorf("sign-up from another /64 = %v; want admitted", err)
	}
	clk.Advance(want)
	if err := th.ReserveSignup(ctx, "2001:db8::1"); err != nil {
		t.Errorf("sign-up after the window = %v; want admitted", err)
	}
	var none *Throttle
	if err := none.ReserveSignup(ctx, "2001:db8::1"); err != nil {
		t.Errorf("nil Throttle = %v; want everything admitted", err)
	}
}
