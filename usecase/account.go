package usecase

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse-auth/gatehouse/domain"
)

// Account is what a signed-in user does to their own account.
type Account struct {
	users     domain.UserStore
	hasher    domain.PasswordHasher
	revoke    *Revoke
	throttle  *Throttle
	minLength int
	now       func() time.Time
}

// NewAccount returns an Account. throttle (nil for none) limits guesses of
// the current password, which a stolen access token would otherwise allow
// without bound.
func NewAccount(users domain.UserStore, hasher domain.PasswordHasher, revoke *Revoke, throttle *Throttle, minLength int, now func() time.Time) *Account {
	return &Account{users: users, hasher: hasher, revoke: revoke, throttle: throttle, minLength: minLength, now: now}
}

// Me returns the user behind the claims. A deleted or disabled user is
// reported as a revoked token.
func (a *Account) Me(ctx context.Context, c *domain.Claims) (*domain.User, error) {
	if c.Username == "" {
		return nil, domain.ErrForbidden // a client token has no user
	}
	u, err := a.users.UserByID(ctx, c.Subject)
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
// unchanged since it was read (the stamp), so a disable or role change
// racing it is never undone, and the password alone is written.
func (a *Account) ChangePassword(ctx context.Context, c *domain.Claims, current, next, ip string) error {
	u, err := a.Me(ctx, c)
	if err != nil {
		return err
	}
	if err := a.throttle.Reserve(ctx, u.Username, ip); err != nil {
		return err
	}
	ok, _, err := a.hasher.Verify(ctx, u.PasswordHash, current)
	if err != nil {
		return errors.Join(fmt.Errorf("verify password: %w", err), a.throttle.Cancel(ctx, u.Username, ip))
	}
	if !ok {
		return domain.ErrInvalidCredentials // counted by Reserve
	}
	if err := a.throttle.Success(ctx, u.Username, ip); err != nil {
		return err
	}
	if err := domain.ValidatePassword(next, u.Username, a.minLength); err != nil {
		return err
	}
	hash, err := a.hasher.Hash(ctx, next)
	if err != nil {
		return fmt.Errorf("hash password: %w", err)
	}
	_, err = a.revoke.ChangeUser(ctx, a.users, domain.UserChange{
		UserID:       u.ID,
		PasswordHash: hash,
		IfStamp:      u.Stamp,
		EndSessions:  true,
		KeepSession:  c.SessionID,
	})
	return err
}
