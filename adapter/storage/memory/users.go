package memory

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/gatehouse-auth/gatehouse/domain"
)

// CreateUser stores a copy of u; ErrUsernameTaken if the username is in use.
func (s *Store) CreateUser(ctx context.Context, u *domain.User) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.usernames[u.Username]; ok {
		return fmt.Errorf("create user: %w", domain.ErrUsernameTaken)
	}
	if _, ok := s.users[u.ID]; ok {
		return fmt.Errorf("create user %s: %w", u.ID, domain.ErrConflict)
	}
	s.users[u.ID] = cloneUser(*u)
	s.usernames[u.Username] = u.ID
	return nil
}

// UserByID returns a copy of the user or ErrNotFound.
func (s *Store) UserByID(ctx context.Context, id string) (*domain.User, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[id]
	if !ok {
		return nil, fmt.Errorf("user %s: %w", id, domain.ErrNotFound)
	}
	u = cloneUser(u)
	return &u, nil
}

// UserByUsername returns a copy of the user with exactly this normalised
// username or ErrNotFound.
func (s *Store) UserByUsername(ctx context.Context, username string) (*domain.User, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	id, ok := s.usernames[username]
	if !ok {
		return nil, fmt.Errorf("user by username: %w", domain.ErrNotFound)
	}
	u := cloneUser(s.users[id])
	return &u, nil
}

// UpdateUser saves every field of u except ID and CreatedAt; ErrNotFound if
// the user is gone, ErrUsernameTaken if it is renamed to a taken username.
func (s *Store) UpdateUser(ctx context.Context, u *domain.User) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.users[u.ID]
	if !ok {
		return fmt.Errorf("update user %s: %w", u.ID, domain.ErrNotFound)
	}
	if u.Username != old.Username {
		if _, taken := s.usernames[u.Username]; taken {
			return fmt.Errorf("update user %s: %w", u.ID, domain.ErrUsernameTaken)
		}
		delete(s.usernames, old.Username)
		s.usernames[u.Username] = u.ID
	}
	nu := cloneUser(*u)
	nu.CreatedAt = old.CreatedAt
	s.users[u.ID] = nu
	return nil
}

// DeleteUser removes the user, its sessions and their refresh-token hashes;
// ErrNotFound if absent. Feed entries stay: they outlive their sessions.
func (s *Store) DeleteUser(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[id]
	if !ok {
		return fmt.Errorf("delete user %s: %w", id, domain.ErrNotFound)
	}
	for sid := range s.userSessions[id] {
		for _, h := range s.sessionTokens[sid] {
			delete(s.tokens, h)
		}
		delete(s.sessionTokens, sid)
		delete(s.sessions, sid)
	}
	delete(s.userSessions, id)
	delete(s.usernames, u.Username)
	delete(s.users, id)
	return nil
}

// ListUsers returns up to limit users with IDs greater than after, in ID
// order. A limit of zero or less means no limit.
func (s *Store) ListUsers(ctx context.Context, after string, limit int) ([]domain.User, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := make([]string, 0, len(s.users))
	for id := range s.users {
		if id > after {
			ids = append(ids, id)
		}
	}
	slices.SortFunc(ids, strings.Compare)
	if limit > 0 && len(ids) > limit {
		ids = ids[:limit]
	}
	out := make([]domain.User, 0, len(ids))
	for _, id := range ids {
		out = append(out, cloneUser(s.users[id]))
	}
	return out, nil
}
