package usecase

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/gatehouse-auth/gatehouse/domain"
)

// mfaTokenBytes is the entropy of an mfa_token: 256 bits.
const mfaTokenBytes = 32

// errNoMFA is why a correct password of a user with MFA opens nothing when
// Login was built without MFA: a wiring mistake, never a session
// without the second factor.
var errNoMFA = errors.New("login: user has mfa but login is built without it")

// MFALoginInput is the second step of a login with MFA: the mfa_token the
// first step answered and exactly one of a TOTP code and a recovery code.
type MFALoginInput struct {
	Token        string
	OTP          string
	RecoveryCode string
	IP           string // client address, for throttling and the session
	UserAgent    string
}

// secondFactor goes on with a login whose password was right, of u with
// MFA: with in.OTP the login completes at once, without it the answer is
// a *domain.MFARequiredError with a new mfa_token. The password attempt
// stays counted on the throttle until a right code settles it.
func (l *Login) secondFactor(ctx context.Context, u *domain.User, in LoginInput, grant string) (*TokenPair, error) {
	if l.mfa == nil {
		l.creds.release(ctx, u.Username, in.IP)
		return nil, errNoMFA
	}
	if err := l.checkScope(in.Scope); err != nil {
		l.creds.release(ctx, u.Username, in.IP) // not a guess
		return nil, err
	}
	if in.OTP == "" {
		return nil, l.mfaRequired(ctx, u, in, grant)
	}
	_, err := l.mfa.check.verify(ctx, u.ID, in.OTP, totpCode, grant)
	switch {
	case errors.Is(err, domain.ErrInvalidCode), errors.Is(err, domain.ErrMFANotEnabled):
		return nil, domain.ErrInvalidCredentials // counted: the reservation stays
	case err != nil:
		l.creds.release(ctx, u.Username, in.IP)
		return nil, err
	}
	l.creds.success(ctx, u.Username, in.IP)
	return l.open(ctx, u, in.Scope, in.IP, in.UserAgent, grant, byPasswordAndOTP)
}

// mfaRequired stores a new mfa_token for the login of u (its hash, the
// user's stamp, the scope, how the login came and from where) and returns
// the answer that carries it.
func (l *Login) mfaRequired(ctx context.Context, u *domain.User, in LoginInput, grant string) error {
	token := newSecret(mfaTokenBytes)
	now := l.now().UTC().Truncate(time.Microsecond)
	t := &domain.MFAToken{
		Hash:      hashToken(token),
		UserID:    u.ID,
		UserStamp: u.Stamp,
		Scope:     slices.Clone(in.Scope),
		Grant:     grant,
		IP:        in.IP,
		UserAgent: domain.TruncateUserAgent(in.UserAgent),
		CreatedAt: now,
		ExpiresAt: now.Add(domain.MFATokenTTL),
	}
	if err := l.mfa.store.CreateMFAToken(ctx, t); err != nil {
		l.creds.release(ctx, u.Username, in.IP)
		return fmt.Errorf("create mfa token: %w", err)
	}
	return &domain.MFARequiredError{Token: token}
}

// CompleteMFA finishes a login with MFA: in.Token from the first step and
// a TOTP code (in.OTP) or a recovery code (in.RecoveryCode), exactly one
// (else a *domain.ValidationError "invalid_request"). The session rests
// on the user as the password found it (the token's stamp) and its tokens
// carry amr ["pwd","otp"] and acr "aal2". An unknown, expired, used or
// dead token, a user changed since, and a wrong code are all
// domain.ErrInvalidGrant; a wrong code also counts on the token (five kill
// it) and on the throttle as a failed login of (user, in.IP).
//
// Its span, usecase.CompleteMFA, carries the grant, the kind of code (never
// the code), the outcome, and the user and session ids once known.
func (l *Login) CompleteMFA(ctx context.Context, in MFALoginInput) (*TokenPair, error) {
	ctx, span := l.tracer.Start(ctx, spanCompleteMFA)
	defer span.End()
	if span.Recording() {
		method := methodTOTP
		if in.RecoveryCode != "" {
			method = methodRecoveryCode
		}
		span.SetString(attrGrant, GrantMFAOTP)
		span.SetString(attrMFAMethod, method)
	}
	pair, err := l.completeMFA(ctx, span, in)
	outcome := LoginOutcome(err)
	l.metrics.LoginResult(outcome)
	if err == nil {
		l.metrics.TokenIssued(GrantMFAOTP)
		traceIDs(span, "", pair.SessionID)
	}
	traceOutcome(span, outcome, err != nil)
	return pair, err
}

