package gormstore

import (
	"context"
	"fmt"

	"github.com/gatehouse-auth/gatehouse/domain"
	"gorm.io/gorm"
)

// CreateClient stores c with events in one transaction; ErrConflict if the
// id is taken.
func (s *Store) CreateClient(ctx context.Context, c *domain.Client, events []domain.Event) error {
	row, err := toClientRow(c)
	if err != nil {
		return fmt.Errorf("create client %s: %w", c.ID, err)
	}
	return s.transaction(ctx, func(tx *gorm.DB) error {
		if err := tx.Create(&row).Error; err != nil {
			return translate(err, "create client "+c.ID, domain.ErrConflict)
		}
		return writeEvents(tx, events)
	})
}

// clientByID is the lookup of every client_credentials grant, run as a
// statement prepared once on the pool like the refresh grant's (prepared.go).
const clientByID = `SELECT id, name, secret_hash, scopes, created_at FROM clients WHERE id = $1`

// ClientByID returns the client or ErrNotFound.
// The call is a store span (tracing.go).
func (s *Store) ClientByID(ctx context.Context, id string) (*domain.Client, error) {
	ctx, end := s.traceSQL(ctx, "ClientByID", clientByID)
	v, err := s.clientByID(ctx, id)
	end(err)
	return v, err
}

// clientByID is ClientByID without its span.
func (s *Store) clientByID(ctx context.Context, id string) (*domain.Client, error) {
	what := "client " + id
	st, err := s.prepared(ctx, clientByID)
	if err != nil {
		return nil, s.translateSQL(err, what+": prepare", domain.ErrConflict)
	}
	var row clientRow
	if err := st.QueryRowContext(ctx, id).Scan(&row.ID, &row.Name, &row.SecretHash, &row.Scopes, &row.CreatedAt); err != nil {
		return nil, s.translateSQL(err, what, domain.ErrConflict)
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

// DeleteClient removes the client with events in one transaction;
// ErrNotFound if absent.
func (s *Store) DeleteClient(ctx context.Context, id string, events []domain.Event) error {
	return s.transaction(ctx, func(tx *gorm.DB) error {
		res := tx.Where("id = ?", id).Delete(&clientRow{})
		if res.Error != nil {
			return translate(res.Error, "delete client "+id, domain.ErrConflict)
		}
		if res.RowsAffected == 0 {
			return fmt.Errorf("delete client %s: %w", id, domain.ErrNotFound)
		}
		return writeEvents(tx, events)
	})
}
