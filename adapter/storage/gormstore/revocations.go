package gormstore

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse/domain"
	"gorm.io/gorm"
)

// RevokeSessions revokes the live sessions matching every non-empty field of
// the selector (SessionID, UserID, and not ExceptID) and appends one feed
// entry per revoked session, in one transaction, returning their IDs in ID
// order, and writes r.Events with them when it revoked any. A selector with
// neither SessionID nor UserID selects nothing.
func (s *Store) RevokeSessions(ctx context.Context, r domain.SessionRevocation) ([]string, error) {
	if r.SessionID == "" && r.UserID == "" {
		return nil, nil
	}
	var ids []string
	err := s.transaction(ctx, func(tx *gorm.DB) error {
		var err error
		ids, err = revokeIn(tx, r)
		if err != nil || len(ids) == 0 {
			return err
		}
		return writeEvents(tx, r.Events)
	})
	if err != nil {
		return nil, err
	}
	return ids, nil
}

// revokeIn is RevokeSessions inside the transaction tx. The revocation is a
// single UPDATE ... RETURNING, so a session revoked by a concurrent call is
// neither returned nor fed twice.
func revokeIn(tx *gorm.DB, r domain.SessionRevocation) ([]string, error) {
	if r.SessionID == "" && r.UserID == "" {
		return nil, nil
	}
	conds := []string{"revoked_at IS NULL"}
	args := []any{utc(r.At)}
	if r.SessionID != "" {
		conds, args = append(conds, "id = ?"), append(args, r.SessionID)
	}
	if r.UserID != "" {
		conds, args = append(conds, "user_id = ?"), append(args, r.UserID)
	}
	if r.ExceptID != "" {
		conds, args = append(conds, "id <> ?"), append(args, r.ExceptID)
	}
	update := "UPDATE sessions SET revoked_at = ? WHERE " + strings.Join(conds, " AND ") + " RETURNING id, user_id"

	var revoked []sessionRow
	if err := tx.Raw(update, args...).Scan(&revoked).Error; err != nil {
		return nil, translate(err, "revoke sessions", domain.ErrConflict)
	}
	if len(revoked) == 0 {
		return nil, nil
	}
	slices.SortFunc(revoked, func(a, b sessionRow) int { return strings.Compare(a.ID, b.ID) })
	feed := make([]revocationRow, len(revoked))
	ids := make([]string, len(revoked))
	for i, sess := range revoked {
		feed[i] = revocationRow{SessionID: sess.ID, UserID: sess.UserID, At: utc(r.At), Expires: utc(r.FeedExpires)}
		ids[i] = sess.ID
	}
	if err := tx.Create(&feed).Error; err != nil {
		return nil, translate(err, "append revocation feed", domain.ErrConflict)
	}
	return ids, nil
}

// RevocationsSince returns up to limit feed entries with Seq > after and
// Expires after now, in Seq order. A limit of zero or less means no limit.
func (s *Store) RevocationsSince(ctx context.Context, after int64, now time.Time, limit int) ([]domain.Revocation, error) {
	q := s.conn(ctx).Where("seq > ? AND expires > ?", after, utc(now)).Order("seq")
	if limit > 0 {
		q = q.Limit(limit)
	}
	var rows []revocationRow
	if err := q.Find(&rows).Error; err != nil {
		return nil, translate(err, "read revocation feed", domain.ErrConflict)
	}
	out := make([]domain.Revocation, len(rows))
	for i := range rows {
		out[i] = rows[i].toDomain()
	}
	return out, nil
}

// PruneRevocations deletes feed entries whose Expires is not after t. Seq
// numbers are never reused (AUTOINCREMENT / BIGSERIAL).
func (s *Store) PruneRevocations(ctx context.Context, t time.Time) error {
	err := s.conn(ctx).Where("expires <= ?", utc(t)).Delete(&revocationRow{}).Error
	return translate(err, "prune revocation feed", domain.ErrConflict)
}

// sortRows sorts rows by the key key returns.
func sortRows[T any](rows []T, key func(T) string) {
	slices.SortFunc(rows, func(a, b T) int { return strings.Compare(key(a), key(b)) })
}
