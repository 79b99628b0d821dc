package gormstore

import (
	"context"
	"slices"
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

// recordFailure counts one attempt with an atomic upsert: concurrent
// attempts on several replicas all count. A windowed counter whose window
// has passed restarts.
const recordFailure = `
INSERT INTO login_attempts (attempt_key, failures, last_failure, window_start, last_success)
VALUES (?, 1, ?, ?, 0)
ON CONFLICT (attempt_key) DO UPDATE SET
    failures = CASE WHEN CAST(? AS BIGINT) > 0 AND login_attempts.window_start + CAST(? AS BIGINT) <= excluded.last_failure
                    THEN 1 ELSE login_attempts.failures + 1 END,
    window_start = CASE WHEN CAST(? AS BIGINT) > 0 AND login_attempts.window_start + CAST(? AS BIGINT) <= excluded.last_failure
                    THEN excluded.window_start ELSE login_attempts.window_start END,
    last_failure = excluded.last_failure`

// lockAttempt makes sure a counter row exists and locks it until the end of
// the transaction (an upsert takes the row lock on Postgres; SQLite runs
// one write transaction at a time anyway).
const lockAttempt = `
INSERT INTO login_attempts (attempt_key) VALUES (?)
ON CONFLICT (attempt_key) DO UPDATE SET failures = login_attempts.failures`

// Reserve locks the counted rows in key order (so two reservations never
// wait on each other in a cycle), reads the counters of read, asks admit,
// and increments the counted rows, in one transaction. Rows that were only
// created as locks read as absent.
func (s *Store) Reserve(ctx context.Context, at time.Time, read []string, count []domain.FailureKey, admit func(map[string]domain.Attempt) error) error {
	now := micros(at)
	locks := make([]string, 0, len(count))
	for _, k := range count {
		locks = append(locks, k.Key)
	}
	var refused error
	err := s.transaction(ctx, func(tx *gorm.DB) error {
		if err := lockAttempts(tx, locks); err != nil {
			return err
		}
		var rows []attemptRow
		if err := tx.Where("attempt_key IN ?", read).Find(&rows).Error; err != nil {
			return translate(err, "read login attempts", domain.ErrConflict)
		}
		got := make(map[string]domain.Attempt, len(rows))
		for _, r := range rows {
			if r.Failures == 0 && r.LastFailure == 0 && r.LastSuccess == 0 {
				continue
			}
			got[r.AttemptKey] = domain.Attempt{
				Failures:    r.Failures,
				LastFailure: fromMicros(r.LastFailure),
				WindowStart: fromMicros(r.WindowStart),
				LastSuccess: fromMicros(r.LastSuccess),
			}
		}
		if refused = admit(got); refused != nil {
			return nil
		}
		for _, k := range count {
			w := k.Window.Microseconds()
			if err := tx.Exec(recordFailure, k.Key, now, now, w, w, w, w).Error; err != nil {
				return translate(err, "count login attempt", domain.ErrConflict)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return refused
}

// lockAttempts locks the counter rows of keys in key order, creating
// those that are missing: every transaction on the counters takes its
// locks this way, so two of them never wait on each other in a cycle
// (Postgres would abort one as a deadlock).
func lockAttempts(tx *gorm.DB, keys []string) error {
	keys = slices.Clone(keys)
	slices.Sort(keys)
	for _, k := range slices.Compact(keys) {
		if err := tx.Exec(lockAttempt, k).Error; err != nil {
			return translate(err, "lock login attempts", domain.ErrConflict)
		}
	}
	return nil
}

// RecordSuccess deletes the reset counters, takes one count back from each
// release counter and stamps known, in one transaction that first locks
// them all in key order, as Reserve does.
func (s *Store) RecordSuccess(ctx context.Context, at time.Time, reset, release []string, known string) error {
	locks := slices.Concat(reset, release)
	if known != "" {
		locks = append(locks, known)
	}
	return s.transaction(ctx, func(tx *gorm.DB) error {
		if err := lockAttempts(tx, locks); err != nil {
			return err
		}
		if len(reset) > 0 {
			if err := tx.Where("attempt_key IN ?", reset).Delete(&attemptRow{}).Error; err != nil {
				return translate(err, "reset login attempts", domain.ErrConflict)
			}
		}
		if len(release) > 0 {
			err := tx.Exec("UPDATE login_attempts SET failures = failures - 1 WHERE attempt_key IN ? AND failures > 0", release).Error
			if err != nil {
				return translate(err, "release login attempts", domain.ErrConflict)
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
