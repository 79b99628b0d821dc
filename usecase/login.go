package usecase

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"time"

	"github.com/gatehouse-auth/gatehouse/domain"
)

// LoginInput is one password login attempt.
type LoginInput struct {
	Username string
	Password string
	Scope    []string
	IP       string // client address, for throttling and the session
	// UserAgent is the client's User-Agent, kept (truncated) with the
	// session.
	UserAgent string
}

// Login checks a username and password and opens a session. Unknown user,
// wrong password and disabled user fail identically (ErrInvalidCredentials)
// after the same amount of hashing work.
type Login struct {
	creds    *passwordCheck
	sessions sessions
	policy   TokenPolicy
	metrics  Metrics
}

// NewLogin returns a Login. throttle may be nil to disable throttling.
// Each login's outcome and the tokens it issues are reported to metrics
// (nil reports nothing).
//
// A login that checked the password of the user as it was read opens its
// session only if the user is unchanged by then (the store compares the
// security stamp atomically with the insert), so a password change,
// disable or role change that commits during the hash always wins.
func NewLogin(users domain.UserUpdater, store domain.SessionCreator, hasher domain.PasswordHasher,
	issuer domain.TokenIssuer, throttle *Throttle, policy TokenPolicy, now func() time.Time, log *slog.Logger, metrics Metrics) *Login {
	return &Login{
		creds:    newPasswordCheck(users, hasher, throttle, now, log),
		sessions: sessions{store: store, minter: minter{issuer: issuer, policy: policy, now: now}},
		policy:   policy,
		metrics:  orNoMetrics(metrics),
	}
}

// Login authenticates in and returns a fresh token pair.
func (l *Login) Login(ctx context.Context, in LoginInput) (*TokenPair, error) {
	pair, err := l.login(ctx, in)
	l.metrics.LoginResult(LoginOutcome(err))
	if err == nil {
		l.metrics.TokenIssued(GrantPassword)
	}
	return pair, err
}

func (l *Login) login(ctx context.Context, in LoginInput) (*TokenPair, error) {
	u, err := l.creds.authenticate(ctx, in.Username, in.Password, in.IP)
	if err != nil {
		return nil, err
	}
	for _, s := range in.Scope {
		if !slices.Contains(l.policy.UserScopes, s) {
			return nil, domain.ErrInvalidScope
		}
	}
	pair, err := l.sessions.start(ctx, u, in.Scope, in.IP, in.UserAgent)
	if errors.Is(err, domain.ErrConflict) || errors.Is(err, domain.ErrNotFound) {
		// The user changed (password, disabled, roles) or went while the
		// password was checked: what was checked no longer holds.
		return nil, domain.ErrInvalidCredentials
	}
	return pair, err
}
