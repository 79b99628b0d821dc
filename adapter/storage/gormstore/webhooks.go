package gormstore

import (
	"context"
	"fmt"

	"github.com/gatehouse-auth/gatehouse/domain"
	"gorm.io/gorm"
)

// CreateWebhook counts the webhooks and inserts w in one transaction, at
// most max in all: on Postgres the table is locked against other creations
// (SHARE ROW EXCLUSIVE, which lets readers through), on SQLite the
// immediate transaction serialises writers. ErrTooManyWebhooks at the
// limit, ErrConflict if the id is taken.
func (s *Store) CreateWebhook(ctx context.Context, w *domain.Webhook, max int) error {
	what := "create webhook " + w.ID
	row := toWebhookRow(w)
	return s.transaction(ctx, func(tx *gorm.DB) error {
		if s.isPostgres() {
			if err := tx.Exec("LOCK TABLE webhooks IN SHARE ROW EXCLUSIVE MODE").Error; err != nil {
				return translate(err, what+": lock", domain.ErrConflict)
			}
		}
		var n int64
		if err := tx.Model(&webhookRow{}).Count(&n).Error; err != nil {
			return translate(err, what+": count", domain.ErrConflict)
		}
		if n >= int64(max) {
			return fmt.Errorf("%s: %w", what, domain.ErrTooManyWebhooks)
		}
		return translate(tx.Create(&row).Error, what, domain.ErrConflict)
	})
}

// ListWebhooks returns every webhook, oldest first (ties by id).
func (s *Store) ListWebhooks(ctx context.Context) ([]domain.Webhook, error) {
	var rows []webhookRow
	if err := s.conn(ctx).Order("created_at, id").Find(&rows).Error; err != nil {
		return nil, translate(err, "list webhooks", domain.ErrConflict)
	}
	out := make([]domain.Webhook, len(rows))
	for i := range rows {
		out[i] = rows[i].toDomain()
	}
	return out, nil
}

// DeleteWebhook removes the webhook and its deliveries in one transaction;
// ErrNotFound if absent.
func (s *Store) DeleteWebhook(ctx context.Context, id string) error {
	what := "delete webhook " + id
	return s.transaction(ctx, func(tx *gorm.DB) error {
		if err := tx.Where("webhook_id = ?", id).Delete(&deliveryRow{}).Error; err != nil {
			return translate(err, what+": deliveries", domain.ErrConflict)
		}
		res := tx.Where("id = ?", id).Delete(&webhookRow{})
		if res.Error != nil {
			return translate(res.Error, what, domain.ErrConflict)
		}
		if res.RowsAffected == 0 {
			return fmt.Errorf("%s: %w", what, domain.ErrNotFound)
		}
		return nil
	})
}

// ListDeliveries returns up to limit deliveries of the webhook, newest
// event first (deliveries_webhook_id_idx); ErrNotFound if there is no such
// webhook. A limit of zero or less means no limit.
func (s *Store) ListDeliveries(ctx context.Context, webhookID string, limit int) ([]domain.Delivery, error) {
	what := "list deliveries of webhook " + webhookID
	var n int64
	if err := s.conn(ctx).Model(&webhookRow{}).Where("id = ?", webhookID).Count(&n).Error; err != nil {
		return nil, translate(err, what, domain.ErrConflict)
	}
	if n == 0 {
		return nil, fmt.Errorf("%s: %w", what, domain.ErrNotFound)
	}
	q := s.conn(ctx).Where("webhook_id = ?", webhookID).Order("event_time DESC, event_id DESC")
	if limit > 0 {
		q = q.Limit(limit)
	}
	var rows []deliveryRow
	if err := q.Find(&rows).Error; err != nil {
		return nil, translate(err, what, domain.ErrConflict)
	}
	out := make([]domain.Delivery, len(rows))
	for i := range rows {
		out[i] = rows[i].toDomain()
	}
	return out, nil
}
