package gormstore

import (
	"context"
	"fmt"

	"github.com/gatehouse-auth/gatehouse/domain"
)

// CreateClient stores c; ErrConflict if the id is taken.
func (s *Store) CreateClient(ctx context.Context, c *domain.Client) error {
	row, err := toClientRow(c)
	if err != nil {
		return fmt.Errorf("create client %s: %w", c.ID, err)
	}
	return translate(s.conn(ctx).Create(&row).Error, "create client "+c.ID, domain.ErrConflict)
}

// ClientByID returns the client or ErrNotFound.
func (s *Store) ClientByID(ctx context.Context, id string) (*domain.Client, error) {
	var row clientRow
	if err := s.conn(ctx).Where("id = ?", id).Take(&row).Error; err != nil {
		return nil, translate(err, "client "+id, domain.ErrConflict)
	}
	c, err := row.toDomain()
	if err != nil {
		return nil, fmt.Errorf("client %s: decode: %w", id, err)
	}
	return &c, nil
}

// ListClients returns every client in ID order.
func (s *Store) ListClients(ctx context.Context) ([]domain.Client, error) {
	var rows []clientRow
	if err := s.conn(ctx).Order("id").Find(&rows).Error; err != nil {
		return nil, translate(err, "list clients", domain.ErrConflict)
	}
	out := make([]domain.Client, 0, len(rows))
	for i := range rows {
		c, err := rows[i].toDomain()
		if err != nil {
			return nil, fmt.Errorf("list clients: decode %s: %w", rows[i].ID, err)
		}
		out = append(out, c)
	}
	return out, nil
}

// DeleteClient removes the client; ErrNotFound if absent.
func (s *Store) DeleteClient(ctx context.Context, id string) error {
	res := s.conn(ctx).Where("id = ?", id).Delete(&clientRow{})
	if res.Error != nil {
		return translate(res.Error, "delete client "+id, domain.ErrConflict)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("delete client %s: %w", id, domain.ErrNotFound)
	}
	return nil
}
