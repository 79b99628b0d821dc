package memory

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/gatehouse-auth/gatehouse/domain"
)

// CreateSession stores a copy of sess and its first refresh token, which
// belongs to sess whatever first.SessionID says. ErrNotFound if the user does
// not exist; ErrConflict if the user is disabled or no longer has the stamp
// sess.UserStamp, or if the session id or token hash is already used.
func (s *Store) CreateSession(ctx context.Context, sess *domain.Session, first domain.RefreshToken) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[sess.UserID]
	switch {
	case !ok:
		return fmt.Errorf("create session for user %s: %w", sess.UserID, domain.ErrNotFound)
	case u.Disabled || u.Stamp != sess.UserStamp:
		return fmt.Errorf("create session for user %s: user changed: %w", sess.UserID, domain.ErrConflict)
	}
	if _, ok := s.sessions[sess.ID]; ok {
		return fmt.Errorf("create session %s: %w", sess.ID, domain.ErrConflict)
	}
	if _, ok := s.tokens[string(first.Hash)]; ok {
		return fmt.Errorf("create session %s: refresh token: %w", sess.ID, domain.ErrConflict)
	}
	s.sessions[sess.ID] = cloneSession(*sess)
	if s.userSessions[sess.UserID] == nil {
		s.userSessions[sess.UserID] = make(map[string]struct{})
	}
	s.userSessions[sess.UserID][sess.ID] = struct{}{}
	first.SessionID = sess.ID
	s.addToken(first)
	return nil
}

// addToken records a refresh-token hash; the caller holds s.mu.
func (s *Store) addToken(t domain.RefreshToken) {
	t = cloneToken(t)
	s.tokens[string(t.Hash)] = t
	s.sessionTokens[t.SessionID] = append(s.sessionTokens[t.SessionID], string(t.Hash))
}

// SessionByID returns a copy of the session or ErrNotFound.
func (s *Store) SessionByID(ctx context.Context, id string) (*domain.Session, error) {
	return get(ctx, s, s.sessions, id, cloneSession, "session "+id)
}

// ListSessions returns copies of the user's sessions that are neither
// revoked nor expired at now, newest first.
func (s *Store) ListSessions(ctx context.Context, userID string, now time.Time) ([]domain.Session, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []domain.Session
	for id := range s.userSessions[userID] {
		if sess, ok := s.sessions[id]; ok && sess.Live(now) {
			out = append(out, cloneSession(sess))
		}
	}
	slices.SortFunc(out, func(a, b domain.Session) int {
		return cmp.Or(b.CreatedAt.Compare(a.CreatedAt), cmp.Compare(b.ID, a.ID))
	})
	return out, nil
}

// RefreshTokenByHash returns a copy of the token record or ErrNotFound.
func (s *Store) RefreshTokenByHash(ctx context.Context, hash []byte) (*domain.RefreshToken, error) {
	return get(ctx, s, s.tokens, string(hash), cloneToken, "refresh token")
}

// RefreshGrant returns copies of the token record with hash, its session and
// the session's user, read under one lock. ErrNotFound if any is missing.
func (s *Store) RefreshGrant(ctx context.Context, hash []byte) (*domain.RefreshGrant, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tokens[string(hash)]
	if !ok {
		return nil, fmt.Errorf("refresh token: %w", domain.ErrNotFound)
	}
	sess, ok := s.sessions[t.SessionID]
	if !ok {
		return nil, fmt.Errorf("refresh token: session %s: %w", t.SessionID, domain.ErrNotFound)
	}
	u, ok := s.users[sess.UserID]
	if !ok {
		return nil, fmt.Errorf("refresh token: session %s: user %s: %w", sess.ID, sess.UserID, domain.ErrNotFound)
	}
	return &domain.RefreshGrant{Token: cloneToken(t), Session: cloneSession(sess), User: cloneUser(u)}, nil
}

