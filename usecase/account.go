package usecase

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/gatehouse-auth/gatehouse/domain"
)

// Account is what a signed-in user does to their own account.
type Account struct {
	users     domain.UserReader
	check     *passwordCheck
	passwords passwordSetter
}

// NewAccount returns an Account. throttle (nil for none) limits guesses of
// the current password, which a stolen access token would otherwise allow
// without bound; they are throttled like logins, and recorded like them in
// events (login.failed, login.throttled; nil records nothing). log (nil
// discards) gets what the throttle could not record. The event of a
// password hash upgrade, which commits with it, is reported to metrics
// (nil reports nothing).
func NewAccount(users domain.UserUpdater, hasher domain.PasswordHasher, revoke *Revoke, throttle *Throttle, minLength int,
	now func() time.Time, log *slog.Logger, metrics Metrics, events EventRecorder) *Account {
	return &Account{
		users:     users,
		check:     newPasswordCheck(users, hasher, throttle, events, now, log, metrics),
		passwords: passwordSetter{users: users, hasher: hasher, revoke: revoke, minLength: minLength, now: now},
	}
}

// Me returns the user behind the claims. A deleted or disabled user is
// reported as a revoked token.
func (a *Account) Me(ctx context.Context, c *domain.Claims) (*domain.User, error) {
	return claimedUser(ctx, a.users, c)
}

// claimedUser reads the user behind the claims: ErrForbidden for a client
// token, ErrTokenRevoked for a deleted or disabled user.
func claimedUser(ctx context.Context, users domain.UserReader, c *domain.Claims) (*domain.User, error) {
	if c.Username == "" {
		return nil, domain.ErrForbidden // a client token has no user
	}
	u, err := users.UserByID(ctx, c.Subject)
	if errors.Is(err, domain.ErrNotFound) {
		return nil, domain.ErrTokenRevoked
	}
	if err != nil {
		return nil, fmt.Errorf("find user: %w", err)
	}
	if u.Disabled {
		return nil, domain.ErrTokenRevoked
	}
	return u, nil
}

// Authorize admits the caller behind c to what role allows only if the
// token carries role and the user, read from the store now, still holds it
// and is enabled. A role claim alone is never enough: the token may have
// been issued before a demotion whose revocation has not reached this
// replica yet.
func (a *Account) Authorize(ctx context.Context, c *domain.Claims, role string) error {
	if !c.HasRole(role) {
		return domain.ErrForbidden
	}
	u, err := a.Me(ctx, c)
	if err != nil {
		return err
	}
	if !u.HasRole(role) {
		return domain.ErrForbidden
	}
	return nil
}

// ChangePassword checks the current password (throttled like a login from
// ip), stores the new one and revokes every other session of the user; the
// caller's session continues. The new hash is written only if the user is
// unchanged since it was checked (the stamp), so a disable or role change
// racing it is never undone, and the password alone is written.
func (a *Account) ChangePassword(ctx context.Context, c *domain.Claims, current, next, ip string) error {
	u, err := a.Me(ctx, c)
	if err != nil {
		return err
	}
	ctx = originDefaults(ctx, ip, "")
	checked, err := a.check.authenticate(ctx, u.Username, current, ip, "")
	if err != nil {
		return err
	}
	if checked.ID != u.ID {
		return domain.ErrInvalidCredentials // the name now belongs to another user
	}
	return a.passwords.set(ctx, checked, next, domain.UserChange{IfStamp: checked.Stamp, KeepSession: c.SessionID}, selfActor(u.ID))
}
