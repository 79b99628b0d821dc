package memory

import (
	"context"
	"time"

	"github.com/gatehouse-auth/gatehouse/domain"
)

// Attempts returns the counters of keys that exist.
func (s *Store) Attempts(ctx context.Context, keys []string) (map[string]domain.Attempt, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]domain.Attempt, len(keys))
	for _, k := range keys {
		if a, ok := s.attempts[k]; ok {
			out[k] = a
		}
	}
	return out, nil
}

// RecordFailures increments each counter, restarting windowed ones whose
// window has passed.
func (s *Store) RecordFailures(ctx context.Context, at time.Time, keys []domain.FailureKey) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, k := range keys {
		a, ok := s.attempts[k.Key]
		if !ok || (k.Window > 0 && !at.Before(a.WindowStart.Add(k.Window))) {
			a.Failures = 0
			a.WindowStart = at
		}
		a.Failures++
		a.LastFailure = at
		s.attempts[k.Key] = a
	}
	return nil
}

// RecordSuccess deletes the reset counters and stamps known.
func (s *Store) RecordSuccess(ctx context.Context, at time.Time, reset []string, known string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, k := range reset {
		delete(s.attempts, k)
	}
	if known != "" {
		a := s.attempts[known]
		a.LastSuccess = at
		s.attempts[known] = a
	}
	return nil
}

// PruneAttempts deletes counters idle since before.
func (s *Store) PruneAttempts(ctx context.Context, before time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, a := range s.attempts {
		if a.LastFailure.Before(before) && a.LastSuccess.Before(before) {
			delete(s.attempts, k)
		}
	}
	return nil
}
