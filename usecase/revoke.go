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
// other replicas) and to the local list at once, and commits with its auth
// events (session.revoked, or the events of the user change).
type Revoke struct {
	store   domain.RevokeStore
	verify  *Verify
	revoked *RevocationList
	policy  TokenPolicy
	now     func() time.Time
	metrics Metrics
}

// NewRevoke returns a Revoke that reports the auth events it commits to
// metrics (nil reports nothing).
func NewRevoke(store domain.RevokeStore, verify *Verify, revoked *RevocationList, policy TokenPolicy, now func() time.Time, metrics Metrics) *Revoke {
	return &Revoke{store: store, verify: verify, revoked: revoked, policy: policy, now: now, metrics: orNoMetrics(metrics)}
}

// Scopes of session.revoked events (EventDetails.Scope).
const (
	revokedSession = "session" // one session
	revokedOthers  = "others"  // every session of the user but one
	revokedAll     = "all"     // every session of the user
)

// Reasons of session.revoked events (EventDetails.Reason).
const (
	reasonLogout       = "logout"
	reasonDevice       = "device"
	reasonAdmin        = "admin"
	reasonRefreshReuse = "refresh_reuse"
)

// sessionRevoked is the session.revoked event of sel, whose selection
// scope and reason it records; self is the flow's self-service actor (or
// the zero Actor).
func (r *Revoke) sessionRevoked(ctx context.Context, sel domain.SessionRevocation, userID, reason string, self domain.Actor) domain.Event {
	ev := newEvent(ctx, r.now(), domain.EventSessionRevoked, userID, self)
	ev.SessionID = sel.SessionID
	ev.Details.Reason = reason
	switch {
	case sel.SessionID != "":
		ev.Details.Scope = revokedSession
	case sel.ExceptID != "":
		ev.Details.Scope = revokedOthers
	default:
		ev.Details.Scope = revokedAll
	}
	return ev
}

// revokeWithEvent revokes sel and commits its session.revoked event with
// it (when it revokes any session).
func (r *Revoke) revokeWithEvent(ctx context.Context, sel domain.SessionRevocation, userID, reason string, self domain.Actor) error {
	sel.Events = []domain.Event{r.sessionRevoked(ctx, sel, userID, reason, self)}
	return r.revoke(ctx, sel)
}

// Logout revokes sessions of the caller identified by c. An API key, or a
// token exchanged from one (whose sid is the key's revocation id, not a
// session), is domain.ErrForbidden: a leaked key must not end its user's
// sessions.
func (r *Revoke) Logout(ctx context.Context, c *domain.Claims, scope LogoutScope) error {
	if c.FromAPIKey() {
		return domain.ErrForbidden
	}
	if c.SessionID == "" {
		return nil // client tokens have no session; they simply expire
	}
	self := selfActor(c.Subject)
	switch scope {
	case LogoutLocal, "":
		return r.revokeWithEvent(ctx, domain.SessionRevocation{SessionID: c.SessionID}, c.Subject, reasonLogout, self)
	case LogoutGlobal:
		return r.revokeWithEvent(ctx, domain.SessionRevocation{UserID: c.Subject}, c.Subject, reasonLogout, self)
	case LogoutOthers:
		return r.revokeWithEvent(ctx, domain.SessionRevocation{UserID: c.Subject, ExceptID: c.SessionID}, c.Subject, reasonLogout, self)
	default:
		return &domain.ValidationError{Code: domain.CodeInvalidRequest, Message: "scope must be local, global or others"}
	}
}

// UserSessions revokes every session of a user except exceptID (may be ""),
// as an admin's act.
func (r *Revoke) UserSessions(ctx context.Context, userID, exceptID string) error {
	return r.revokeWithEvent(ctx, domain.SessionRevocation{UserID: userID, ExceptID: exceptID}, userID, reasonAdmin, domain.Actor{})
}

