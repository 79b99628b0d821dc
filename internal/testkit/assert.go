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
// revocation"). Polling starts at one millisecond and backs off to 25 ms, so
// a quick condition is seen quickly and a slow one (an HTTP round trip)
// is not hammered.
func Eventually(tb testing.TB, what string, within time.Duration, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(within)
	for pause := time.Millisecond; !cond(); pause = min(2*pause, 25*time.Millisecond) {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out after %v waiting until %s", within, what)
		}
		time.Sleep(pause)
	}
}
