package memory

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/gatehouse-auth/gatehouse/domain"
)

// CreateUser stores a copy of u with events; ErrUsernameTaken if the
// username is in use.
func (s *Store) CreateUser(ctx context.Context, u *domain.User, events []domain.Event) error {
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
	if err := s.checkEvents(events); err != nil {
		return err
	}
	s.users[u.ID] = cloneUser(*u)
	s.usernames[u.Username] = u.ID
	s.addEvents(events)
	return nil
}

// UserByID returns a copy of the user or ErrNotFound.
func (s *Store) UserByID(ctx context.Context, id string) (*domain.User, error) {
	return get(ctx, s, s.users, id, cloneUser, "user "+id)
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

// ChangeUser applies ch under the lock: the fields it sets and, for a
// credential change, the next stamp and the revocation of the user's
// sessions but ch.KeepSession, and ch.MFA. ErrNotFound if the user is gone,
// ErrConflict if ch.IfStamp is set and stale, ErrMFANotEnabled if ch.MFA
// enables without a pending TOTP; a refused change writes nothing.
func (s *Store) ChangeUser(ctx context.Context, ch domain.UserChange) (*domain.User, []string, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[ch.UserID]
	switch {
	case !ok:
		return nil, nil, fmt.Errorf("change user %s: %w", ch.UserID, domain.ErrNotFound)
	case ch.IfStamp != 0 && ch.IfStamp != u.Stamp:
		return nil, nil, fmt.Errorf("change user %s: stamp moved: %w", ch.UserID, domain.ErrConflict)
	}
	if err := s.checkEvents(ch.Events); err != nil {
		return nil, nil, err
	}
	if ch.MFA != nil && ch.MFA.Enable {
		t, ok := s.totp[u.ID]
		if !ok || t.Confirmed() {
			return nil, nil, fmt.Errorf("change user %s: no pending totp: %w", ch.UserID, domain.ErrMFANotEnabled)
		}
		if !bytes.Equal(t.Secret, ch.MFA.Secret) {
			return nil, nil, fmt.Errorf("change user %s: the pending secret was replaced: %w", ch.UserID, domain.ErrConflict)
		}
	}
	if ch.PasswordHash != "" {
		u.PasswordHash = ch.PasswordHash
	}
	if ch.Disabled != nil {
		u.Disabled = *ch.Disabled
	}
	if ch.Roles != nil {
		u.Roles = cloneStrings(*ch.Roles)
	}
	if ch.MFA != nil {
		s.applyMFAChange(&u, ch.MFA, ch.At)
	}
	u.UpdatedAt = ch.At
	var revoked []string
	if ch.EndSessions {
		u.Stamp++
		revoked = s.revoke(domain.SessionRevocation{UserID: u.ID, ExceptID: ch.KeepSession, At: ch.At, FeedExpires: ch.FeedExpires})
		if keep, ok := s.sessions[ch.KeepSession]; ok && keep.UserID == u.ID && !keep.Revoked() {
			keep.UserStamp = u.Stamp
			s.sessions[keep.ID] = keep
		}
	}
	if ch.RevokeAPIKeys {
		revoked = append(revoked, s.revokeUserAPIKeys(u.ID, ch.At, ch.FeedExpires)...)
	}
	s.users[u.ID] = u
	s.addEvents(ch.Events)
	out := cloneUser(u)
	return &out, revoked, nil
}

// DeleteUser removes the user d.ID, its sessions and their refresh-token
// hashes, its API keys and its MFA state, feeding the live sessions and
// keys as revoked, writes d.Events, and returns the revocation ids;
// ErrNotFound if absent. Feed entries and the user's events stay.
func (s *Store) DeleteUser(ctx context.Context, d domain.UserDeletion) ([]string, error) {
	id, at, feedExpires := d.ID, d.At, d.FeedExpires
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[id]
	if !ok {
		return nil, fmt.Errorf("delete user %s: %w", id, domain.ErrNotFound)
	}
	if err := s.checkEvents(d.Events); err != nil {
		return nil, err
	}
	revoked := s.revoke(domain.SessionRevocation{UserID: id, At: at, FeedExpires: feedExpires})
	revoked = append(revoked, s.revokeUserAPIKeys(id, at, feedExpires)...)
	for kid := range s.userAPIKeys[id] {
		delete(s.apiKeyHash, string(s.apiKeys[kid].Hash))
		delete(s.apiKeys, kid)
	}
	delete(s.userAPIKeys, id)
	for sid := range s.userSessions[id] {
		for _, h := range s.sessionTokens[sid] {
			delete(s.tokens, h)
		}
		delete(s.sessionTokens, sid)
		delete(s.sessions, sid)
	}
	delete(s.userSessions, id)
	s.deleteMFAOf(id)
	delete(s.usernames, u.Username)
	delete(s.users, id)
	s.addEvents(d.Events)
	return revoked, nil
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
