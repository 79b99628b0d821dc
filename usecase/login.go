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
//
// A login that checked the password of the user as it was read opens its
// session only if the user is unchanged by then (the store compares the
// security stamp atomically with the insert), so a password change,
// disable or role change that commits during the hash always wins.
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
	pair, err := l.sessions.start(ctx, u, in.Scope)
	if errors.Is(err, domain.ErrConflict) || errors.Is(err, domain.ErrNotFound) {
		// The user changed (password, disabled, roles) or went while the
		// password was checked: what was checked no longer holds.
		return nil, domain.ErrInvalidCredentials
	}
	return pair, err
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
	// The attempt counts before its hash: parallel guesses cannot all pass
	// a check made before any of them failed.
	if err := l.throttle.Reserve(ctx, name, in.IP); err != nil {
		return nil, err
	}
	u, ok, rehash, err := l.check(ctx, name, nameErr == nil, in.Password)
	if err != nil {
		if cerr := l.throttle.Cancel(ctx, name, in.IP); cerr != nil {
			l.log.WarnContext(ctx, "login attempt not cancelled", "err", cerr)
		}
		return nil, err
	}
	if !ok || u == nil || u.Disabled {
		return nil, domain.ErrInvalidCredentials // counted by Reserve
	}
	if err := l.throttle.Success(ctx, name, in.IP); err != nil {
		l.log.WarnContext(ctx, "login success not recorded", "err", err)
	}
	if rehash {
		l.upgradeHash(ctx, u, in.Password)
	}
	return u, nil
}

// check looks the user up (when the name is valid) and verifies password
// against its hash, or against the dummy hash when there is no such user.
func (l *Login) check(ctx context.Context, name string, valid bool, password string) (u *domain.User, ok, rehash bool, err error) {
	if valid {
		u, err = l.users.UserByUsername(ctx, name)
		switch {
		case errors.Is(err, domain.ErrNotFound):
			u = nil
		case err != nil:
			return nil, false, false, fmt.Errorf("find user: %w", err)
		}
	}
	stored, err := l.storedHash(ctx, u)
	if err != nil {
		return nil, false, false, err
	}
	ok, rehash, err = l.hasher.Verify(ctx, stored, password)
	if err != nil {
		return nil, false, false, fmt.Errorf("verify password: %w", err)
	}
	return u, ok, rehash, nil
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

// upgradeHash replaces an old-format hash, only while the user's stamp is
// still the one read with it: a password change made meanwhile is never
// undone, and no other field is written. Failure is not fatal: the login
// already succeeded and the next one will try again.
func (l *Login) upgradeHash(ctx context.Context, u *domain.User, password string) {
	hash, err := l.hasher.Hash(ctx, password)
	if err == nil {
		_, _, err = l.users.ChangeUser(ctx, domain.UserChange{UserID: u.ID, PasswordHash: hash, IfStamp: u.Stamp, At: l.sessions.now().UTC()})
	}
	switch {
	case err == nil:
		u.PasswordHash = hash
	case errors.Is(err, domain.ErrConflict):
		// The user changed meanwhile; the session check will tell.
	default:
		l.log.WarnContext(ctx, "password hash upgrade failed", "user_id", u.ID, "err", err)
	}
}
