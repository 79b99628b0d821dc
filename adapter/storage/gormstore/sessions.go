package gormstore

import (
	"context"
	"fmt"
	"time"

	"github.com/gatehouse-auth/gatehouse/domain"
	"gorm.io/gorm"
)

// CreateSession stores sess and its first refresh token in one transaction;
// the token belongs to sess whatever first.SessionID says. ErrNotFound if
// the user does not exist, ErrConflict if the session id or token hash is
// already used.
func (s *Store) CreateSession(ctx context.Context, sess *domain.Session, first domain.RefreshToken) error {
	row, err := toSessionRow(sess)
	if err != nil {
		return fmt.Errorf("create session %s: %w", sess.ID, err)
	}
	tok := refreshTokenRow{Hash: first.Hash, SessionID: sess.ID, Generation: first.Generation, CreatedAt: utc(first.CreatedAt)}
	return s.transaction(ctx, func(tx *gorm.DB) error {
		if err := tx.Create(&row).Error; err != nil {
			return translate(err, "create session "+sess.ID, domain.ErrConflict)
		}
		if err := tx.Create(&tok).Error; err != nil {
			return translate(err, "create session "+sess.ID+": refresh token", domain.ErrConflict)
		}
		return nil
	})
}

// SessionByID returns the session or ErrNotFound.
func (s *Store) SessionByID(ctx context.Context, id string) (*domain.Session, error) {
	var row sessionRow
	if err := s.conn(ctx).Where("id = ?", id).Take(&row).Error; err != nil {
		return nil, translate(err, "session "+id, domain.ErrConflict)
	}
	sess, err := row.toDomain()
	if err != nil {
		return nil, fmt.Errorf("session %s: decode: %w", id, err)
	}
	return &sess, nil
}

// RefreshTokenByHash returns the token record or ErrNotFound.
func (s *Store) RefreshTokenByHash(ctx context.Context, hash []byte) (*domain.RefreshToken, error) {
	var row refreshTokenRow
	if err := s.conn(ctx).Where("hash = ?", hash).Take(&row).Error; err != nil {
		return nil, translate(err, "refresh token", domain.ErrConflict)
	}
	tok := row.toDomain()
	return &tok, nil
}

// refreshGrantQuery reads a refresh token, its session and the session's
// user in one statement; inner joins make a missing session or user look
// like a missing token.
const refreshGrantQuery = `SELECT
    t.hash AS t_hash, t.session_id AS t_session_id, t.generation AS t_generation, t.created_at AS t_created_at,
    s.id AS s_id, s.user_id AS s_user_id, s.scope AS s_scope, s.created_at AS s_created_at,
    s.expires_at AS s_expires_at, s.generation AS s_generation, s.rotated_at AS s_rotated_at,
    s.sealed_successor AS s_sealed_successor, s.revoked_at AS s_revoked_at,
    u.id AS u_id, u.username AS u_username, u.password_hash AS u_password_hash, u.roles AS u_roles,
    u.disabled AS u_disabled, u.not_before AS u_not_before, u.created_at AS u_created_at, u.updated_at AS u_updated_at
FROM refresh_tokens t
JOIN sessions s ON s.id = t.session_id
JOIN users u ON u.id = s.user_id
WHERE t.hash = ?`

// RefreshGrant returns the token record with hash, its session and the
// session's user from one SELECT; ErrNotFound if any of them is missing.
func (s *Store) RefreshGrant(ctx context.Context, hash []byte) (*domain.RefreshGrant, error) {
	var row refreshGrantRow
	res := s.conn(ctx).Raw(refreshGrantQuery, hash).Scan(&row)
	switch {
	case res.Error != nil:
		return nil, translate(res.Error, "refresh grant", domain.ErrConflict)
	case res.RowsAffected == 0:
		return nil, fmt.Errorf("refresh grant: %w", domain.ErrNotFound)
	}
	g, err := row.toDomain()
	if err != nil {
		return nil, fmt.Errorf("refresh grant: session %s: decode: %w", row.Session.ID, err)
	}
	return &g, nil
}

