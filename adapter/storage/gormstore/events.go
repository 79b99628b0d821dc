package gormstore

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse/domain"
	"gorm.io/gorm"
)

// eventBatch bounds the rows of one multi-row INSERT of events and the ids
// of one IN list: SQLite allows 32766 bound parameters per statement, and
// an event row takes 11.
const eventBatch = 500

// insertDeliveries queues every event named in the IN list to every webhook
// that wants its type, with one INSERT ... SELECT: the webhooks are never
// read into Go, and a webhook committed before the statement runs gets its
// deliveries. A webhook keeps its types as " a b " (rows.go), so a type
// matches as the substring " type "; position is instr on SQLite and strpos
// on Postgres, an exact match where LIKE would read "_" as a wildcard. Each
// row gets a random id from the database.
const insertDeliveries = `INSERT INTO deliveries
    (id, webhook_id, event_id, event_time, status, attempts, last_status_code, last_error, next_attempt_at, claim, claimed_until, updated_at)
SELECT %s, w.id, e.id, e.time, 'pending', 0, 0, '', e.time, '', NULL, e.time
FROM events e
JOIN webhooks w ON w.events = '' OR %s(w.events, ' ' || e.type || ' ') > 0
WHERE e.id IN ?`

// insertDeliveriesFor returns insertDeliveries in the dialect of tx.
func insertDeliveriesFor(tx *gorm.DB) string {
	if tx.Dialector.Name() == "postgres" {
		return fmt.Sprintf(insertDeliveries, "replace(gen_random_uuid()::text, '-', '')", "strpos")
	}
	return fmt.Sprintf(insertDeliveries, "lower(hex(randomblob(16)))", "instr")
}

// writeEvents inserts events and their deliveries inside tx, the
// transaction of the change they record. On Postgres it first takes a SHARE
// lock on webhooks, which admits concurrent event writers but waits for a
// webhook being created or deleted to commit: a delivery is never queued to
// a webhook whose deletion committed while the statement ran (its foreign
// key would fail the whole change). SQLite runs one writer at a time.
func writeEvents(tx *gorm.DB, events []domain.Event) error {
	if len(events) == 0 {
		return nil
	}
	rows := make([]eventRow, len(events))
	ids := make([]string, len(events))
	for i := range events {
		row, err := toEventRow(&events[i])
		if err != nil {
			return fmt.Errorf("write event %s: %w", events[i].ID, err)
		}
		rows[i], ids[i] = row, row.ID
	}
	if err := tx.CreateInBatches(&rows, eventBatch).Error; err != nil {
		return translate(err, "write events", domain.ErrConflict)
	}
	if tx.Dialector.Name() == "postgres" {
		if err := tx.Exec("LOCK TABLE webhooks IN SHARE MODE").Error; err != nil {
			return translate(err, "write events: lock webhooks", domain.ErrConflict)
		}
	}
	insert := insertDeliveriesFor(tx)
	for start := 0; start < len(ids); start += eventBatch {
		batch := ids[start:min(start+eventBatch, len(ids))]
		if err := tx.Exec(insert, batch).Error; err != nil {
			return translate(err, "queue deliveries", domain.ErrConflict)
		}
	}
	return nil
}

// AppendEvents writes events and their deliveries in one transaction;
// ErrConflict if an event id is taken (and then nothing is written).
func (s *Store) AppendEvents(ctx context.Context, events []domain.Event) error {
	if len(events) == 0 {
		return nil
	}
	return s.transaction(ctx, func(tx *gorm.DB) error { return writeEvents(tx, events) })
}

// ListEvents returns up to q.Limit events selected by q, newest first. With
// a user or a type the scan follows events_user_id_idx or events_type_idx
// backwards from the cursor; otherwise the primary key. A limit of zero or
// less means no limit.
func (s *Store) ListEvents(ctx context.Context, q domain.EventQuery) ([]domain.Event, error) {
	var conds []string
	var args []any
	if len(q.Types) == 1 {
		conds, args = append(conds, "type = ?"), append(args, string(q.Types[0]))
	} else if len(q.Types) > 1 {
		types := make([]string, len(q.Types))
		for i, t := range q.Types {
			types[i] = string(t)
		}
		conds, args = append(conds, "type IN ?"), append(args, types)
	}
	if q.UserID != "" {
		conds, args = append(conds, "user_id = ?"), append(args, q.UserID)
	}
	if !q.Since.IsZero() {
		conds, args = append(conds, "time >= ?"), append(args, utc(q.Since))
	}
	if !q.Until.IsZero() {
		conds, args = append(conds, "time < ?"), append(args, utc(q.Until))
	}
	if q.Before != "" {
		conds, args = append(conds, "id < ?"), append(args, q.Before)
	}
	db := s.conn(ctx).Order("id DESC")
	if len(conds) > 0 {
		db = db.Where(strings.Join(conds, " AND "), args...)
	}
	if q.Limit > 0 {
		db = db.Limit(q.Limit)
	}
	var rows []eventRow
	if err := db.Find(&rows).Error; err != nil {
		return nil, translate(err, "list events", domain.ErrConflict)
	}
	out := make([]domain.Event, len(rows))
	for i := range rows {
		e, err := rows[i].toDomain()
		if err != nil {
			return nil, fmt.Errorf("list events: decode %s: %w", rows[i].ID, err)
		}
		out[i] = e
	}
	return out, nil
}

// PruneEvents deletes the events whose Time is before before, with their
// deliveries, eventBatch events per transaction (oldest first, along
// events_time_idx), and returns how many events it deleted.
func (s *Store) PruneEvents(ctx context.Context, before time.Time) (int64, error) {
	b := utc(before)
	var total int64
	for {
		var n int64
		err := s.transaction(ctx, func(tx *gorm.DB) error {
			var ids []string
			err := tx.Model(&eventRow{}).Where("time < ?", b).Order("time").Limit(eventBatch).Pluck("id", &ids).Error
			if err != nil || len(ids) == 0 {
				return translate(err, "prune events: select", domain.ErrConflict)
			}
			if err := tx.Where("event_id IN ?", ids).Delete(&deliveryRow{}).Error; err != nil {
				return translate(err, "prune events: deliveries", domain.ErrConflict)
			}
			res := tx.Where("id IN ?", ids).Delete(&eventRow{})
			n = res.RowsAffected
			return translate(res.Error, "prune events", domain.ErrConflict)
		})
		if err != nil {
			return total, err
		}
		total += n
		if n < eventBatch {
			return total, nil
		}
	}
}
