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
	// OTP is a TOTP code sent with the password (/get_token's "otp"): a
	// user with MFA then logs in in one step. Ignored for a user without.
	OTP string
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
	now      func() time.Time
	metrics  Metrics
	mfa      *MFA // nil: a user with MFA cannot log in
	tracer   Tracer
}

// NewLogin returns a Login. throttle may be nil to disable throttling.
// mfa logs users with MFA in: the password first, then a code (inline in
// LoginInput.OTP, or later with CompleteMFA); with a nil mfa a correct
// password of such a user is refused with an error (never a session
// without the second factor). Each login's outcome and the tokens it issues are reported to metrics
// (nil reports nothing). Its auth events (login.succeeded, login.failed,
// login.throttled) go to events (an *EventLog; nil records nothing); the
// hash upgrade's user.updated commits with the upgrade. Its spans go to
// tracer (nil traces nothing).
//
// A login that checked the password of the user as it was read opens its
// session only if the user is unchanged by then (the store compares the
// security stamp atomically with the insert), so a password change,
// disable or role change that commits during the hash always wins.
func NewLogin(users domain.UserUpdater, store domain.SessionCreator, hasher domain.PasswordHasher,
	issuer domain.TokenIssuer, throttle *Throttle, mfa *MFA, policy TokenPolicy, now func() time.Time, log *slog.Logger,
	metrics Metrics, events EventRecorder, tracer Tracer) *Login {
	return &Login{
		creds:    newPasswordCheck(users, hasher, throttle, events, now, log, metrics),
		sessions: sessions{store: store, minter: minter{issuer: issuer, policy: policy, now: now}},
		policy:   policy,
		now:      now,
		metrics:  orNoMetrics(metrics),
		mfa:      mfa,
		tracer:   orNoTracer(tracer),
	}
}

// Login authenticates in and returns a fresh token pair.
// Its span, usecase.Login, has the hasher's spans as children and carries
// the grant, the outcome, and the user and session ids once known.
func (l *Login) Login(ctx context.Context, in LoginInput) (*TokenPair, error) {
	ctx, span := l.tracer.Start(ctx, spanLogin)
	defer span.End()
	if span.Recording() {
		span.SetString(attrGrant, loginGrant(in.Grant))
	}
	pair, err := l.login(ctx, span, in)
	outcome := LoginOutcome(err)
	l.metrics.LoginResult(outcome)
	if err == nil {
		l.metrics.TokenIssued(GrantPassword)
		traceIDs(span, "", pair.SessionID)
	}
	traceOutcome(span, outcome, err != nil && outcome != LoginMFARequired)
	return pair, err
}

// login is Login below its span, which learns the user's id.
func (l *Login) login(ctx context.Context, span Span, in LoginInput) (*TokenPair, error) {
	ctx = originDefaults(ctx, in.IP, in.UserAgent)
	grant := in.Grant
	if grant == "" {
		grant = LoginGrantPassword
	}
	// The attempt stays counted until it has succeeded in full: for a user
	// with MFA that is once the second factor is right.
	u, err := l.creds.verifyPassword(ctx, in.Username, in.Password, in.IP, grant)
	if err != nil {
		return nil, err
	}
	traceIDs(span, u.ID, "")
	if u.MFAEnabled {
		return l.secondFactor(ctx, u, in, grant)
	}
	l.creds.success(ctx, u.Username, in.IP)
	if err := l.checkScope(in.Scope); err != nil {
		return nil, err
	}
	return l.open(ctx, u, in.Scope, in.IP, in.UserAgent, grant, byPassword)
}

// checkScope refuses a scope beyond the policy's user scopes.
func (l *Login) checkScope(scope []string) error {
	for _, s := range scope {
		if !slices.Contains(l.policy.UserScopes, s) {
			return domain.ErrInvalidScope
		}
	}
	return nil
}

// open starts the session of a login that succeeded and records
// login.succeeded; a user changed since it was read fails the login.
func (l *Login) open(ctx context.Context, u *domain.User, scope []string, ip, userAgent, grant string, by authn) (*TokenPair, error) {
	pair, err := l.sessions.start(ctx, u, scope, ip, userAgent, by)
	if errors.Is(err, domain.ErrConflict) || errors.Is(err, domain.ErrNotFound) {
		// The user changed (password, disabled, roles, MFA) or went while
		// the credentials were checked: what was checked no longer holds.
		ev := l.creds.loginEvent(ctx, domain.EventLoginFailed, u.ID, ip, grant)
		ev.Details.Username, ev.Details.Reason = domain.TruncateUsername(u.Username), failedUserChanged
		l.creds.record(ev)
		return nil, domain.ErrInvalidCredentials
	}
	if err != nil {
		return nil, err
	}
	ev := l.creds.loginEvent(ctx, domain.EventLoginSucceeded, u.ID, ip, grant)
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
