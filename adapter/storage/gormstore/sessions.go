package gormstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/gatehouse-auth/gatehouse/domain"
	"gorm.io/gorm"
)

// CreateSession stores sess and its first refresh token in one transaction;
// the token belongs to sess whatever first.SessionID says. ErrNotFound if
// the user does not exist; ErrConflict if it is disabled or its stamp is no
// longer sess.UserStamp, or if the session id or token hash is already used.
//
// The user's row is read under a share lock (Postgres; SQLite runs one
// write transaction at a time): a ChangeUser or DeleteUser that locked it
// first makes this wait and then see the new stamp, and one that comes
// after waits for this commit and then revokes the new session with the
// others.
func (s *Store) CreateSession(ctx context.Context, sess *domain.Session, first domain.RefreshToken) error {
	row, err := toSessionRow(sess)
	if err != nil {
		return fmt.Errorf("create session %s: %w", sess.ID, err)
	}
	tok := refreshTokenRow{Hash: first.Hash, SessionID: sess.ID, Generation: first.Generation, CreatedAt: utc(first.CreatedAt)}
	lockUser := "SELECT stamp, disabled FROM users WHERE id = ?"
	if s.isPostgres() {
		lockUser += " FOR SHARE"
	}
	return s.transaction(ctx, func(tx *gorm.DB) error {
		var u struct {
			Stamp    int64
			Disabled bool
		}
		res := tx.Raw(lockUser, sess.UserID).Scan(&u)
		switch {
		case res.Error != nil:
			return translate(res.Error, "create session "+sess.ID+": read user", domain.ErrConflict)
		case res.RowsAffected == 0:
			return fmt.Errorf("create session %s: user %s: %w", sess.ID, sess.UserID, domain.ErrNotFound)
		case u.Disabled || u.Stamp != sess.UserStamp:
			return fmt.Errorf("create session %s: user %s changed: %w", sess.ID, sess.UserID, domain.ErrConflict)
		}
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

// ListSessions returns the user's sessions that are neither revoked nor
// expired at now, newest first (sessions_user_id_idx finds them).
func (s *Store) ListSessions(ctx context.Context, userID string, now time.Time) ([]domain.Session, error) {
	var rows []sessionRow
	err := s.conn(ctx).
		Where("user_id = ? AND revoked_at IS NULL AND expires_at > ?", userID, utc(now)).
		Order("created_at DESC, id DESC").
		Find(&rows).Error
	if err != nil {
		return nil, translate(err, "list sessions of user "+userID, domain.ErrConflict)
	}
	out := make([]domain.Session, 0, len(rows))
	for i := range rows {
		sess, err := rows[i].toDomain()
		if err != nil {
			return nil, fmt.Errorf("list sessions: session %s: decode: %w", rows[i].ID, err)
		}
		out = append(out, sess)
	}
	return out, nil
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
// like a missing token. Its columns are scanned in this order by
// RefreshGrant.
const refreshGrantQuery = `SELECT
    t.hash, t.session_id, t.generation, t.created_at,
    s.id, s.user_id, s.user_stamp, s.scope, s.created_at, s.expires_at, s.generation, s.rotated_at, s.sealed_successor, s.revoked_at, s.last_used_at, s.ip, s.user_agent, s.amr, s.acr,
    u.id, u.username, u.password_hash, u.roles, u.disabled, u.mfa_enabled, u.stamp, u.created_at, u.updated_at
FROM refresh_tokens t
JOIN sessions s ON s.id = t.session_id
JOIN users u ON u.id = s.user_id
WHERE t.hash = $1`

// RefreshGrant returns the token record with hash, its session and the
// session's user from one prepared SELECT; ErrNotFound if any is missing.
// The call is a store span (tracing.go).
func (s *Store) RefreshGrant(ctx context.Context, hash []byte) (*domain.RefreshGrant, error) {
	ctx, end := s.traceSQL(ctx, "RefreshGrant", refreshGrantQuery)
	v, err := s.refreshGrant(ctx, hash)
	end(err)
	return v, err
}

// refreshGrant is RefreshGrant without its span.
func (s *Store) refreshGrant(ctx context.Context, hash []byte) (*domain.RefreshGrant, error) {
	st, err := s.prepared(ctx, refreshGrantQuery)
	if err != nil {
		return nil, s.translateSQL(err, "refresh grant: prepare", domain.ErrConflict)
	}
	var row refreshGrantRow
	t, se, u := &row.Token, &row.Session, &row.User
	err = st.QueryRowContext(ctx, hash).Scan(
		&t.Hash, &t.SessionID, &t.Generation, &t.CreatedAt,
		&se.ID, &se.UserID, &se.UserStamp, &se.Scope, &se.CreatedAt, &se.ExpiresAt, &se.Generation, &se.RotatedAt, &se.SealedSuccessor, &se.RevokedAt, &se.LastUsedAt, &se.IP, &se.UserAgent, &se.AMR, &se.ACR,
		&u.ID, &u.Username, &u.PasswordHash, &u.Roles, &u.Disabled, &u.MFAEnabled, &u.Stamp, &u.CreatedAt, &u.UpdatedAt,
	)
	if err != nil {
		return nil, s.translateSQL(err, "refresh grant", domain.ErrConflict)
	}
	g, err := row.toDomain()
	if err != nil {
		return nil, fmt.Errorf("refresh grant: session %s: decode: %w", se.ID, err)
	}
	return &g, nil
}

// rotateSession is the conditional UPDATE of a rotation: the session must
// be live, at the expected generation, and its user enabled and still at
// the stamp the session was established under. insertRefreshToken records
// the new token. Their arguments keep the row structs' representation: UTC
// times, NULL for the zero time and for an empty successor.
const (
	rotateSession = `UPDATE sessions SET generation = $1, rotated_at = $2, last_used_at = $2, sealed_successor = $3
WHERE id = $4 AND generation = $5 AND revoked_at IS NULL
  AND user_stamp = (SELECT u.stamp FROM users u WHERE u.id = sessions.user_id AND NOT u.disabled)`
	insertRefreshToken = `INSERT INTO refresh_tokens (hash, session_id, generation, created_at) VALUES ($1, $2, $3, $4)`
	countSession       = `SELECT COUNT(*) FROM sessions WHERE id = $1`
)

// RotateRefreshToken moves the session from r.FromGeneration to the next
// generation with one conditional UPDATE and records r.NewHash, in one
// transaction: of concurrent rotations from the same generation exactly one
// matches the row. ErrConflict if the session is revoked or at another
// generation or its user changed, ErrNotFound if it is gone.
// The call is a store span (tracing.go).
func (s *Store) RotateRefreshToken(ctx context.Context, r domain.Rotation) error {
	ctx, end := s.traceSQL(ctx, "RotateRefreshToken", rotateSession)
	err := s.rotateRefreshToken(ctx, r)
	end(err)
	return err
}

// rotateRefreshToken is RotateRefreshToken without its span.
func (s *Store) rotateRefreshToken(ctx context.Context, r domain.Rotation) error {
	what := "rotate session " + r.SessionID
	rotate, err := s.prepared(ctx, rotateSession)
	if err != nil {
		return s.translateSQL(err, what+": prepare", domain.ErrConflict)
	}
	insert, err := s.prepared(ctx, insertRefreshToken)
	if err != nil {
		return s.translateSQL(err, what+": prepare", domain.ErrConflict)
	}
	return s.sqlTransaction(ctx, func(tx *sql.Tx) error {
		next := r.FromGeneration + 1
		res, err := tx.StmtContext(ctx, rotate).ExecContext(ctx, next, nullTime(r.At), nonEmpty(r.SealedSuccessor), r.SessionID, r.FromGeneration)
		if err != nil {
			return s.translateSQL(err, what, domain.ErrConflict)
		}
		rotated, err := res.RowsAffected()
		if err != nil {
			return s.translateSQL(err, what, domain.ErrConflict)
		}
		if rotated == 0 {
			// Gone (ErrNotFound), or revoked or at another generation.
			var sessions int64
			if err := tx.QueryRowContext(ctx, countSession, r.SessionID).Scan(&sessions); err != nil {
				return s.translateSQL(err, what, domain.ErrConflict)
			}
			if sessions == 0 {
				return fmt.Errorf("%s: %w", what, domain.ErrNotFound)
			}
			return fmt.Errorf("%s: %w", what, domain.ErrConflict)
		}
		if _, err := tx.StmtContext(ctx, insert).ExecContext(ctx, r.NewHash, r.SessionID, next, utc(r.At)); err != nil {
			return s.translateSQL(err, what+": record refresh token", domain.ErrConflict)
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
