package gormstore

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/gatehouse-auth/gatehouse/domain"
	"gorm.io/gorm"
)

// CreateUser stores u with events in one transaction; ErrUsernameTaken if
// the username is in use, ErrConflict if the id is.
func (s *Store) CreateUser(ctx context.Context, u *domain.User, events []domain.Event) error {
	row, err := toUserRow(u)
	if err != nil {
		return fmt.Errorf("create user %s: %w", u.ID, err)
	}
	duplicate := false
	err = s.transaction(ctx, func(tx *gorm.DB) error {
		if err := tx.Create(&row).Error; err != nil {
			duplicate = errors.Is(err, gorm.ErrDuplicatedKey)
			return translate(err, "create user "+u.ID, domain.ErrConflict)
		}
		return writeEvents(tx, events)
	})
	if duplicate {
		return s.duplicateUser(ctx, u, "create user")
	}
	return err
}

// duplicateUser tells a taken username from a taken id after a unique
// violation.
func (s *Store) duplicateUser(ctx context.Context, u *domain.User, what string) error {
	var n int64
	err := s.conn(ctx).Model(&userRow{}).Where("username = ? AND id <> ?", u.Username, u.ID).Count(&n).Error
	switch {
	case err != nil:
		return fmt.Errorf("%s %s: find duplicate: %w", what, u.ID, outage(err))
	case n > 0:
		return fmt.Errorf("%s %s: %w", what, u.ID, domain.ErrUsernameTaken)
	}
	return fmt.Errorf("%s %s: %w", what, u.ID, domain.ErrConflict)
}

// UserByID returns the user or ErrNotFound.
func (s *Store) UserByID(ctx context.Context, id string) (*domain.User, error) {
	return s.userWhere(ctx, "user "+id, "id = ?", id)
}

// UserByUsername returns the user with exactly this normalised username or
// ErrNotFound.
func (s *Store) UserByUsername(ctx context.Context, username string) (*domain.User, error) {
	return s.userWhere(ctx, "user by username", "username = ?", username)
}

func (s *Store) userWhere(ctx context.Context, what, cond string, arg string) (*domain.User, error) {
	var row userRow
	if err := s.conn(ctx).Where(cond, arg).Take(&row).Error; err != nil {
		return nil, translate(err, what, domain.ErrConflict)
	}
	u, err := row.toDomain()
	if err != nil {
		return nil, fmt.Errorf("%s: decode: %w", what, err)
	}
	return &u, nil
}

// ChangeUser applies ch in one transaction. Its first statement is the
// UPDATE of the user's row, which writes only the fields ch sets and, for a
// credential change, moves the stamp on: from then on the row is locked, so
// a CreateSession racing it either committed before (and its session is
// revoked below, with the others) or waits and then sees the new stamp.
// ch.MFA is applied after it, under the same lock (applyMFAChange).
// ErrNotFound if the user is gone, ErrConflict if ch.IfStamp is stale,
// ErrMFANotEnabled if ch.MFA enables without a pending TOTP (the whole
// change then rolls back).
func (s *Store) ChangeUser(ctx context.Context, ch domain.UserChange) (*domain.User, []string, error) {
	what := "change user " + ch.UserID
	sets := []string{"updated_at = ?"}
	args := []any{utc(ch.At)}
	if ch.PasswordHash != "" {
		sets, args = append(sets, "password_hash = ?"), append(args, ch.PasswordHash)
	}
	if ch.Disabled != nil {
		sets, args = append(sets, "disabled = ?"), append(args, *ch.Disabled)
	}
	if ch.Roles != nil {
		roles, err := encodeList(*ch.Roles)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", what, err)
		}
		sets, args = append(sets, "roles = ?"), append(args, roles)
	}
	if ch.MFA != nil && (ch.MFA.Enable || ch.MFA.Disable) {
		sets, args = append(sets, "mfa_enabled = ?"), append(args, ch.MFA.Enable)
	}
	if ch.EndSessions {
		sets = append(sets, "stamp = stamp + 1")
	}
	update := "UPDATE users SET " + strings.Join(sets, ", ") + " WHERE id = ?"
	args = append(args, ch.UserID)
	if ch.IfStamp != 0 {
		update += " AND stamp = ?"
		args = append(args, ch.IfStamp)
	}
	update += " RETURNING id, username, password_hash, roles, disabled, mfa_enabled, stamp, created_at, updated_at"

	var rows []userRow
	var revoked, keys []string
	err := s.transaction(ctx, func(tx *gorm.DB) error {
		if err := tx.Raw(update, args...).Scan(&rows).Error; err != nil {
			return translate(err, what, domain.ErrConflict)
		}
		if len(rows) == 0 {
			return missingOrStale(tx, ch.UserID, what)
		}
		if err := applyMFAChange(tx, ch.UserID, ch.MFA, ch.At); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		var err error
		if ch.RevokeAPIKeys {
			if keys, err = revokeAPIKeysIn(tx, "user_id = ?", []any{ch.UserID}, ch.At, ch.FeedExpires); err != nil {
				return err
			}
		}
		if ch.EndSessions {
			revoked, err = revokeIn(tx, domain.SessionRevocation{UserID: ch.UserID, ExceptID: ch.KeepSession, At: ch.At, FeedExpires: ch.FeedExpires})
			if err != nil {
				return err
			}
		}
		if ch.EndSessions && ch.KeepSession != "" {
			err = tx.Exec("UPDATE sessions SET user_stamp = ? WHERE id = ? AND user_id = ? AND revoked_at IS NULL",
				rows[0].Stamp, ch.KeepSession, ch.UserID).Error
			if err != nil {
				return translate(err, what+": keep session", domain.ErrConflict)
			}
		}
		return writeEvents(tx, ch.Events)
	})
	if err != nil {
		return nil, nil, err
	}
	u, err := rows[0].toDomain()
	if err != nil {
		return nil, nil, fmt.Errorf("%s: decode: %w", what, err)
	}
	return &u, append(revoked, keys...), nil
}

