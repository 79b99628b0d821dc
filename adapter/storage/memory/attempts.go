package memory

import (
	"context"
	"time"

	"github.com/gatehouse-auth/gatehouse/domain"
)

// Reserve reads the counters of read, asks admit, and increments the
// counters of count, all under the lock. Windowed counters whose window has
// passed restart.
func (s *Store) Reserve(ctx context.Context, at time.Time, read []string, count []domain.FailureKey, admit func(map[string]domain.Attempt) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	got := make(map[string]domain.Attempt, len(read))
	for _, k := range read {
		if a, ok := s.attempts[k]; ok {
			got[k] = a
		}
	}
	if err := admit(got); err != nil {
		return err
	}
	for _, k := range count {
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

// RecordSuccess deletes the reset counters, takes one count back from each
// release counter and stamps known.
func (s *Store) RecordSuccess(ctx context.Context, at time.Time, reset, release []string, known string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, k := range reset {
		delete(s.attempts, k)
	}
	for _, k := range release {
		if a, ok := s.attempts[k]; ok && a.Failures > 0 {
			a.Failures--
			s.attempts[k] = a
		}
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
