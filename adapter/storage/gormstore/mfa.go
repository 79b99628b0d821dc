package gormstore

import (
	"context"
	"fmt"
	"time"

	"github.com/gatehouse-auth/gatehouse/domain"
	"gorm.io/gorm"
)

// Compile-time check that Store implements the MFA port.
var _ domain.MFAStore = (*Store)(nil)

type totpRow struct {
	UserID      string     `gorm:"column:user_id;primaryKey"`
	Secret      []byte     `gorm:"column:secret"`
	CreatedAt   time.Time  `gorm:"column:created_at;autoCreateTime:false"`
	ConfirmedAt *time.Time `gorm:"column:confirmed_at"`
	LastStep    int64      `gorm:"column:last_step"`
}

func (totpRow) TableName() string { return "mfa_totp" }

func (r *totpRow) toDomain() domain.TOTP {
	return domain.TOTP{
		UserID: r.UserID, Secret: nonEmpty(r.Secret), CreatedAt: utc(r.CreatedAt),
		ConfirmedAt: fromNull(r.ConfirmedAt), LastStep: r.LastStep,
	}
}

type recoveryCodeRow struct {
	UserID string     `gorm:"column:user_id;primaryKey"`
	Hash   []byte     `gorm:"column:hash;primaryKey"`
	UsedAt *time.Time `gorm:"column:used_at"`
}

func (recoveryCodeRow) TableName() string { return "mfa_recovery_codes" }

type mfaTokenRow struct {
	Hash      []byte     `gorm:"column:hash;primaryKey"`
	UserID    string     `gorm:"column:user_id"`
	UserStamp int64      `gorm:"column:user_stamp"`
	Scope     string     `gorm:"column:scope"`
	Grant     string     `gorm:"column:grant_type"`
	IP        string     `gorm:"column:ip"`
	UserAgent string     `gorm:"column:user_agent"`
	CreatedAt time.Time  `gorm:"column:created_at;autoCreateTime:false"`
	ExpiresAt time.Time  `gorm:"column:expires_at"`
	Failures  int64      `gorm:"column:failures"`
	UsedAt    *time.Time `gorm:"column:used_at"`
}

func (mfaTokenRow) TableName() string { return "mfa_tokens" }

func toMFATokenRow(t *domain.MFAToken) (mfaTokenRow, error) {
	scope, err := encodeList(t.Scope)
	return mfaTokenRow{
		Hash: t.Hash, UserID: t.UserID, UserStamp: t.UserStamp, Scope: scope, Grant: t.Grant,
		IP: t.IP, UserAgent: t.UserAgent, CreatedAt: utc(t.CreatedAt), ExpiresAt: utc(t.ExpiresAt),
		Failures: int64(t.Failures), UsedAt: nullTime(t.UsedAt),
	}, err
}

func (r *mfaTokenRow) toDomain() (domain.MFAToken, error) {
	scope, err := decodeList(r.Scope)
	return domain.MFAToken{
		Hash: nonEmpty(r.Hash), UserID: r.UserID, UserStamp: r.UserStamp, Scope: scope, Grant: r.Grant,
		IP: r.IP, UserAgent: r.UserAgent, CreatedAt: utc(r.CreatedAt), ExpiresAt: utc(r.ExpiresAt),
		Failures: int(r.Failures), UsedAt: fromNull(r.UsedAt),
	}, err
}

