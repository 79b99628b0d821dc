package domain

import (
	"context"
	"time"
)

// Attempt is the login history behind one throttle key: a failure counter
// and, for (user, address) keys, when that address last logged in.
type Attempt struct {
	Failures    int
	LastFailure time.Time
	// WindowStart is when a windowed counter (per address) began counting.
	WindowStart time.Time
	LastSuccess time.Time
}

// FailureKey names one counter to increment. A positive Window makes it a
// windowed counter: a failure after WindowStart+Window restarts it at 1.
type FailureKey struct {
	Key    string
	Window time.Duration
}

// AttemptStore keeps login throttling counters where every replica sees
// them, so failures count across replicas.
type AttemptStore interface {
	// Reserve judges and counts one attempt as a single atomic step: it
	// reads the counters of read (missing keys are absent from the map)
	// and passes them to admit; when admit returns nil it increments every
	// counter of count at time at, otherwise it counts nothing and returns
	// admit's error. Reservations that share a counted key are serialised,
	// so N simultaneous attempts are judged like N sequential ones. admit
	// runs inside the store's critical section and must not call the store.
	Reserve(ctx context.Context, at time.Time, read []string, count []FailureKey, admit func(map[string]Attempt) error) error
	// RecordSuccess deletes the reset counters, takes back one count of
	// each release counter (never below zero) and stamps known's
	// LastSuccess with at.
	RecordSuccess(ctx context.Context, at time.Time, reset, release []string, known string) error
	// PruneAttempts deletes counters with no failure or success since before.
	PruneAttempts(ctx context.Context, before time.Time) error
}