// Token implements RFC 7009: token may be a refresh token, an access
// token or an API key; whatever it is, its session (or key) ends. Unknown,
// expired or malformed tokens are not an error (the client's goal is
// reached either way).
//
// An API key is revoked by whoever presents it (RFC 7009 lets the holder
// revoke; a key found in a leak can be killed by its finder), and so is
// the key a token exchanged from it came from: that token's sid is the
// key's, and revoking an access token ends its session here, refresh
// token included (RFC 7009 2.1 allows revoking the grant). Revoking one
// exchanged token alone is not offered: resource servers learn
// revocations from the feed by sid, not by jti.
func (r *Revoke) Token(ctx context.Context, token, hint string) error {
	if _, isKey := domain.APIKeyShape(token); isKey {
		return r.revokeVerified(ctx, token) // never a refresh token: no lookup
	}
	// The hint only orders the lookups: RFC 7009 2.1 requires searching
	// every token type when the hinted one does not match.
	if hint == "access_token" {
		if c, err := r.verify.Verify(ctx, token); err == nil && c.SessionID != "" {
			return r.revokeClaims(ctx, c)
		}
	}
	rec, err := r.store.RefreshTokenByHash(ctx, hashToken(token))
	switch {
	case err == nil:
		return r.revokeSessionOf(ctx, rec.SessionID, r.sessionUser(ctx, rec.SessionID))
	case !errors.Is(err, domain.ErrNotFound):
		return fmt.Errorf("find refresh token: %w", err)
	}
	return r.revokeVerified(ctx, token)
}

// revokeVerified revokes what token stands for when it verifies; a token
// that does not is no error.
func (r *Revoke) revokeVerified(ctx context.Context, token string) error {
	c, err := r.verify.Verify(ctx, token)
	if err != nil {
		return nil
	}
	return r.revokeClaims(ctx, c)
}

// revokeClaims revokes the session of verified claims c, or the API key
// they are or come from. A client token has neither: it simply expires.
func (r *Revoke) revokeClaims(ctx context.Context, c *domain.Claims) error {
	switch {
	case c.FromAPIKey():
		return r.revokeKeyOf(ctx, c)
	case c.SessionID != "":
		return r.revokeSessionOf(ctx, c.SessionID, c.Subject)
	}
	return nil
}

// revokeKeyOf revokes the API key that c is (KeyID) or was exchanged from
// (sid key:<id>), as its user's act; a key already revoked meanwhile is no
// error.
func (r *Revoke) revokeKeyOf(ctx context.Context, c *domain.Claims) error {
	if r.verify.keys == nil {
		return nil // built without API keys (tests): none to revoke
	}
	if err := r.verify.keys.revoke(ctx, c.Subject, c.APIKeyID()); err != nil && !errors.Is(err, domain.ErrNotFound) {
		return err
	}
	return nil
}

// sessionReader is the optional part of a RevokeStore that Token uses to
// name the user of a session it revokes by refresh token in the event
// (every store has it: domain.RefreshStore).
type sessionReader interface {
	SessionByID(ctx context.Context, id string) (*domain.Session, error)
}

// sessionUser returns the user of session id, or "" when the store cannot
// tell: the event then names the session alone, and the revocation goes
// ahead all the same.
func (r *Revoke) sessionUser(ctx context.Context, id string) string {
	sr, ok := r.store.(sessionReader)
	if !ok {
		return ""
	}
	s, err := sr.SessionByID(ctx, id)
	if err != nil {
		return ""
	}
	return s.UserID
}

// revokeSessionOf is the RFC 7009 revocation of session id of userID, a
// logout by the token's holder.
func (r *Revoke) revokeSessionOf(ctx context.Context, id, userID string) error {
	self := domain.Actor{Type: domain.ActorUser, ID: userID}
	return r.revokeWithEvent(ctx, domain.SessionRevocation{SessionID: id}, userID, reasonLogout, self)
}

// ChangeUser applies a change to a user through users, with the change's
// time and feed expiry filled in, and adds the sessions it revoked to the
// local list at once (other replicas learn them from the feed). ch.Events
// commit with the change.
func (r *Revoke) ChangeUser(ctx context.Context, users domain.UserChanger, ch domain.UserChange) (*domain.User, error) {
	now := r.now().UTC()
	ch.At, ch.FeedExpires = now, now.Add(r.policy.revocationLifetime())
	u, ids, err := users.ChangeUser(ctx, ch)
	if err != nil {
		return nil, fmt.Errorf("change user: %w", err)
	}
	countWritten(r.metrics, ch.Events)
	r.revoked.Add(ids, ch.FeedExpires)
	return u, nil
}

// DeleteUser deletes a user through users, with events; its live sessions
// are revoked in the same transaction, here at once and on other replicas
// through the feed.
func (r *Revoke) DeleteUser(ctx context.Context, users domain.UserDeleter, id string, events []domain.Event) error {
	now := r.now().UTC()
	expires := now.Add(r.policy.revocationLifetime())
	ids, err := users.DeleteUser(ctx, domain.UserDeletion{ID: id, At: now, FeedExpires: expires, Events: events})
	if err != nil {
		return fmt.Errorf("delete user: %w", err)
	}
	countWritten(r.metrics, events)
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
	if len(ids) > 0 {
		countWritten(r.metrics, sel.Events) // committed only when it revoked any
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
