package gormstore

import (
	"context"
	"fmt"

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

// RotateRefreshToken moves the session from r.FromGeneration to the next
// generation with one conditional UPDATE and records r.NewHash, in one
// transaction: of concurrent rotations from the same generation exactly one
// matches the row. ErrConflict if the session is revoked or at another
// generation, ErrNotFound if it is gone.
func (s *Store) RotateRefreshToken(ctx context.Context, r domain.Rotation) error {
	what := "rotate session " + r.SessionID
	return s.transaction(ctx, func(tx *gorm.DB) error {
		res := tx.Model(&sessionRow{}).
			Where("id = ? AND generation = ? AND revoked_at IS NULL", r.SessionID, r.FromGeneration).
			Updates(map[string]any{
				"generation":       r.FromGeneration + 1,
				"rotated_at":       nullTime(r.At),
				"sealed_successor": nonEmpty(r.SealedSuccessor),
			})
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
		tok := refreshTokenRow{Hash: r.NewHash, SessionID: r.SessionID, Generation: r.FromGeneration + 1, CreatedAt: utc(r.At)}
		if err := tx.Create(&tok).Error; err != nil {
			return translate(err, what+": record refresh token", domain.ErrConflict)
		}
		return nil
	})
}