// RotateRefreshToken moves the session from r.FromGeneration to the next
// generation and records r.NewHash, all under the lock. ErrConflict if the
// session is revoked or at another generation, ErrNotFound if it is gone.
func (s *Store) RotateRefreshToken(ctx context.Context, r domain.Rotation) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.sessions[r.SessionID]
	switch {
	case !ok:
		return fmt.Errorf("rotate session %s: %w", r.SessionID, domain.ErrNotFound)
	case sess.Revoked() || sess.Generation != r.FromGeneration:
		return fmt.Errorf("rotate session %s: %w", r.SessionID, domain.ErrConflict)
	}
	if u := s.users[sess.UserID]; u.Disabled || u.Stamp != sess.UserStamp {
		return fmt.Errorf("rotate session %s: user changed: %w", r.SessionID, domain.ErrConflict)
	}
	if _, dup := s.tokens[string(r.NewHash)]; dup {
		return fmt.Errorf("rotate session %s: refresh token: %w", r.SessionID, domain.ErrConflict)
	}
	sess.Generation = r.FromGeneration + 1
	sess.RotatedAt = r.At
	sess.LastUsedAt = r.At
	sess.SealedSuccessor = cloneBytes(r.SealedSuccessor)
	s.sessions[r.SessionID] = sess
	s.addToken(domain.RefreshToken{Hash: r.NewHash, SessionID: r.SessionID, Generation: sess.Generation, CreatedAt: r.At})
	return nil
}

// RevokeSessions revokes the live sessions matching every non-empty field of
// the selector (SessionID, UserID, and not ExceptID), appends one feed entry
// per revoked session and, when it revoked any, r.Events, and returns their
// IDs in ID order. A selector with neither SessionID nor UserID selects
// nothing.
func (s *Store) RevokeSessions(ctx context.Context, r domain.SessionRevocation) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.revocable(r)) == 0 {
		return nil, nil
	}
	if err := s.checkEvents(r.Events); err != nil {
		return nil, err
	}
	revoked := s.revoke(r)
	s.addEvents(r.Events)
	return revoked, nil
}

// revoke does the work of RevokeSessions but for the events; the caller
// holds s.mu.
func (s *Store) revoke(r domain.SessionRevocation) []string {
	revoked := s.revocable(r)
	for _, id := range revoked {
		sess := s.sessions[id]
		sess.RevokedAt = r.At
		s.sessions[id] = sess
		s.lastSeq++
		s.feed = append(s.feed, domain.Revocation{Seq: s.lastSeq, SessionID: id, UserID: sess.UserID, At: r.At, Expires: r.FeedExpires})
	}
	return revoked
}

// revocable returns the IDs of the live sessions r selects, in ID order;
// the caller holds s.mu.
func (s *Store) revocable(r domain.SessionRevocation) []string {
	var candidates []string
	switch {
	case r.SessionID != "":
		candidates = []string{r.SessionID}
	case r.UserID != "":
		for id := range s.userSessions[r.UserID] {
			candidates = append(candidates, id)
		}
	}
	var revoked []string
	for _, id := range candidates {
		sess, ok := s.sessions[id]
		if !ok || sess.Revoked() || id == r.ExceptID || (r.UserID != "" && sess.UserID != r.UserID) {
			continue
		}
		revoked = append(revoked, id)
	}
	sort.Strings(revoked)
	return revoked
}

// RevocationsSince returns up to limit feed entries with Seq > after and
// Expires after now, in Seq order. A limit of zero or less means no limit.
func (s *Store) RevocationsSince(ctx context.Context, after int64, now time.Time, limit int) ([]domain.Revocation, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	i, _ := slices.BinarySearchFunc(s.feed, after+1, func(r domain.Revocation, seq int64) int {
		return cmp.Compare(r.Seq, seq)
	})
	var out []domain.Revocation
	for _, r := range s.feed[i:] {
		if limit > 0 && len(out) == limit {
			break
		}
		if r.Expires.After(now) {
			out = append(out, r)
		}
	}
	return out, nil
}

// PruneRevocations deletes feed entries whose Expires is not after t. Seq
// numbers are never reused.
func (s *Store) PruneRevocations(ctx context.Context, t time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.feed = slices.DeleteFunc(s.feed, func(r domain.Revocation) bool { return !r.Expires.After(t) })
	return nil
}

// PruneSessions deletes every session whose ExpiresAt is not after before,
// revoked or not, with its refresh-token hashes, under one lock, and returns
// how many sessions went. Feed entries stay: they outlive their sessions.
func (s *Store) PruneSessions(ctx context.Context, before time.Time) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var n int64
	for id, sess := range s.sessions {
		if sess.ExpiresAt.After(before) {
			continue
		}
		for _, h := range s.sessionTokens[id] {
			delete(s.tokens, h)
		}
		delete(s.sessionTokens, id)
		delete(s.sessions, id)
		if ids := s.userSessions[sess.UserID]; ids != nil {
			delete(ids, id)
			if len(ids) == 0 {
				delete(s.userSessions, sess.UserID)
			}
		}
		n++
	}
	return n, nil
}
