package gormstore

import (
	"context"
	"time"

	"gorm.io/gorm"

	"github.com/gatehouse-auth/gatehouse/domain"
)

// attemptRow is one login throttling counter; times are Unix microseconds,
// 0 meaning never.
type attemptRow struct {
	AttemptKey  string `gorm:"column:attempt_key;primaryKey"`
	Failures    int    `gorm:"column:failures"`
	LastFailure int64  `gorm:"column:last_failure"`
	WindowStart int64  `gorm:"column:window_start"`
	LastSuccess int64  `gorm:"column:last_success"`
}

func (attemptRow) TableName() string { return "login_attempts" }

func micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

func fromMicros(us int64) time.Time {
	if us == 0 {
		return time.Time{}
	}
	return time.UnixMicro(us).UTC()
}

// Attempts returns the counters of keys that exist.
func (s *Store) Attempts(ctx context.Context, keys []string) (map[string]domain.Attempt, error) {
	var rows []attemptRow
	if err := s.conn(ctx).Where("attempt_key IN ?", keys).Find(&rows).Error; err != nil {
		return nil, translate(err, "read login attempts", domain.ErrConflict)
	}
	out := make(map[string]domain.Attempt, len(rows))
	for _, r := range rows {
		out[r.AttemptKey] = domain.Attempt{
			Failures:    r.Failures,
			LastFailure: fromMicros(r.LastFailure),
			WindowStart: fromMicros(r.WindowStart),
			LastSuccess: fromMicros(r.LastSuccess),
		}
	}
	return out, nil
}

// recordFailure is one atomic upsert: concurrent failures on several
// replicas all count. A windowed counter whose window has passed restarts.
const recordFailure = `
INSERT INTO login_attempts (attempt_key, failures, last_failure, window_start, last_success)
VALUES (?, 1, ?, ?, 0)
ON CONFLICT (attempt_key) DO UPDATE SET
    failures = CASE WHEN CAST(? AS BIGINT) > 0 AND login_attempts.window_start + CAST(? AS BIGINT) <= excluded.last_failure
                    THEN 1 ELSE login_attempts.failures + 1 END,
    window_start = CASE WHEN CAST(? AS BIGINT) > 0 AND login_attempts.window_start + CAST(? AS BIGINT) <= excluded.last_failure
                    THEN excluded.window_start ELSE login_attempts.window_start END,
    last_failure = excluded.last_failure`

// RecordFailures increments each counter in one transaction.
func (s *Store) RecordFailures(ctx context.Context, at time.Time, keys []domain.FailureKey) error {
	now := micros(at)
	return s.transaction(ctx, func(tx *gorm.DB) error {
		for _, k := range keys {
			w := k.Window.Microseconds()
			if err := tx.Exec(recordFailure, k.Key, now, now, w, w, w, w).Error; err != nil {
				return translate(err, "record login failure", domain.ErrConflict)
			}
		}
		return nil
	})
}

// RecordSuccess deletes the reset counters and stamps known.
func (s *Store) RecordSuccess(ctx context.Context, at time.Time, reset []string, known string) error {
	return s.transaction(ctx, func(tx *gorm.DB) error {
		if len(reset) > 0 {
			if err := tx.Where("attempt_key IN ?", reset).Delete(&attemptRow{}).Error; err != nil {
				return translate(err, "reset login attempts", domain.ErrConflict)
			}
		}
		if known == "" {
			return nil
		}
		err := tx.Exec(`INSERT INTO login_attempts (attempt_key, failures, last_failure, window_start, last_success)
VALUES (?, 0, 0, 0, ?)
ON CONFLICT (attempt_key) DO UPDATE SET last_success = excluded.last_success`, known, micros(at)).Error
		return translate(err, "record login success", domain.ErrConflict)
	})
}

// PruneAttempts deletes counters idle since before.
func (s *Store) PruneAttempts(ctx context.Context, before time.Time) error {
	b := micros(before)
	err := s.conn(ctx).Where("last_failure < ? AND last_success < ?", b, b).Delete(&attemptRow{}).Error
	return translate(err, "prune login attempts", domain.ErrConflict)
}
