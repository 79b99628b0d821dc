package usecase

import (
	"sync"
	"time"

	"github.com/gatehouse-auth/gatehouse/domain"
)

// ThrottlePolicy holds the brute-force limits (DESIGN.md "Credentials").
type ThrottlePolicy struct {
	PairFailures  int           // consecutive failures per (username, IP) before backoff
	UserFailures  int           // consecutive failures per username before strangers are throttled
	IPFailures    int           // failures per IP within IPWindow (credential stuffing)
	IPWindow      time.Duration // window for IPFailures
	BaseDelay     time.Duration // first backoff; doubles with each further failure
	MaxDelay      time.Duration // backoff cap
	KnownIPMemory time.Duration // how long an address that logged in stays exempt
}

// DefaultThrottlePolicy returns DESIGN.md's defaults.
func DefaultThrottlePolicy() ThrottlePolicy {
	return ThrottlePolicy{
		PairFailures:  5,
		UserFailures:  20,
		IPFailures:    50,
		IPWindow:      15 * time.Minute,
		BaseDelay:     time.Second,
		MaxDelay:      15 * time.Minute,
		KnownIPMemory: 30 * 24 * time.Hour,
	}
}

// Throttle counts login failures in memory and refuses attempts that exceed
// the policy, before any password is hashed.
type Throttle struct {
	policy ThrottlePolicy
	now    func() time.Time

	mu    sync.Mutex
	pairs map[[2]string]*streak
	users map[string]*userStreak
	ips   map[string]*window
	// pruned is when prune last ran.
	pruned time.Time
}

type streak struct {
	failures int
	last     time.Time
}

type userStreak struct {
	streak
	known map[string]time.Time // IP -> last successful login
}

type window struct {
	start    time.Time
	failures int
}

// NewThrottle returns an empty Throttle.
func NewThrottle(policy ThrottlePolicy, now func() time.Time) *Throttle {
	return &Throttle{
		policy: policy,
		now:    now,
		pairs:  make(map[[2]string]*streak),
		users:  make(map[string]*userStreak),
		ips:    make(map[string]*window),
	}
}

// Check returns a *domain.ThrottledError if an attempt for username from ip
// must wait.
func (t *Throttle) Check(username, ip string) error {
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	var wait time.Duration
	if s := t.pairs[[2]string{username, ip}]; s != nil {
		wait = max(wait, t.backoff(s, t.policy.PairFailures, now))
	}
	if u := t.users[username]; u != nil {
		if at, known := u.known[ip]; !known || now.Sub(at) > t.policy.KnownIPMemory {
			wait = max(wait, t.backoff(&u.streak, t.policy.UserFailures, now))
		}
	}
	if w := t.ips[ip]; w != nil && now.Sub(w.start) < t.policy.IPWindow && w.failures >= t.policy.IPFailures {
		wait = max(wait, w.start.Add(t.policy.IPWindow).Sub(now))
	}
	if wait > 0 {
		return &domain.ThrottledError{RetryAfter: wait}
	}
	return nil
}

// backoff is how long to wait after s, given the free allowance.
func (t *Throttle) backoff(s *streak, allowance int, now time.Time) time.Duration {
	if allowance <= 0 || s.failures < allowance {
		return 0
	}
	delay := t.policy.BaseDelay
	for i := allowance; i < s.failures && delay < t.policy.MaxDelay; i++ {
		delay *= 2
	}
	delay = min(delay, t.policy.MaxDelay)
	return s.last.Add(delay).Sub(now)
}

// Failure records a failed attempt.
func (t *Throttle) Failure(username, ip string) {
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	t.prune(now)
	key := [2]string{username, ip}
	s := t.pairs[key]
	if s == nil {
		s = &streak{}
		t.pairs[key] = s
	}
	s.failures++
	s.last = now
	u := t.users[username]
	if u == nil {
		u = &userStreak{known: map[string]time.Time{}}
		t.users[username] = u
	}
	u.failures++
	u.last = now
	w := t.ips[ip]
	if w == nil || now.Sub(w.start) >= t.policy.IPWindow {
		w = &window{start: now}
		t.ips[ip] = w
	}
	w.failures++
}

// Success resets the counters of the (username, ip) pair and the user's
// streak, and remembers ip as an address this user logs in from.
func (t *Throttle) Success(username, ip string) {
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.pairs, [2]string{username, ip})
	u := t.users[username]
	if u == nil {
		u = &userStreak{known: map[string]time.Time{}}
		t.users[username] = u
	}
	u.failures = 0
	u.known[ip] = now
}

// prune drops state that no longer affects any decision, so memory stays
// bounded by the attempts of the last MaxDelay/IPWindow. Once the maps are
// large it runs at most once a minute.
func (t *Throttle) prune(now time.Time) {
	horizon := max(t.policy.MaxDelay, t.policy.IPWindow)
	if len(t.pairs)+len(t.ips) < 1024 || now.Sub(t.pruned) < time.Minute {
		return
	}
	t.pruned = now
	for k, s := range t.pairs {
		if now.Sub(s.last) > horizon {
			delete(t.pairs, k)
		}
	}
	for k, w := range t.ips {
		if now.Sub(w.start) > t.policy.IPWindow {
			delete(t.ips, k)
		}
	}
	for k, u := range t.users {
		for ip, at := range u.known {
			if now.Sub(at) > t.policy.KnownIPMemory {
				delete(u.known, ip)
			}
		}
		if now.Sub(u.last) > horizon && len(u.known) == 0 {
			delete(t.users, k)
		}
	}
}
