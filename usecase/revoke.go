package usecase

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse-auth/gatehouse/domain"
)

// LogoutScope selects which sessions a logout ends.
type LogoutScope string

// Logout scopes (POST /logout?scope=...).
const (
	LogoutLocal  LogoutScope = "local"  // the caller's session
	LogoutGlobal LogoutScope = "global" // every session of the user
	LogoutOthers LogoutScope = "others" // every session but the caller's
)

// Revoke ends sessions: logout, RFC 7009 token revocation and the admin and
// password-change paths. Every revocation goes to the store's feed (for
// other replicas) and to the local list at once.
type Revoke struct {
	store   domain.RevokeStore
	verify  *Verify
	revoked *RevocationList
	policy  TokenPolicy
	now     func() time.Time
}

// NewRevoke returns a Revoke.
func NewRevoke(store domain.RevokeStore, verify *Verify, revoked *RevocationList, policy TokenPolicy, now func() time.Time) *Revoke {
	return &Revoke{store: store, verify: verify, revoked: revoked, policy: policy, now: now}
}

// Logout revokes sessions of the caller identified by c.
func (r *Revoke) Logout(ctx context.Context, c *domain.Claims, scope LogoutScope) error {
	if c.SessionID == "" {
		return nil // client tokens have no session; they simply expire
	}
	switch scope {
	case LogoutLocal, "":
		return r.revoke(ctx, domain.SessionRevocation{SessionID: c.SessionID})
	case LogoutGlobal:
		return r.revoke(ctx, domain.SessionRevocation{UserID: c.Subject})
	case LogoutOthers:
		return r.revoke(ctx, domain.SessionRevocation{UserID: c.Subject, ExceptID: c.SessionID})
	default:
		return &domain.ValidationError{Code: "invalid_request", Message: "scope must be local, global or others"}
	}
}

// UserSessions revokes every session of a user except exceptID (may be "").
func (r *Revoke) UserSessions(ctx context.Context, userID, exceptID string) error {
	return r.revoke(ctx, domain.SessionRevocation{UserID: userID, ExceptID: exceptID})
}

// Token implements RFC 7009: token may be a refresh token or an access
// token; whatever it is, its session ends. Unknown, expired or malformed
// tokens are not an error (the client's goal is reached either way).
func (r *Revoke) Token(ctx context.Context, token, hint string) error {
	// The hint only orders the lookups: RFC 7009 2.1 requires searching
	// every token type when the hinted one does not match.
	if hint == "access_token" {
		if c, err := r.verify.Verify(ctx, token); err == nil && c.SessionID != "" {
			return r.revoke(ctx, domain.SessionRevocation{SessionID: c.SessionID})
		}
	}
	rec, err := r.store.RefreshTokenByHash(ctx, hashToken(token))
	switch {
	case err == nil:
		return r.revoke(ctx, domain.SessionRevocation{SessionID: rec.SessionID})
	case !errors.Is(err, domain.ErrNotFound):
		return fmt.Errorf("find refresh token: %w", err)
	}
	c, err := r.verify.Verify(ctx, token)
	if err != nil || c.SessionID == "" {
		return nil
	}
	return r.revoke(ctx, domain.SessionRevocation{SessionID: c.SessionID})
}

// ChangeUser applies a change to a user through users, with the change's
// time and feed expiry filled in, and adds the sessions it revoked to the
// local list at once (other replicas learn them from the feed).
func (r *Revoke) ChangeUser(ctx context.Context, users domain.UserChanger, ch domain.UserChange) (*domain.User, error) {
	now := r.now().UTC()
	ch.At, ch.FeedExpires = now, now.Add(r.policy.revocationLifetime())
	u, ids, err := users.ChangeUser(ctx, ch)
	if err != nil {
		return nil, fmt.Errorf("change user: %w", err)
	}
	r.revoked.Add(ids, ch.FeedExpires)
	return u, nil
}

// DeleteUser deletes a user through users; its live sessions are revoked in
// the same transaction, here at once and on other replicas through the
// feed.
func (r *Revoke) DeleteUser(ctx context.Context, users domain.UserDeleter, id string) error {
	now := r.now().UTC()
	expires := now.Add(r.policy.revocationLifetime())
	ids, err := users.DeleteUser(ctx, id, now, expires)
	if err != nil {
		return fmt.Errorf("delete user: %w", err)
	}
	r.revoked.Add(ids, expires)
	return nil
}

func (r *Revoke) revoke(ctx context.Context, sel domain.SessionRevocation) error {
	now := r.now().UTC()
	sel.At = now
	sel.FeedExpires = now.Add(r.policy.revocationLifetime())
	ids, err := r.store.RevokeSessions(ctx, sel)
	if err != nil {
		return fmt.Errorf("revoke sessions: %w", err)
	}
	r.revoked.Add(ids, sel.FeedExpires)
	return nil
}

// PruneExpired deletes the sessions that ended more than the leeway ago,
// revoked or not, with their refresh-token records, and returns how many
// went. Their refresh tokens are refused from the session's end anyway
// (invalid_grant, found or not). The leeway's grace keeps a session
// revocable for as long as a verifier may still accept its last access
// token (whose exp is at most the session's end); after that no token of the
// session can pass, so deleting it needs no feed entry.
func (r *Revoke) PruneExpired(ctx context.Context) (int64, error) {
	n, err := r.store.PruneSessions(ctx, r.now().Add(-r.policy.Leeway))
	if err != nil {
		return n, fmt.Errorf("prune expired sessions: %w", err)
	}
	return n, nil
}
