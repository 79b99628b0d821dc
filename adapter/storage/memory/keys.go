package memory

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse/domain"
)

// ListKeys returns copies of every stored key, newest first (ties broken by
// descending ID).
func (s *Store) ListKeys(ctx context.Context) ([]domain.SigningKey, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]domain.SigningKey, 0, len(s.keys))
	for _, k := range s.keys {
		out = append(out, cloneKey(k))
	}
	slices.SortFunc(out, func(a, b domain.SigningKey) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(b.ID, a.ID)
	})
	return out, nil
}

// RotateKey retires every active key at k.CreatedAt and stores a copy of k
// as the only active key, with events. ErrConflict if the id is taken.
func (s *Store) RotateKey(ctx context.Context, k *domain.SigningKey, events []domain.Event) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.keys[k.ID]; ok {
		return fmt.Errorf("rotate key %s: %w", k.ID, domain.ErrConflict)
	}
	if err := s.checkEvents(events); err != nil {
		return err
	}
	for id, old := range s.keys {
		if old.Active() {
			old.RetiredAt = k.CreatedAt
			s.keys[id] = old
		}
	}
	nk := cloneKey(*k)
	nk.RetiredAt = time.Time{}
	s.keys[k.ID] = nk
	s.addEvents(events)
	return nil
}

// DeleteKey removes a retired key; ErrNotFound if absent, ErrConflict if it
// is the active key (deleting it would leave nothing to sign with).
func (s *Store) DeleteKey(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k, ok := s.keys[id]
	switch {
	case !ok:
		return fmt.Errorf("delete key %s: %w", id, domain.ErrNotFound)
	case k.Active():
		return fmt.Errorf("delete active key %s: %w", id, domain.ErrConflict)
	}
	delete(s.keys, id)
	return nil
}