// missingOrStale tells why a conditional UPDATE of a user matched nothing.
func missingOrStale(tx *gorm.DB, id, what string) error {
	var n int64
	if err := tx.Model(&userRow{}).Where("id = ?", id).Count(&n).Error; err != nil {
		return translate(err, what, domain.ErrConflict)
	}
	if n == 0 {
		return fmt.Errorf("%s: %w", what, domain.ErrNotFound)
	}
	return fmt.Errorf("%s: stamp moved: %w", what, domain.ErrConflict)
}

// DeleteUser removes the user d.ID, its sessions and their refresh-token
// hashes, its API keys and its MFA rows in one transaction with d.Events, feeding the
// live sessions and keys as revoked, and returns their revocation ids;
// ErrNotFound if absent. The user's events stay (events have no foreign
// key to users). It starts by moving the user's stamp on,
// which locks the row against a racing CreateSession as ChangeUser does.
func (s *Store) DeleteUser(ctx context.Context, d domain.UserDeletion) ([]string, error) {
	id, at, feedExpires := d.ID, d.At, d.FeedExpires
	what := "delete user " + id
	var revoked []string
	err := s.transaction(ctx, func(tx *gorm.DB) error {
		res := tx.Exec("UPDATE users SET stamp = stamp + 1 WHERE id = ?", id)
		if res.Error != nil {
			return translate(res.Error, what, domain.ErrConflict)
		}
		if res.RowsAffected == 0 {
			return fmt.Errorf("%s: %w", what, domain.ErrNotFound)
		}
		var err error
		if revoked, err = revokeIn(tx, domain.SessionRevocation{UserID: id, At: at, FeedExpires: feedExpires}); err != nil {
			return err
		}
		keys, err := revokeAPIKeysIn(tx, "user_id = ?", []any{id}, at, feedExpires)
		if err != nil {
			return err
		}
		revoked = append(revoked, keys...)
		if err := deleteMFAOf(tx, id); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		if err := tx.Where("user_id = ?", id).Delete(&apiKeyRow{}).Error; err != nil {
			return translate(err, what+": api keys", domain.ErrConflict)
		}
		sessions := tx.Model(&sessionRow{}).Select("id").Where("user_id = ?", id)
		if err := tx.Where("session_id IN (?)", sessions).Delete(&refreshTokenRow{}).Error; err != nil {
			return translate(err, what+": refresh tokens", domain.ErrConflict)
		}
		if err := tx.Where("user_id = ?", id).Delete(&sessionRow{}).Error; err != nil {
			return translate(err, what+": sessions", domain.ErrConflict)
		}
		if err := tx.Where("id = ?", id).Delete(&userRow{}).Error; err != nil {
			return translate(err, what, domain.ErrConflict)
		}
		return writeEvents(tx, d.Events)
	})
	if err != nil {
		return nil, err
	}
	return revoked, nil
}

// ListUsers returns up to limit users with IDs greater than after, in ID
// order. A limit of zero or less means no limit.
func (s *Store) ListUsers(ctx context.Context, after string, limit int) ([]domain.User, error) {
	q := s.conn(ctx).Where("id > ?", after).Order("id")
	if limit > 0 {
		q = q.Limit(limit)
	}
	var rows []userRow
	if err := q.Find(&rows).Error; err != nil {
		return nil, translate(err, "list users", domain.ErrConflict)
	}
	out := make([]domain.User, 0, len(rows))
	for i := range rows {
		u, err := rows[i].toDomain()
		if err != nil {
			return nil, fmt.Errorf("list users: decode %s: %w", rows[i].ID, err)
		}
		out = append(out, u)
	}
	return out, nil
}