// applyMFAChange writes ch inside ChangeUser's transaction, after the
// UPDATE of the user's row (which set mfa_enabled and holds the row lock).
// Enable confirms the pending factor or fails with ErrMFANotEnabled;
// Disable deletes the factor and the codes; RecoveryCodes replace the codes.
func applyMFAChange(tx *gorm.DB, userID string, ch *domain.MFAChange, at time.Time) error {
	if ch == nil {
		return nil
	}
	if ch.Enable {
		res := tx.Exec("UPDATE mfa_totp SET confirmed_at = ?, last_step = ? WHERE user_id = ? AND confirmed_at IS NULL AND secret = ?",
			utc(at), ch.Step, userID, ch.Secret)
		if res.Error != nil {
			return translate(res.Error, "confirm totp", domain.ErrConflict)
		}
		if res.RowsAffected == 0 {
			var pending int64
			if err := tx.Model(&totpRow{}).Where("user_id = ? AND confirmed_at IS NULL", userID).Count(&pending).Error; err != nil {
				return translate(err, "confirm totp", domain.ErrConflict)
			}
			if pending > 0 {
				return fmt.Errorf("confirm totp: the pending secret was replaced: %w", domain.ErrConflict)
			}
			return fmt.Errorf("no pending totp: %w", domain.ErrMFANotEnabled)
		}
	}
	if ch.Disable {
		if err := tx.Where("user_id = ?", userID).Delete(&totpRow{}).Error; err != nil {
			return translate(err, "delete totp", domain.ErrConflict)
		}
		if err := tx.Where("user_id = ?", userID).Delete(&recoveryCodeRow{}).Error; err != nil {
			return translate(err, "delete recovery codes", domain.ErrConflict)
		}
	}
	if ch.RecoveryCodes != nil {
		if err := tx.Where("user_id = ?", userID).Delete(&recoveryCodeRow{}).Error; err != nil {
			return translate(err, "replace recovery codes", domain.ErrConflict)
		}
		if len(ch.RecoveryCodes) == 0 {
			return nil
		}
		rows := make([]recoveryCodeRow, len(ch.RecoveryCodes))
		for i, h := range ch.RecoveryCodes {
			rows[i] = recoveryCodeRow{UserID: userID, Hash: h}
		}
		if err := tx.Create(&rows).Error; err != nil {
			return translate(err, "replace recovery codes", domain.ErrConflict)
		}
	}
	return nil
}

// deleteMFAOf deletes the user's factor, recovery codes and mfa tokens
// inside DeleteUser's transaction, without relying on the cascade.
func deleteMFAOf(tx *gorm.DB, userID string) error {
	for _, m := range []any{&mfaTokenRow{}, &recoveryCodeRow{}, &totpRow{}} {
		if err := tx.Where("user_id = ?", userID).Delete(m).Error; err != nil {
			return translate(err, "delete mfa", domain.ErrConflict)
		}
	}
	return nil
}

// PutPendingTOTP replaces the user's pending factor with t in one
// transaction that first locks the user's row (FOR UPDATE on Postgres;
// SQLite serialises writers), as ChangeUser's confirmation does: a
// confirmation and a new enrolment never interleave.
func (s *Store) PutPendingTOTP(ctx context.Context, t *domain.TOTP) error {
	what := "put pending totp of user " + t.UserID
	lockUser := "SELECT id FROM users WHERE id = ?"
	if s.isPostgres() {
		lockUser += " FOR UPDATE"
	}
	row := totpRow{UserID: t.UserID, Secret: t.Secret, CreatedAt: utc(t.CreatedAt), LastStep: t.LastStep}
	return s.transaction(ctx, func(tx *gorm.DB) error {
		var ids []string
		if err := tx.Raw(lockUser, t.UserID).Scan(&ids).Error; err != nil {
			return translate(err, what+": read user", domain.ErrConflict)
		}
		if len(ids) == 0 {
			return fmt.Errorf("%s: %w", what, domain.ErrNotFound)
		}
		var confirmed int64
		if err := tx.Model(&totpRow{}).Where("user_id = ? AND confirmed_at IS NOT NULL", t.UserID).Count(&confirmed).Error; err != nil {
			return translate(err, what, domain.ErrConflict)
		}
		if confirmed > 0 {
			return fmt.Errorf("%s: %w", what, domain.ErrMFAAlreadyEnabled)
		}
		if err := tx.Where("user_id = ?", t.UserID).Delete(&totpRow{}).Error; err != nil {
			return translate(err, what, domain.ErrConflict)
		}
		return translate(tx.Create(&row).Error, what, domain.ErrConflict)
	})
}

// TOTPOf returns the user's factor, pending or confirmed, or ErrNotFound.
func (s *Store) TOTPOf(ctx context.Context, userID string) (*domain.TOTP, error) {
	var row totpRow
	if err := s.conn(ctx).Where("user_id = ?", userID).Take(&row).Error; err != nil {
		return nil, translate(err, "totp of user "+userID, domain.ErrConflict)
	}
	t := row.toDomain()
	return &t, nil
}

// UseTOTPStep is one conditional UPDATE: of concurrent uses of a step, the
// database lets exactly one see last_step below it.
func (s *Store) UseTOTPStep(ctx context.Context, userID string, step int64) (bool, error) {
	what := "use totp step of user " + userID
	res := s.conn(ctx).Exec("UPDATE mfa_totp SET last_step = ? WHERE user_id = ? AND last_step < ?", step, userID, step)
	if res.Error != nil {
		return false, translate(res.Error, what, domain.ErrConflict)
	}
	if res.RowsAffected > 0 {
		return true, nil
	}
	var n int64
	if err := s.conn(ctx).Model(&totpRow{}).Where("user_id = ?", userID).Count(&n).Error; err != nil {
		return false, translate(err, what, domain.ErrConflict)
	}
	if n == 0 {
		return false, fmt.Errorf("%s: %w", what, domain.ErrNotFound)
	}
	return false, nil
}

