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
	// Attempts returns the counters of keys; missing keys are absent.
	Attempts(ctx context.Context, keys []string) (map[string]Attempt, error)
	// RecordFailures atomically increments each counter at time at.
	RecordFailures(ctx context.Context, at time.Time, keys []FailureKey) error
	// RecordSuccess deletes the reset counters and stamps known's
	// LastSuccess with at.
	RecordSuccess(ctx context.Context, at time.Time, reset []string, known string) error
	// PruneAttempts deletes counters with no failure or success since before.
	PruneAttempts(ctx context.Context, before time.Time) error
}