// rotateSession is the conditional UPDATE of a rotation, and
// insertRefreshToken records the new token. Plain statements through Exec
// skip GORM's model and hook machinery on the hottest write path; the
// arguments keep the row structs' representation (UTC times, NULL for the
// zero time and for an empty successor).
//
// GORM expands a slice bound right after "(" into a list (for IN (?)), so
// no []byte may be the first value of a VALUES list: the hash goes last.
const (
	rotateSession = `UPDATE sessions SET generation = ?, rotated_at = ?, sealed_successor = ?
WHERE id = ? AND generation = ? AND revoked_at IS NULL`
	insertRefreshToken = `INSERT INTO refresh_tokens (session_id, generation, created_at, hash) VALUES (?, ?, ?, ?)`
)

// RotateRefreshToken moves the session from r.FromGeneration to the next
// generation with one conditional UPDATE and records r.NewHash, in one
// transaction: of concurrent rotations from the same generation exactly one
// matches the row. ErrConflict if the session is revoked or at another
// generation, ErrNotFound if it is gone.
func (s *Store) RotateRefreshToken(ctx context.Context, r domain.Rotation) error {
	what := "rotate session " + r.SessionID
	return s.transaction(ctx, func(tx *gorm.DB) error {
		next := r.FromGeneration + 1
		res := tx.Exec(rotateSession, next, nullTime(r.At), nonEmpty(r.SealedSuccessor), r.SessionID, r.FromGeneration)
		if res.Error != nil {
			return translate(res.Error, what, domain.ErrConflict)
		}
		if res.RowsAffected == 0 {
			var n int64
			if err := tx.Model(&sessionRow{}).Where("id = ?", r.SessionID).Count(&n).Error; err != nil {
				return translate(err, what, domain.ErrConflict)
			}
			if n == 0 {
				return fmt.Errorf("%s: %w", what, domain.ErrNotFound)
			}
			return fmt.Errorf("%s: %w", what, domain.ErrConflict)
		}
		if err := tx.Exec(insertRefreshToken, r.SessionID, next, utc(r.At), r.NewHash).Error; err != nil {
			return translate(err, what+": record refresh token", domain.ErrConflict)
		}
		return nil
	})
}

// pruneBatch is how many expired sessions one PruneSessions transaction
// deletes. A session owns one refresh-token row per rotation, and on SQLite
// a transaction holds the only write lock, so a backlog goes in short
// transactions rather than one long one.
const pruneBatch = 100

// expiredBatch selects the next batch to prune in the order of
// sessions_expires_at_idx; pruneRefreshTokens and pruneSessions use it in
// that order within one transaction, so both pick the same sessions. (On
// Postgres a concurrent prune may commit in between and the second pick
// reach further; ON DELETE CASCADE then removes those sessions' tokens.)
const (
	expiredBatch       = `SELECT id FROM sessions WHERE expires_at <= ? ORDER BY expires_at, id LIMIT ?`
	pruneRefreshTokens = `DELETE FROM refresh_tokens WHERE session_id IN (` + expiredBatch + `)`
	pruneSessions      = `DELETE FROM sessions WHERE id IN (` + expiredBatch + `)`
)

// PruneSessions deletes every session whose ExpiresAt is not after before,
// revoked or not, with its refresh-token rows, and returns how many sessions
// went. Each batch of pruneBatch sessions is one transaction that deletes
// the tokens first, so it does not depend on the cascade. Feed entries stay:
// the revocations table has no foreign key to sessions.
func (s *Store) PruneSessions(ctx context.Context, before time.Time) (int64, error) {
	b := utc(before)
	var total int64
	for {
		var n int64
		err := s.transaction(ctx, func(tx *gorm.DB) error {
			if err := tx.Exec(pruneRefreshTokens, b, pruneBatch).Error; err != nil {
				return translate(err, "prune refresh tokens of expired sessions", domain.ErrConflict)
			}
			res := tx.Exec(pruneSessions, b, pruneBatch)
			if res.Error != nil {
				return translate(res.Error, "prune expired sessions", domain.ErrConflict)
			}
			n = res.RowsAffected
			return nil
		})
		if err != nil {
			return total, err
		}
		total += n
		if n < pruneBatch {
			return total, nil
		}
	}
}
