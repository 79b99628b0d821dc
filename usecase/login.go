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
	// Grant is how the attempt came, for its auth events: "password" (the
	// token endpoint, also when empty) or "get_token" (the tutorial route).
	Grant string
}

// Grants recorded in login events (EventDetails.Grant).
const (
	LoginGrantPassword = "password"
	LoginGrantGetToken = "get_token"
)

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
// (nil reports nothing). Its auth events (login.succeeded, login.failed,
// login.throttled) go to events (an *EventLog; nil records nothing); the
// hash upgrade's user.updated commits with the upgrade.
//
// A login that checked the password of the user as it was read opens its
// session only if the user is unchanged by then (the store compares the
// security stamp atomically with the insert), so a password change,
// disable or role change that commits during the hash always wins.
func NewLogin(users domain.UserUpdater, store domain.SessionCreator, hasher domain.PasswordHasher,
	issuer domain.TokenIssuer, throttle *Throttle, policy TokenPolicy, now func() time.Time, log *slog.Logger, metrics Metrics, events EventRecorder) *Login {
	return &Login{
		creds:    newPasswordCheck(users, hasher, throttle, events, now, log, metrics),
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
	ctx = originDefaults(ctx, in.IP, in.UserAgent)
	grant := in.Grant
	if grant == "" {
		grant = LoginGrantPassword
	}
	u, err := l.creds.authenticate(ctx, in.Username, in.Password, in.IP, grant)
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
		ev := l.creds.loginEvent(ctx, domain.EventLoginFailed, u.ID, in.IP, grant)
		ev.Details.Username, ev.Details.Reason = domain.TruncateUsername(u.Username), failedUserChanged
		l.creds.record(ev)
		return nil, domain.ErrInvalidCredentials
	}
	if err != nil {
		return nil, err
	}
	ev := l.creds.loginEvent(ctx, domain.EventLoginSucceeded, u.ID, in.IP, grant)
	ev.SessionID = pair.SessionID
	l.creds.record(ev)
	return pair, nil
}

// originDefaults returns ctx whose Origin has ip and userAgent where it
// has no address or User-Agent of its own (callers that pass them
// explicitly, as the login does for the throttle and the session).
func originDefaults(ctx context.Context, ip, userAgent string) context.Context {
	o, _ := originFrom(ctx)
	changed := false
	if o.IP == "" && ip != "" {
		o.IP, changed = ip, true
	}
	if o.UserAgent == "" && userAgent != "" {
		o.UserAgent, changed = userAgent, true
	}
	if !changed {
		return ctx
	}
	return WithOrigin(ctx, o)
}
