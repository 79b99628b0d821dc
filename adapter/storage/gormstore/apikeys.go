package gormstore

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse/domain"
	"gorm.io/gorm"
)

// CreateAPIKey stores k in one transaction that first locks the user's row
// (FOR UPDATE on Postgres; SQLite's BEGIN IMMEDIATE already serialises
// writers), then counts the user's live keys and inserts: concurrent
// creations for one user queue on the lock, so the count each one sees
// includes every key committed before it and no more than max are live.
// ChangeUser and DeleteUser take the same row lock, so a key cannot be
// added behind a disable. events commit with the key.
func (s *Store) CreateAPIKey(ctx context.Context, k *domain.APIKey, max int, events []domain.Event) error {
	what := "create api key " + k.ID
	row, err := toAPIKeyRow(k)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	lockUser := "SELECT disabled FROM users WHERE id = ?"
	if s.isPostgres() {
		lockUser += " FOR UPDATE"
	}
	return s.transaction(ctx, func(tx *gorm.DB) error {
		var u struct{ Disabled bool }
		res := tx.Raw(lockUser, k.UserID).Scan(&u)
		switch {
		case res.Error != nil:
			return translate(res.Error, what+": read user", domain.ErrConflict)
		case res.RowsAffected == 0:
			return fmt.Errorf("%s: user %s: %w", what, k.UserID, domain.ErrNotFound)
		case u.Disabled:
			return fmt.Errorf("%s: user %s disabled: %w", what, k.UserID, domain.ErrConflict)
		}
		var live int64
		err := tx.Model(&apiKeyRow{}).
			Where("user_id = ? AND revoked_at IS NULL AND expires_at > ?", k.UserID, utc(k.CreatedAt)).
			Count(&live).Error
		if err != nil {
			return translate(err, what+": count", domain.ErrConflict)
		}
		if live >= int64(max) {
			return fmt.Errorf("%s: %w", what, domain.ErrTooManyAPIKeys)
		}
		if err := tx.Create(&row).Error; err != nil {
			return translate(err, what, domain.ErrConflict)
		}
		return writeEvents(tx, events)
	})
}

// APIKeyByID returns the key or ErrNotFound.
func (s *Store) APIKeyByID(ctx context.Context, id string) (*domain.APIKey, error) {
	var row apiKeyRow
	if err := s.conn(ctx).Where("id = ?", id).Take(&row).Error; err != nil {
		return nil, translate(err, "api key "+id, domain.ErrConflict)
	}
	k, err := row.toDomain()
	if err != nil {
		return nil, fmt.Errorf("api key %s: decode: %w", id, err)
	}
	return &k, nil
}

// apiKeyGrantQuery reads a key and its user in one statement (the unique
// index on hash); the inner join makes a missing user look like a
// missing key.
const apiKeyGrantQuery = `SELECT
    k.id, k.user_id, k.name, k.hint, k.scope, k.hash, k.created_at, k.expires_at, k.last_used_at, k.revoked_at,
    u.id, u.username, u.password_hash, u.roles, u.disabled, u.mfa_enabled, u.stamp, u.created_at, u.updated_at
FROM api_keys k
JOIN users u ON u.id = k.user_id
WHERE k.hash = $1`

// APIKeyGrant returns the key with hash and its user from one prepared
// SELECT; ErrNotFound if either is missing.
// The call is a store span (tracing.go).
func (s *Store) APIKeyGrant(ctx context.Context, hash []byte) (*domain.APIKeyGrant, error) {
	ctx, end := s.traceSQL(ctx, "APIKeyGrant", apiKeyGrantQuery)
	v, err := s.aPIKeyGrant(ctx, hash)
	end(err)
	return v, err
}

