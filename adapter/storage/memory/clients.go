package memory

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/gatehouse-auth/gatehouse/domain"
)

// CreateClient stores a copy of c with events; ErrConflict if the id is
// taken.
func (s *Store) CreateClient(ctx context.Context, c *domain.Client, events []domain.Event) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.clients[c.ID]; ok {
		return fmt.Errorf("create client %s: %w", c.ID, domain.ErrConflict)
	}
	if err := s.checkEvents(events); err != nil {
		return err
	}
	s.clients[c.ID] = cloneClient(*c)
	s.addEvents(events)
	return nil
}

// ClientByID returns a copy of the client or ErrNotFound.
func (s *Store) ClientByID(ctx context.Context, id string) (*domain.Client, error) {
	return get(ctx, s, s.clients, id, cloneClient, "client "+id)
}

// ListClients returns every client in ID order.
func (s *Store) ListClients(ctx context.Context) ([]domain.Client, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]domain.Client, 0, len(s.clients))
	for _, c := range s.clients {
		out = append(out, cloneClient(c))
	}
	slices.SortFunc(out, func(a, b domain.Client) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// DeleteClient removes the client with events; ErrNotFound if absent.
func (s *Store) DeleteClient(ctx context.Context, id string, events []domain.Event) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.clients[id]; !ok {
		return fmt.Errorf("delete client %s: %w", id, domain.ErrNotFound)
	}
	if err := s.checkEvents(events); err != nil {
		return err
	}
	delete(s.clients, id)
	s.addEvents(events)
	return nil
}