// completeMFA is CompleteMFA below its span, which learns the user's id.
func (l *Login) completeMFA(ctx context.Context, span Span, in MFALoginInput) (*TokenPair, error) {
	if (in.OTP == "") == (in.RecoveryCode == "") {
		return nil, &domain.ValidationError{Code: domain.CodeInvalidRequest, Message: "send exactly one of otp and recovery_code"}
	}
	if in.Token == "" || l.mfa == nil {
		return nil, domain.ErrInvalidGrant
	}
	ctx = originDefaults(ctx, in.IP, in.UserAgent)
	hash := hashToken(in.Token)
	t, err := l.mfa.store.MFATokenByHash(ctx, hash)
	if err != nil {
		return nil, grantErr("find mfa token", err)
	}
	if !t.Live(l.now()) {
		return nil, domain.ErrInvalidGrant
	}
	u, err := l.creds.users.UserByID(ctx, t.UserID)
	if err != nil {
		return nil, grantErr("find user", err)
	}
	traceIDs(span, u.ID, "")
	if u.Disabled || !u.MFAEnabled || u.Stamp != t.UserStamp {
		return nil, domain.ErrInvalidGrant // changed since the password: what was checked no longer holds
	}
	// The code attempt counts before it is checked, like a password:
	// parallel guesses meet the throttle's limits, not only the token's.
	if err := l.creds.throttle.Reserve(ctx, u.Username, in.IP); err != nil {
		var te *domain.ThrottledError
		if errors.As(err, &te) {
			l.creds.throttled(ctx, u.Username, in.IP, t.Grant, te.RetryAfter)
		}
		return nil, err
	}
	code, kind := in.OTP, totpCode
	if in.RecoveryCode != "" {
		code, kind = in.RecoveryCode, recoveryCode
	}
	_, err = l.mfa.check.verify(ctx, u.ID, code, kind, t.Grant)
	switch {
	case errors.Is(err, domain.ErrInvalidCode), errors.Is(err, domain.ErrMFANotEnabled):
		if _, ferr := l.mfa.store.FailMFAToken(ctx, hash); ferr != nil && !errors.Is(ferr, domain.ErrNotFound) {
			l.creds.log.WarnContext(ctx, "mfa token failure not counted", "user_id", u.ID, "err", ferr)
		}
		return nil, domain.ErrInvalidGrant // counted by Reserve
	case err != nil:
		l.creds.release(ctx, u.Username, in.IP)
		return nil, err
	}
	ok, err := l.mfa.store.ConsumeMFAToken(ctx, hash, l.now().UTC())
	if err != nil {
		l.creds.release(ctx, u.Username, in.IP)
		return nil, grantErr("consume mfa token", err)
	}
	if !ok {
		return nil, domain.ErrInvalidGrant // another request completed (or killed) it first
	}
	// Right: this attempt was no guess, and the login's password attempt
	// succeeded after all.
	l.creds.release(ctx, u.Username, in.IP)
	l.creds.success(ctx, u.Username, in.IP)
	ip, userAgent := in.IP, in.UserAgent
	if ip == "" {
		ip = t.IP
	}
	if userAgent == "" {
		userAgent = t.UserAgent
	}
	return l.open(ctx, u, t.Scope, ip, userAgent, t.Grant, byPasswordAndOTP)
}
