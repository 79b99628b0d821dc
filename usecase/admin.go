package usecase

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/gatehouse-auth/gatehouse/domain"
)

// Users is user management for admins and the CLI.
type Users struct {
	users     domain.UserStore
	revoke    *Revoke
	passwords passwordSetter
	now       func() time.Time
}

// NewUsers returns a Users. Its changes commit with their auth events; the
// actor is the Origin's (the admin API and the CLI set it).
func NewUsers(users domain.UserStore, hasher domain.PasswordHasher, revoke *Revoke, minLength int, now func() time.Time) *Users {
	return &Users{
		users: users, revoke: revoke, now: now,
		passwords: passwordSetter{users: users, hasher: hasher, revoke: revoke, minLength: minLength, now: now},
	}
}

// UserPatch lists the fields an admin may change; nil leaves a field alone.
type UserPatch struct {
	Disabled *bool
	Roles    *[]string
}

// List returns up to limit users after the cursor (a user id), and the
// cursor of the next page ("" at the end). A limit of 0 is the default
// page (100); one outside 1..500 is a *domain.ValidationError.
func (s *Users) List(ctx context.Context, cursor string, limit int) ([]domain.User, string, error) {
	limit, err := pageLimit(limit, userPageDefault, userPageMax)
	if err != nil {
		return nil, "", err
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

// updateAttempts bounds how often Update retries when a concurrent change
// of the same user moves its stamp between the read and the write.
const updateAttempts = 5

// Update applies p to the user, writing only the fields that change.
// Disabling or changing the roles is a credential change: the user's
// sessions are revoked and logins in flight cannot open new ones. The
// change is conditional on the user read (its stamp) and retried if a
// concurrent change won, so it is decided on current state.
func (s *Users) Update(ctx context.Context, id string, p UserPatch) (*domain.User, error) {
	if p.Roles != nil {
		if err := validateRoles(*p.Roles); err != nil {
			return nil, err
		}
	}
	for range updateAttempts {
		u, err := s.users.UserByID(ctx, id)
		if err != nil {
			return nil, err
		}
		ch := domain.UserChange{UserID: id, IfStamp: u.Stamp}
		if p.Disabled != nil && *p.Disabled != u.Disabled {
			ch.Disabled = p.Disabled
			ch.EndSessions = *p.Disabled
			// Disabling revokes the user's API keys too; enabling does
			// not bring them back.
			ch.RevokeAPIKeys = *p.Disabled
		}
		if p.Roles != nil && !slices.Equal(*p.Roles, u.Roles) {
			roles := slices.Clone(*p.Roles)
			ch.Roles = &roles
			ch.EndSessions = true
		}
		if ch.Disabled == nil && ch.Roles == nil {
			return u, nil
		}
		ch.Events = s.updateEvents(ctx, u, ch)
		changed, err := s.revoke.ChangeUser(ctx, s.users, ch)
		if errors.Is(err, domain.ErrConflict) {
			continue
		}
		return changed, err
	}
	return nil, fmt.Errorf("update user %s: %w", id, domain.ErrConflict)
}

// updateEvents are the events of ch, a change of u that changes
// something: user.disabled or user.enabled, and user.roles_changed. The
// sessions and keys a disable or a role change revokes need none of their
// own.
func (s *Users) updateEvents(ctx context.Context, u *domain.User, ch domain.UserChange) []domain.Event {
	now := s.now()
	var events []domain.Event
	if ch.Disabled != nil {
		t := domain.EventUserEnabled
		if *ch.Disabled {
			t = domain.EventUserDisabled
		}
		events = append(events, newEvent(ctx, now, t, u.ID, domain.Actor{}))
	}
	if ch.Roles != nil {
		ev := newEvent(ctx, now, domain.EventUserRolesChanged, u.ID, domain.Actor{})
		ev.Details.Roles = slices.Clone(*ch.Roles)
		ev.Details.PreviousRoles = slices.Clone(u.Roles)
		events = append(events, ev)
	}
	return events
}

// SetPassword replaces a user's password (admin or CLI) and revokes every
// session of the user. It writes only the password (and the stamp).
func (s *Users) SetPassword(ctx context.Context, id, password string) error {
	u, err := s.users.UserByID(ctx, id)
	if err != nil {
		return err
	}
	return s.passwords.set(ctx, u, password, domain.UserChange{}, domain.Actor{})
}

// RevokeSessions ends every session of an existing user, and moves its
// stamp on so that a login in flight cannot open one after.
func (s *Users) RevokeSessions(ctx context.Context, id string) error {
	ev := newEvent(ctx, s.now(), domain.EventSessionRevoked, id, domain.Actor{})
	ev.Details.Scope, ev.Details.Reason = revokedAll, reasonAdmin
	_, err := s.revoke.ChangeUser(ctx, s.users, domain.UserChange{UserID: id, EndSessions: true, Events: []domain.Event{ev}})
	return err
}

// Delete removes the user; its sessions and API keys are revoked in the
// same step so replicas refuse its access tokens and keys. The user.deleted
// event keeps the username, which the user's other events may not.
func (s *Users) Delete(ctx context.Context, id string) error {
	u, err := s.users.UserByID(ctx, id)
	if err != nil {
		return fmt.Errorf("delete user %s: %w", id, err)
	}
	ev := newEvent(ctx, s.now(), domain.EventUserDeleted, u.ID, domain.Actor{})
	ev.Details.Username = u.Username
	return s.revoke.DeleteUser(ctx, s.users, id, []domain.Event{ev})
}
