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

// ChangePassword checks the current password (throttled like a login from
// ip), stores the new one and revokes every other session of the user.
func (a *Account) ChangePassword(ctx context.Context, c *domain.Claims, current, next, ip string) error {
	u, err := a.Me(ctx, c)
	if err != nil {
		return err
	}
	if a.throttle != nil {
		if err := a.throttle.Check(ctx, u.Username, ip); err != nil {
			return err
		}
	}
	ok, _, err := a.hasher.Verify(ctx, u.PasswordHash, current)
	if err != nil {
		return fmt.Errorf("verify password: %w", err)
	}
	if !ok {
		if a.throttle != nil {
			if err := a.throttle.Failure(ctx, u.Username, ip); err != nil {
				return err
			}
		}
		return domain.ErrInvalidCredentials
	}
	if err := domain.ValidatePassword(next, u.Username, a.minLength); err != nil {
		return err
	}
	hash, err := a.hasher.Hash(ctx, next)
	if err != nil {
		return fmt.Errorf("hash password: %w", err)
	}
	u.PasswordHash = hash
	u.UpdatedAt = a.now().UTC()
	if err := a.users.UpdateUser(ctx, u); err != nil {
		return fmt.Errorf("update user: %w", err)
	}
	return a.revoke.UserSessions(ctx, u.ID, c.SessionID)
}
