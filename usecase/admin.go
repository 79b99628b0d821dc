package usecase

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/gatehouse-auth/gatehouse/domain"
)

// Users is user management for admins and the CLI.
type Users struct {
	users     domain.UserStore
	hasher    domain.PasswordHasher
	revoke    *Revoke
	minLength int
	now       func() time.Time
}

// NewUsers returns a Users.
func NewUsers(users domain.UserStore, hasher domain.PasswordHasher, revoke *Revoke, minLength int, now func() time.Time) *Users {
	return &Users{users: users, hasher: hasher, revoke: revoke, minLength: minLength, now: now}
}

// UserPatch lists the fields an admin may change; nil leaves a field alone.
type UserPatch struct {
	Disabled *bool
	Roles    *[]string
}

// List returns up to limit users after the cursor (a user id), and the
// cursor of the next page ("" at the end).
func (s *Users) List(ctx context.Context, cursor string, limit int) ([]domain.User, string, error) {
	if limit <= 0 || limit > 500 {
		limit = 100
	}
	users, err := s.users.ListUsers(ctx, cursor, limit+1)
	if err != nil {
		return nil, "", fmt.Errorf("list users: %w", err)
	}
	next := ""
	if len(users) > limit {
		users = users[:limit]
		next = users[limit-1].ID
	}
	return users, next, nil
}

// Get returns one user by id, or by username when byName is set.
func (s *Users) Get(ctx context.Context, ref string, byName bool) (*domain.User, error) {
	if !byName {
		return s.users.UserByID(ctx, ref)
	}
	name, err := domain.NormalizeUsername(ref)
	if err != nil {
		return nil, domain.ErrNotFound
	}
	return s.users.UserByUsername(ctx, name)
}

// Update applies p to the user. Disabling revokes every session.
func (s *Users) Update(ctx context.Context, id string, p UserPatch) (*domain.User, error) {
	u, err := s.users.UserByID(ctx, id)
	if err != nil {
		return nil, err
	}
	disabling := p.Disabled != nil && *p.Disabled && !u.Disabled
	if p.Disabled != nil {
		u.Disabled = *p.Disabled
	}
	if p.Roles != nil {
		if err := validateRoles(*p.Roles); err != nil {
			return nil, err
		}
		u.Roles = slices.Clone(*p.Roles)
	}
	u.UpdatedAt = s.now().UTC()
	if err := s.users.UpdateUser(ctx, u); err != nil {
		return nil, fmt.Errorf("update user: %w", err)
	}
	if disabling {
		if err := s.revoke.UserSessions(ctx, u.ID, ""); err != nil {
			return nil, err
		}
	}
	return u, nil
}

// SetPassword replaces a user's password (admin or CLI) and revokes every
// session of the user.
func (s *Users) SetPassword(ctx context.Context, id, password string) error {
	u, err := s.users.UserByID(ctx, id)
	if err != nil {
		return err
	}
	if err := domain.ValidatePassword(password, u.Username, s.minLength); err != nil {
		return err
	}
	hash, err := s.hasher.Hash(ctx, password)
	if err != nil {
		return fmt.Errorf("hash password: %w", err)
	}
	u.PasswordHash = hash
	u.UpdatedAt = s.now().UTC()
	if err := s.users.UpdateUser(ctx, u); err != nil {
		return fmt.Errorf("update user: %w", err)
	}
	return s.revoke.UserSessions(ctx, u.ID, "")
}

// RevokeSessions ends every session of an existing user.
func (s *Users) RevokeSessions(ctx context.Context, id string) error {
	if _, err := s.users.UserByID(ctx, id); err != nil {
		return err
	}
	return s.revoke.UserSessions(ctx, id, "")
}

// Delete removes the user; its sessions are revoked first so replicas
// refuse its access tokens.
func (s *Users) Delete(ctx context.Context, id string) error {
	if _, err := s.users.UserByID(ctx, id); err != nil {
		return err
	}
	if err := s.revoke.UserSessions(ctx, id, ""); err != nil {
		return err
	}
	return s.users.DeleteUser(ctx, id)
}