// UseRecoveryCode marks the code used with one conditional UPDATE and, when
// it matched, writes events in the same transaction.
func (s *Store) UseRecoveryCode(ctx context.Context, userID string, hash []byte, at time.Time, events []domain.Event) (bool, error) {
	what := "use recovery code of user " + userID
	var used bool
	err := s.transaction(ctx, func(tx *gorm.DB) error {
		res := tx.Exec("UPDATE mfa_recovery_codes SET used_at = ? WHERE user_id = ? AND hash = ? AND used_at IS NULL",
			utc(at), userID, hash)
		if res.Error != nil {
			return translate(res.Error, what, domain.ErrConflict)
		}
		if res.RowsAffected == 0 {
			return nil
		}
		used = true
		return writeEvents(tx, events)
	})
	if err != nil {
		return false, err
	}
	return used, nil
}

// RecoveryCodesLeft counts the user's unused recovery codes.
func (s *Store) RecoveryCodesLeft(ctx context.Context, userID string) (int, error) {
	var n int64
	err := s.conn(ctx).Model(&recoveryCodeRow{}).Where("user_id = ? AND used_at IS NULL", userID).Count(&n).Error
	if err != nil {
		return 0, translate(err, "count recovery codes of user "+userID, domain.ErrConflict)
	}
	return int(n), nil
}

// CreateMFAToken stores t; ErrConflict if the hash is taken, ErrNotFound if
// the user is gone.
func (s *Store) CreateMFAToken(ctx context.Context, t *domain.MFAToken) error {
	row, err := toMFATokenRow(t)
	if err != nil {
		return fmt.Errorf("create mfa token: %w", err)
	}
	return translate(s.conn(ctx).Create(&row).Error, "create mfa token", domain.ErrConflict)
}

// MFATokenByHash returns the token or ErrNotFound.
func (s *Store) MFATokenByHash(ctx context.Context, hash []byte) (*domain.MFAToken, error) {
	var row mfaTokenRow
	if err := s.conn(ctx).Where("hash = ?", hash).Take(&row).Error; err != nil {
		return nil, translate(err, "mfa token", domain.ErrConflict)
	}
	t, err := row.toDomain()
	if err != nil {
		return nil, fmt.Errorf("mfa token: decode: %w", err)
	}
	return &t, nil
}

// FailMFAToken is one UPDATE ... RETURNING: the increment and the count it
// returns are the same atomic step.
func (s *Store) FailMFAToken(ctx context.Context, hash []byte) (int, error) {
	var failures []int64
	err := s.conn(ctx).Raw("UPDATE mfa_tokens SET failures = failures + 1 WHERE hash = ? RETURNING failures", hash).Scan(&failures).Error
	if err != nil {
		return 0, translate(err, "fail mfa token", domain.ErrConflict)
	}
	if len(failures) == 0 {
		return 0, fmt.Errorf("fail mfa token: %w", domain.ErrNotFound)
	}
	return int(failures[0]), nil
}

// ConsumeMFAToken is one conditional UPDATE that holds MFAToken.Live's
// rule: of concurrent calls exactly one matches the row.
func (s *Store) ConsumeMFAToken(ctx context.Context, hash []byte, now time.Time) (bool, error) {
	res := s.conn(ctx).Exec(
		"UPDATE mfa_tokens SET used_at = ? WHERE hash = ? AND used_at IS NULL AND failures < ? AND expires_at > ?",
		utc(now), hash, domain.MFATokenMaxFailures, utc(now))
	if res.Error != nil {
		return false, translate(res.Error, "consume mfa token", domain.ErrConflict)
	}
	return res.RowsAffected > 0, nil
}

// PruneMFATokens deletes the tokens that expired before before
// (mfa_tokens_expires_at_idx finds them).
func (s *Store) PruneMFATokens(ctx context.Context, before time.Time) (int64, error) {
	res := s.conn(ctx).Exec("DELETE FROM mfa_tokens WHERE expires_at < ?", utc(before))
	if res.Error != nil {
		return 0, translate(res.Error, "prune mfa tokens", domain.ErrConflict)
	}
	return res.RowsAffected, nil
}
