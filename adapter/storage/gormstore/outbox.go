package gormstore

import (
	"context"
	"fmt"
	"strings"

	"github.com/gatehouse-auth/gatehouse/domain"
	"gorm.io/gorm"
)

// claimDue marks the due deliveries, oldest next_attempt_at first
// (deliveries_due_idx), with the caller's token and lease, and returns their
// ids (arguments: token, lease end, now twice, limit). Being one UPDATE it is
// atomic on SQLite, which runs one writer at a time; on Postgres, %s is
// FOR UPDATE SKIP LOCKED, so concurrent claimers pass over each other's
// rows instead of queueing on them, and a row claimed by a transaction
// that committed meanwhile is re-checked against the WHERE and dropped.
const claimDue = `UPDATE deliveries SET claim = ?, claimed_until = ?
WHERE id IN (
    SELECT id FROM deliveries
    WHERE status = 'pending' AND next_attempt_at <= ? AND (claimed_until IS NULL OR claimed_until <= ?)
    ORDER BY next_attempt_at, id
    LIMIT ?%s
)
RETURNING id`

// claimedJobs reads claimed deliveries with their webhook and event.
const claimedJobs = `SELECT d.*, w.url AS w_url, w.secret AS w_secret,
    e.id AS e_id, e.time AS e_time, e.type AS e_type, e.user_id AS e_user_id,
    e.actor_type AS e_actor_type, e.actor_id AS e_actor_id, e.ip AS e_ip, e.user_agent AS e_user_agent,
    e.request_id AS e_request_id, e.session_id AS e_session_id, e.details AS e_details
FROM deliveries d
JOIN webhooks w ON w.id = d.webhook_id
JOIN events e ON e.id = d.event_id
WHERE d.id IN ? AND d.claim = ?
ORDER BY d.next_attempt_at, d.id`

// jobRow is one row of claimedJobs.
type jobRow struct {
	Delivery deliveryRow `gorm:"embedded"`
	URL      string      `gorm:"column:w_url"`
	Secret   string      `gorm:"column:w_secret"`
	Event    eventRow    `gorm:"embedded;embeddedPrefix:e_"`
}

// ClaimDeliveries claims up to c.Limit due deliveries for c.Token until
// c.Now+c.Lease and reads them with their webhook and event, in one
// transaction.
func (s *Store) ClaimDeliveries(ctx context.Context, c domain.DeliveryClaim) ([]domain.DeliveryJob, error) {
	if c.Limit <= 0 {
		return nil, nil
	}
	if c.Token == "" {
		return nil, fmt.Errorf("claim deliveries: empty claim token: %w", domain.ErrConflict)
	}
	lock := ""
	if s.isPostgres() {
		lock = " FOR UPDATE SKIP LOCKED"
	}
	claim := fmt.Sprintf(claimDue, lock)
	now := utc(c.Now)
	var rows []jobRow
	err := s.transaction(ctx, func(tx *gorm.DB) error {
		var ids []string
		if err := tx.Raw(claim, c.Token, utc(c.Now.Add(c.Lease)), now, now, c.Limit).Scan(&ids).Error; err != nil {
			return translate(err, "claim deliveries", domain.ErrConflict)
		}
		if len(ids) == 0 {
			return nil
		}
		return translate(tx.Raw(claimedJobs, ids, c.Token).Scan(&rows).Error, "claim deliveries: read", domain.ErrConflict)
	})
	if err != nil {
		return nil, err
	}
	out := make([]domain.DeliveryJob, len(rows))
	for i := range rows {
		ev, err := rows[i].Event.toDomain()
		if err != nil {
			return nil, fmt.Errorf("claim deliveries: decode event %s: %w", rows[i].Event.ID, err)
		}
		out[i] = domain.DeliveryJob{Delivery: rows[i].Delivery.toDomain(), URL: rows[i].URL, Secret: rows[i].Secret, Event: ev, Claim: c.Token}
	}
	return out, nil
}

// FinishDelivery records the attempt with one UPDATE conditional on the
// claim, which it releases. A zero r.NextAttemptAt leaves next_attempt_at
// as it was. ErrConflict if the claim is no longer r.Claim, ErrNotFound if
// the delivery is gone.
func (s *Store) FinishDelivery(ctx context.Context, r domain.DeliveryResult) error {
	what := "finish delivery " + r.DeliveryID
	sets := []string{"attempts = attempts + 1", "status = ?", "last_status_code = ?", "last_error = ?", "updated_at = ?", "claim = ''", "claimed_until = NULL"}
	args := []any{string(r.Status), r.StatusCode, r.Error, utc(r.At)}
	if !r.NextAttemptAt.IsZero() {
		sets, args = append(sets, "next_attempt_at = ?"), append(args, utc(r.NextAttemptAt))
	}
	update := "UPDATE deliveries SET " + strings.Join(sets, ", ") + " WHERE id = ? AND claim = ? AND claim <> ''"
	args = append(args, r.DeliveryID, r.Claim)
	return s.transaction(ctx, func(tx *gorm.DB) error {
		res := tx.Exec(update, args...)
		if res.Error != nil {
			return translate(res.Error, what, domain.ErrConflict)
		}
		if res.RowsAffected > 0 {
			return nil
		}
		var n int64
		if err := tx.Model(&deliveryRow{}).Where("id = ?", r.DeliveryID).Count(&n).Error; err != nil {
			return translate(err, what, domain.ErrConflict)
		}
		if n == 0 {
			return fmt.Errorf("%s: %w", what, domain.ErrNotFound)
		}
		return fmt.Errorf("%s: claim lost: %w", what, domain.ErrConflict)
	})
}

// OutboxStats counts the pending deliveries and finds the oldest one's
// event time.
func (s *Store) OutboxStats(ctx context.Context) (domain.OutboxStats, error) {
	var st domain.OutboxStats
	pending := s.conn(ctx).Model(&deliveryRow{}).Where("status = ?", string(domain.DeliveryPending))
	if err := pending.Count(&st.Pending).Error; err != nil {
		return st, translate(err, "outbox stats", domain.ErrConflict)
	}
	if st.Pending == 0 {
		return st, nil
	}
	// ORDER BY ... LIMIT 1 rather than MIN(): SQLite hands back an
	// aggregate of a DATETIME column as text.
	var oldest []deliveryRow
	err := s.conn(ctx).Where("status = ?", string(domain.DeliveryPending)).Order("event_time").Limit(1).Find(&oldest).Error
	if err != nil {
		return st, translate(err, "outbox stats", domain.ErrConflict)
	}
	if len(oldest) > 0 {
		st.OldestPending = utc(oldest[0].EventTime)
	}
	return st, nil
}
