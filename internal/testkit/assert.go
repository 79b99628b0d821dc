package testkit

import (
	"errors"
	"testing"
	"time"
)

// WantErr fails tb at once unless errors.Is(err, want); a nil want means the
// call must succeed. call names the call in the message, as in
// `Login("alice") = <err>; want <want>`.
func WantErr(tb testing.TB, call string, err, want error) {
	tb.Helper()
	switch {
	case want == nil && err != nil:
		tb.Fatalf("%s = %v; want nil", call, err)
	case want != nil && !errors.Is(err, want):
		tb.Fatalf("%s = %v; want %v", call, err, want)
	}
}

// Eventually polls cond until it holds, and fails tb at once if it still
// does not after within. what says what was awaited ("the poller sees the
// revocation").
func Eventually(tb testing.TB, what string, within time.Duration, cond func() bool) {
	tb.Helper()
	errNot := errors.New("not yet")
	err := poll(within, func() error {
		if cond() {
			return nil
		}
		return errNot
	})
	if err != nil {
		tb.Fatalf("timed out after %v waiting until %s", within, what)
	}
}

// Await polls check until it returns nil, and fails tb at once with
// check's last error if it still has not after within: the error says
// what was awaited and what was seen instead ("GET /readyz = 503 ...;
// want 200"). check runs on tb's goroutine, so it may end the test itself
// when waiting is pointless (the awaited process exited).
func Await(tb testing.TB, within time.Duration, check func() error) {
	tb.Helper()
	if err := poll(within, check); err != nil {
		tb.Fatalf("timed out after %v: %v", within, err)
	}
}

// poll is the one polling loop: it calls check until it returns nil or
// within has passed, and returns check's last error. The pause starts at
// one millisecond and backs off to 25 ms, so a quick condition is seen
// quickly and a slow one (an HTTP round trip) is not hammered.
func poll(within time.Duration, check func() error) error {
	deadline := time.Now().Add(within)
	for pause := time.Millisecond; ; pause = min(2*pause, 25*time.Millisecond) {
		err := check()
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(pause)
	}
}
