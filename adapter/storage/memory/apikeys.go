package memory

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/gatehouse-auth/gatehouse/domain"
)

// CreateAPIKey stores a copy of k under the lock, only while its user
// exists, is enabled and holds fewer than max live keys at k.CreatedAt,
// with events.
func (s *Store) CreateAPIKey(ctx context.Context, k *domain.APIKey, max int, events []domain.Event) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[k.UserID]
	switch {
	case !ok:
		return fmt.Errorf("create api key for user %s: %w", k.UserID, domain.ErrNotFound)
	case u.Disabled:
		return fmt.Errorf("create api key for user %s: disabled: %w", k.UserID, domain.ErrConflict)
	}
	if _, dup := s.apiKeys[k.ID]; dup {
		return fmt.Errorf("create api key %s: %w", k.ID, domain.ErrConflict)
	}
	if _, dup := s.apiKeyHash[string(k.Hash)]; dup {
		return fmt.Errorf("create api key %s: hash: %w", k.ID, domain.ErrConflict)
	}
	live := 0
	for id := range s.userAPIKeys[k.UserID] {
		if old := s.apiKeys[id]; old.Live(k.CreatedAt) {
			live++
		}
	}
	if live >= max {
		return fmt.Errorf("create api key for user %s: %w", k.UserID, domain.ErrTooManyAPIKeys)
	}
	if err := s.checkEvents(events); err != nil {
		return err
	}
	s.apiKeys[k.ID] = cloneAPIKey(*k)
	s.apiKeyHash[string(k.Hash)] = k.ID
	if s.userAPIKeys[k.UserID] == nil {
		s.userAPIKeys[k.UserID] = make(map[string]struct{})
	}
	s.userAPIKeys[k.UserID][k.ID] = struct{}{}
	s.addEvents(events)
	return nil
}

// APIKeyByID returns a copy of the key or ErrNotFound.
func (s *Store) APIKeyByID(ctx context.Context, id string) (*domain.APIKey, error) {
	return get(ctx, s, s.apiKeys, id, cloneAPIKey, "api key "+id)
}

// APIKeyGrant returns copies of the key with hash and its user, read under
// one lock; ErrNotFound if either is missing.
func (s *Store) APIKeyGrant(ctx context.Context, hash []byte) (*domain.APIKeyGrant, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	id, ok := s.apiKeyHash[string(hash)]
	if !ok {
		return nil, fmt.Errorf("api key: %w", domain.ErrNotFound)
	}
	k := s.apiKeys[id]
	u, ok := s.users[k.UserID]
	if !ok {
		return nil, fmt.Errorf("api key %s: user %s: %w", id, k.UserID, domain.ErrNotFound)
	}
	return &domain.APIKeyGrant{Key: cloneAPIKey(k), User: cloneUser(u)}, nil
}

// ListAPIKeys returns copies of the user's keys, newest first (ties by id,
// descending).
func (s *Store) ListAPIKeys(ctx context.Context, userID string) ([]domain.APIKey, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]domain.APIKey, 0, len(s.userAPIKeys[userID]))
	for id := range s.userAPIKeys[userID] {
		out = append(out, cloneAPIKey(s.apiKeys[id]))
	}
	slices.SortFunc(out, newestFirst)
	return out, nil
}

// newestFirst orders keys by CreatedAt, then ID, both descending.
func newestFirst(a, b domain.APIKey) int {
	if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
		return c
	}
	return cmp.Compare(b.ID, a.ID)
}

// RevokeAPIKey revokes the key, feeds it and writes r.Events, under the
// lock; a key already revoked gets none of them.
func (s *Store) RevokeAPIKey(ctx context.Context, r domain.APIKeyRevocation) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k, ok := s.apiKeys[r.ID]
	if !ok || (r.UserID != "" && k.UserID != r.UserID) {
		return false, fmt.Errorf("revoke api key %s: %w", r.ID, domain.ErrNotFound)
	}
	if k.Revoked() {
		return false, nil
	}
	if err := s.checkEvents(r.Events); err != nil {
		return false, err
	}
	s.revokeAPIKey(k, r.At, r.FeedExpires)
	s.addEvents(r.Events)
	return true, nil
}

// revokeAPIKey marks k revoked at at and appends its feed entry; the
// caller holds s.mu.
func (s *Store) revokeAPIKey(k domain.APIKey, at, feedExpires time.Time) domain.APIKey {
	k.RevokedAt = at
	s.apiKeys[k.ID] = k
	s.lastSeq++
	s.feed = append(s.feed, domain.Revocation{Seq: s.lastSeq, SessionID: k.RevocationID(), UserID: k.UserID, At: at, Expires: feedExpires})
	return k
}

// revokeUserAPIKeys revokes every unrevoked key of the user and returns
// their revocation ids in id order; the caller holds s.mu.
func (s *Store) revokeUserAPIKeys(userID string, at, feedExpires time.Time) []string {
	var ids []string
	for id := range s.userAPIKeys[userID] {
		if k := s.apiKeys[id]; !k.Revoked() {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		k := s.revokeAPIKey(s.apiKeys[id], at, feedExpires)
		out = append(out, k.RevocationID())
	}
	return out
}

// TouchAPIKey sets LastUsedAt under the lock when the key is not revoked
// and was last used before at-every.
func (s *Store) TouchAPIKey(ctx context.Context, id string, at time.Time, every time.Duration) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k, ok := s.apiKeys[id]
	if !ok || k.Revoked() || (!k.LastUsedAt.IsZero() && k.LastUsedAt.After(at.Add(-every))) {
		return false, nil
	}
	k.LastUsedAt = at
	s.apiKeys[id] = k
	return true, nil
}

// PruneAPIKeys deletes, under the lock, the keys that expired or were
// revoked at or before before; feed entries stay.
func (s *Store) PruneAPIKeys(ctx context.Context, before time.Time) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var n int64
	for id, k := range s.apiKeys {
		if k.ExpiresAt.After(before) && (!k.Revoked() || k.RevokedAt.After(before)) {
			continue
		}
		delete(s.apiKeyHash, string(k.Hash))
		delete(s.apiKeys, id)
		if ids := s.userAPIKeys[k.UserID]; ids != nil {
			delete(ids, id)
			if len(ids) == 0 {
				delete(s.userAPIKeys, k.UserID)
			}
		}
		n++
	}
	return n, nil
}
