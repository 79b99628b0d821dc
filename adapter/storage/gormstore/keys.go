package gormstore

import (
	"context"
	"fmt"

	"github.com/gatehouse-auth/gatehouse/domain"
	"gorm.io/gorm"
)

// ListKeys returns every stored key, newest first (ties broken by
// descending ID).
func (s *Store) ListKeys(ctx context.Context) ([]domain.SigningKey, error) {
	var rows []keyRow
	if err := s.conn(ctx).Order("created_at DESC, id DESC").Find(&rows).Error; err != nil {
		return nil, translate(err, "list signing keys", domain.ErrConflict)
	}
	out := make([]domain.SigningKey, len(rows))
	for i := range rows {
		out[i] = rows[i].toDomain()
	}
	return out, nil
}

// RotateKey retires every active key at k.CreatedAt and stores k as the
// only active key, with events, in one transaction. On Postgres the table is locked for
// the transaction so that two concurrent rotations cannot both leave an
// active key; on SQLite the immediate transaction already serialises them.
// ErrConflict if the id is taken.
func (s *Store) RotateKey(ctx context.Context, k *domain.SigningKey, events []domain.Event) error {
	row := toKeyRow(k)
	row.RetiredAt = nil
	return s.transaction(ctx, func(tx *gorm.DB) error {
		if s.isPostgres() {
			if err := tx.Exec("LOCK TABLE signing_keys IN SHARE ROW EXCLUSIVE MODE").Error; err != nil {
				return fmt.Errorf("rotate key %s: lock: %w", k.ID, err)
			}
		}
		err := tx.Model(&keyRow{}).Where("retired_at IS NULL").Update("retired_at", utc(k.CreatedAt)).Error
		if err != nil {
			return translate(err, "rotate key "+k.ID+": retire active", domain.ErrConflict)
		}
		if err := tx.Create(&row).Error; err != nil {
			return translate(err, "rotate key "+k.ID, domain.ErrConflict)
		}
		return writeEvents(tx, events)
	})
}

// DeleteKey removes a retired key; ErrNotFound if absent, ErrConflict if it
// is the active key (deleting it would leave nothing to sign with).
func (s *Store) DeleteKey(ctx context.Context, id string) error {
	return s.transaction(ctx, func(tx *gorm.DB) error {
		res := tx.Where("id = ? AND retired_at IS NOT NULL", id).Delete(&keyRow{})
		if res.Error != nil {
			return translate(res.Error, "delete key "+id, domain.ErrConflict)
		}
		if res.RowsAffected > 0 {
			return nil
		}
		var n int64
		if err := tx.Model(&keyRow{}).Where("id = ?", id).Count(&n).Error; err != nil {
			return translate(err, "delete key "+id, domain.ErrConflict)
		}
		if n > 0 {
			return fmt.Errorf("delete active key %s: %w", id, domain.ErrConflict)
		}
		return fmt.Errorf("delete key %s: %w", id, domain.ErrNotFound)
	})
}