// aPIKeyGrant is APIKeyGrant without its span.
func (s *Store) aPIKeyGrant(ctx context.Context, hash []byte) (*domain.APIKeyGrant, error) {
	st, err := s.prepared(ctx, apiKeyGrantQuery)
	if err != nil {
		return nil, s.translateSQL(err, "api key: prepare", domain.ErrConflict)
	}
	var k apiKeyRow
	var u userRow
	err = st.QueryRowContext(ctx, hash).Scan(
		&k.ID, &k.UserID, &k.Name, &k.Hint, &k.Scope, &k.Hash, &k.CreatedAt, &k.ExpiresAt, &k.LastUsedAt, &k.RevokedAt,
		&u.ID, &u.Username, &u.PasswordHash, &u.Roles, &u.Disabled, &u.MFAEnabled, &u.Stamp, &u.CreatedAt, &u.UpdatedAt,
	)
	if err != nil {
		return nil, s.translateSQL(err, "api key", domain.ErrConflict)
	}
	key, err := k.toDomain()
	if err != nil {
		return nil, fmt.Errorf("api key %s: decode: %w", k.ID, err)
	}
	user, err := u.toDomain()
	if err != nil {
		return nil, fmt.Errorf("api key %s: user: decode: %w", k.ID, err)
	}
	return &domain.APIKeyGrant{Key: key, User: user}, nil
}

// ListAPIKeys returns the user's keys, newest first.
func (s *Store) ListAPIKeys(ctx context.Context, userID string) ([]domain.APIKey, error) {
	var rows []apiKeyRow
	if err := s.conn(ctx).Where("user_id = ?", userID).Order("created_at DESC, id DESC").Find(&rows).Error; err != nil {
		return nil, translate(err, "list api keys", domain.ErrConflict)
	}
	out := make([]domain.APIKey, 0, len(rows))
	for i := range rows {
		k, err := rows[i].toDomain()
		if err != nil {
			return nil, fmt.Errorf("list api keys: decode %s: %w", rows[i].ID, err)
		}
		out = append(out, k)
	}
	return out, nil
}

// RevokeAPIKey revokes the key by a conditional UPDATE ... RETURNING and
// feeds it and writes r.Events in the same transaction: of concurrent
// revocations one feeds it and writes the events, the others find it
// revoked and write nothing.
func (s *Store) RevokeAPIKey(ctx context.Context, r domain.APIKeyRevocation) (bool, error) {
	what := "revoke api key " + r.ID
	conds, args := []string{"id = ?"}, []any{r.ID}
	if r.UserID != "" {
		conds, args = append(conds, "user_id = ?"), append(args, r.UserID)
	}
	cond := strings.Join(conds, " AND ")
	var revoked bool
	err := s.transaction(ctx, func(tx *gorm.DB) error {
		ids, err := revokeAPIKeysIn(tx, cond, args, r.At, r.FeedExpires)
		if err != nil {
			return err
		}
		if len(ids) > 0 {
			revoked = true
			return writeEvents(tx, r.Events)
		}
		var n int64
		if err := tx.Model(&apiKeyRow{}).Where(cond, args...).Count(&n).Error; err != nil {
			return translate(err, what, domain.ErrConflict)
		}
		if n == 0 {
			return fmt.Errorf("%s: %w", what, domain.ErrNotFound)
		}
		return nil
	})
	return revoked, err
}

// revokeAPIKeysIn revokes the unrevoked keys matching cond and appends a
// feed entry for each, inside tx, returning their revocation ids in id
// order.
func revokeAPIKeysIn(tx *gorm.DB, cond string, args []any, at, feedExpires time.Time) ([]string, error) {
	update := "UPDATE api_keys SET revoked_at = ? WHERE revoked_at IS NULL AND " + cond + " RETURNING id, user_id"
	var revoked []apiKeyRow
	if err := tx.Raw(update, append([]any{utc(at)}, args...)...).Scan(&revoked).Error; err != nil {
		return nil, translate(err, "revoke api keys", domain.ErrConflict)
	}
	if len(revoked) == 0 {
		return nil, nil
	}
	sortRows(revoked, func(r apiKeyRow) string { return r.ID })
	feed := make([]revocationRow, len(revoked))
	ids := make([]string, len(revoked))
	for i, k := range revoked {
		ids[i] = domain.APIKeyRevocationID(k.ID)
		feed[i] = revocationRow{SessionID: ids[i], UserID: k.UserID, At: utc(at), Expires: utc(feedExpires)}
	}
	if err := tx.Create(&feed).Error; err != nil {
		return nil, translate(err, "append revocation feed", domain.ErrConflict)
	}
	return ids, nil
}

