package usecase

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/gatehouse-auth/gatehouse/domain"
)

// saturation is implemented by hashers that can tell, cheaply, that they
// would refuse a new caller (an optional extension of domain.PasswordHasher).
type saturation interface{ Saturated() bool }

// LoginInput is one password login attempt.
type LoginInput struct {
	Username string
	Password string
	Scope    []string
	IP       string // client address, for throttling
}

// Login checks a username and password and opens a session. Unknown user,
// wrong password and disabled user fail identically (ErrInvalidCredentials)
// after the same amount of hashing work.
type Login struct {
	users    domain.UserStore
	hasher   domain.PasswordHasher
	throttle *Throttle
	sessions sessions
	policy   TokenPolicy

	log    *slog.Logger
	events Events // nil reports nothing; see Observe

	dummyMu sync.Mutex
	dummy   string
}

// NewLogin returns a Login. throttle may be nil to disable throttling.
func NewLogin(users domain.UserStore, store domain.SessionStore, hasher domain.PasswordHasher,
	issuer domain.TokenIssuer, throttle *Throttle, policy TokenPolicy, now func() time.Time, log *slog.Logger) *Login {
	return &Login{
		log:      log,
		users:    users,
		hasher:   hasher,
		throttle: throttle,
		sessions: sessions{store: store, issuer: issuer, policy: policy, now: now},
		policy:   policy,
	}
}

// Observe makes l report each login's outcome and the tokens it issues to
// ev. Call it once, before l serves requests.
func (l *Login) Observe(ev Events) { l.events = ev }

// Login authenticates in and returns a fresh token pair.
func (l *Login) Login(ctx context.Context, in LoginInput) (*TokenPair, error) {
	pair, err := l.login(ctx, in)
	if l.events != nil {
		l.events.LoginResult(LoginOutcome(err))
		if err == nil {
			l.events.TokenIssued(GrantPassword)
		}
	}
	return pair, err
}

func (l *Login) login(ctx context.Context, in LoginInput) (*TokenPair, error) {
	u, err := l.Authenticate(ctx, in)
	if err != nil {
		return nil, err
	}
	for _, s := range in.Scope {
		if !slices.Contains(l.policy.UserScopes, s) {
			return nil, domain.ErrInvalidScope
		}
	}
	return l.sessions.start(ctx, u, in.Scope)
}

// Authenticate checks the credentials under the throttle and returns the
// user; it upgrades the stored hash when the hasher asks for it.
func (l *Login) Authenticate(ctx context.Context, in LoginInput) (*domain.User, error) {
	// A name that cannot be valid is still looked up and hashed like any
	// unknown user, so the answer and its timing give nothing away.
	name, nameErr := domain.NormalizeUsername(in.Username)
	if nameErr != nil {
		name = in.Username
	}
	// Under a login flood, refuse before any store work: the hash queue
	// would refuse this attempt anyway, and the reads it would cost first
	// are what starves the logins already queued.
	if sat, ok := l.hasher.(saturation); ok && sat.Saturated() {
		return nil, domain.ErrOverloaded
	}
	if l.throttle != nil {
		if err := l.throttle.Check(ctx, name, in.IP); err != nil {
			return nil, err
		}
	}
	var u *domain.User
	if nameErr == nil {
		found, err := l.users.UserByUsername(ctx, name)
		switch {
		case err == nil:
			u = found
		case !errors.Is(err, domain.ErrNotFound):
			return nil, fmt.Errorf("find user: %w", err)
		}
	}
	stored, err := l.storedHash(ctx, u)
	if err != nil {
		return nil, err
	}
	ok, rehash, err := l.hasher.Verify(ctx, stored, in.Password)
	if err != nil {
		return nil, fmt.Errorf("verify password: %w", err)
	}
	if !ok || u == nil || u.Disabled {
		if l.throttle != nil {
			if err := l.throttle.Failure(ctx, name, in.IP); err != nil {
				l.log.WarnContext(ctx, "login failure not counted", "err", err)
			}
		}
		return nil, domain.ErrInvalidCredentials
	}
	if l.throttle != nil {
		if err := l.throttle.Success(ctx, name, in.IP); err != nil {
			l.log.WarnContext(ctx, "login success not recorded", "err", err)
		}
	}
	if rehash {
		l.upgradeHash(ctx, u, in.Password)
	}
	return u, nil
}

// storedHash returns the user's hash, or a dummy hash with the current
// parameters when there is no user, so both paths cost the same.
func (l *Login) storedHash(ctx context.Context, u *domain.User) (string, error) {
	if u != nil {
		return u.PasswordHash, nil
	}
	l.dummyMu.Lock()
	defer l.dummyMu.Unlock()
	if l.dummy == "" {
		h, err := l.hasher.Hash(ctx, newSecret(16))
		if err != nil {
			return "", fmt.Errorf("dummy hash: %w", err)
		}
		l.dummy = h
	}
	return l.dummy, nil
}

// upgradeHash replaces an old-format hash. Failure is not fatal: the login
// already succeeded and the next one will try again.
func (l *Login) upgradeHash(ctx context.Context, u *domain.User, password string) {
	hash, err := l.hasher.Hash(ctx, password)
	if err == nil {
		err = l.saveHash(ctx, u, hash)
	}
	if err != nil {
		l.log.WarnContext(ctx, "password hash upgrade failed", "user_id", u.ID, "err", err)
	}
}

// saveHash stores hash on a fresh copy of the user, and only if the
// password has not changed meanwhile, so the upgrade never undoes a
// concurrent admin change (disable, roles) or password change.
func (l *Login) saveHash(ctx context.Context, u *domain.User, hash string) error {
	fresh, err := l.users.UserByID(ctx, u.ID)
	if err != nil {
		return err
	}
	if fresh.PasswordHash != u.PasswordHash {
		return nil
	}
	fresh.PasswordHash = hash
	if err := l.users.UpdateUser(ctx, fresh); err != nil {
		return err
	}
	u.PasswordHash = hash
	return nil
}
