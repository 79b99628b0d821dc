package gormstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/gatehouse-auth/gatehouse/domain"
	"gorm.io/gorm"
)

// CreateUser stores u; ErrUsernameTaken if the username is in use,
// ErrConflict if the id is.
func (s *Store) CreateUser(ctx context.Context, u *domain.User) error {
	row, err := toUserRow(u)
	if err != nil {
		return fmt.Errorf("create user %s: %w", u.ID, err)
	}
	err = s.conn(ctx).Create(&row).Error
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return s.duplicateUser(ctx, u, "create user")
	}
	return translate(err, "create user "+u.ID, domain.ErrConflict)
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

// UpdateUser saves every field of u except ID and CreatedAt; ErrNotFound if
// the user is gone, ErrUsernameTaken if it is renamed to a taken username.
func (s *Store) UpdateUser(ctx context.Context, u *domain.User) error {
	row, err := toUserRow(u)
	if err != nil {
		return fmt.Errorf("update user %s: %w", u.ID, err)
	}
	res := s.conn(ctx).Model(&userRow{}).Where("id = ?", u.ID).Updates(map[string]any{
		"username":      row.Username,
		"password_hash": row.PasswordHash,
		"roles":         row.Roles,
		"disabled":      row.Disabled,
		"not_before":    row.NotBefore,
		"updated_at":    row.UpdatedAt,
	})
	switch {
	case errors.Is(res.Error, gorm.ErrDuplicatedKey):
		return s.duplicateUser(ctx, u, "update user")
	case res.Error != nil:
		return translate(res.Error, "update user "+u.ID, domain.ErrConflict)
	case res.RowsAffected == 0:
		return fmt.Errorf("update user %s: %w", u.ID, domain.ErrNotFound)
	}
	return nil
}

// DeleteUser removes the user, its sessions and their refresh-token hashes
// in one transaction; ErrNotFound if absent. Feed entries stay: they
// outlive their sessions.
func (s *Store) DeleteUser(ctx context.Context, id string) error {
	return s.transaction(ctx, func(tx *gorm.DB) error {
		sessions := tx.Model(&sessionRow{}).Select("id").Where("user_id = ?", id)
		if err := tx.Where("session_id IN (?)", sessions).Delete(&refreshTokenRow{}).Error; err != nil {
			return translate(err, "delete refresh tokens of user "+id, domain.ErrConflict)
		}
		if err := tx.Where("user_id = ?", id).Delete(&sessionRow{}).Error; err != nil {
			return translate(err, "delete sessions of user "+id, domain.ErrConflict)
		}
		res := tx.Where("id = ?", id).Delete(&userRow{})
		if res.Error != nil {
			return translate(res.Error, "delete user "+id, domain.ErrConflict)
		}
		if res.RowsAffected == 0 {
			return fmt.Errorf("delete user %s: %w", id, domain.ErrNotFound)
		}
		return nil
	})
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