// TouchAPIKey is one conditional UPDATE.
func (s *Store) TouchAPIKey(ctx context.Context, id string, at time.Time, every time.Duration) (bool, error) {
	res := s.conn(ctx).Exec(
		"UPDATE api_keys SET last_used_at = ? WHERE id = ? AND revoked_at IS NULL AND (last_used_at IS NULL OR last_used_at <= ?)",
		utc(at), id, utc(at.Add(-every)))
	if res.Error != nil {
		return false, translate(res.Error, "touch api key "+id, domain.ErrConflict)
	}
	return res.RowsAffected > 0, nil
}

// prunableKeys selects the next batch of keys to prune: expired or revoked
// at or before the cutoff (given twice), at most the limit.
const prunableKeys = `SELECT id FROM api_keys WHERE expires_at <= ? OR revoked_at <= ? ORDER BY id LIMIT ?`

// PruneAPIKeys deletes the keys that expired or were revoked at or before
// before, pruneBatch keys per transaction, and returns how many went. Feed
// entries stay: the revocations table has no foreign key to api_keys.
func (s *Store) PruneAPIKeys(ctx context.Context, before time.Time) (int64, error) {
	b := utc(before)
	var total int64
	for {
		var n int64
		err := s.transaction(ctx, func(tx *gorm.DB) error {
			res := tx.Exec(`DELETE FROM api_keys WHERE id IN (`+prunableKeys+`)`, b, b, pruneBatch)
			n = res.RowsAffected
			return translate(res.Error, "prune api keys", domain.ErrConflict)
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

type apiKeyRow struct {
	ID         string     `gorm:"column:id;primaryKey"`
	UserID     string     `gorm:"column:user_id"`
	Name       string     `gorm:"column:name"`
	Hint       string     `gorm:"column:hint"`
	Scope      string     `gorm:"column:scope"`
	Hash       []byte     `gorm:"column:hash"`
	CreatedAt  time.Time  `gorm:"column:created_at;autoCreateTime:false"`
	ExpiresAt  time.Time  `gorm:"column:expires_at"`
	LastUsedAt *time.Time `gorm:"column:last_used_at"`
	RevokedAt  *time.Time `gorm:"column:revoked_at"`
}

func (apiKeyRow) TableName() string { return "api_keys" }

func toAPIKeyRow(k *domain.APIKey) (apiKeyRow, error) {
	scope, err := encodeList(k.Scope)
	return apiKeyRow{
		ID: k.ID, UserID: k.UserID, Name: k.Name, Hint: k.Hint, Scope: scope, Hash: k.Hash,
		CreatedAt: utc(k.CreatedAt), ExpiresAt: utc(k.ExpiresAt),
		LastUsedAt: nullTime(k.LastUsedAt), RevokedAt: nullTime(k.RevokedAt),
	}, err
}

func (r *apiKeyRow) toDomain() (domain.APIKey, error) {
	scope, err := decodeList(r.Scope)
	return domain.APIKey{
		ID: r.ID, UserID: r.UserID, Name: r.Name, Hint: r.Hint, Scope: scope, Hash: nonEmpty(r.Hash),
		CreatedAt: utc(r.CreatedAt), ExpiresAt: utc(r.ExpiresAt),
		LastUsedAt: fromNull(r.LastUsedAt), RevokedAt: fromNull(r.RevokedAt),
	}, err
}
