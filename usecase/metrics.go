package usecase

import (
	"errors"

	"github.com/gatehouse-auth/gatehouse/domain"
)

// Metrics is told what the use cases did, to count it. Implementations must
// be safe for concurrent use and cheap: they run on the request path. The
// arguments are fixed words (the constants below), never user input.
//
// Login, Refresh, Verify, Clients, APIKeys, EventLog and the other use
// cases that record auth events take one in their constructor; nil reports
// nothing.
type Metrics interface {
	// LoginResult reports how a password login ended: one of the
	// Login* outcome constants.
	LoginResult(outcome string)
	// TokenIssued reports an access token issued under grant: one of the
	// Grant* constants.
	TokenIssued(grant string)
	// RefreshReuse reports a refresh token presented again after rotation
	// (its session has been revoked).
	RefreshReuse()
	// VerifyFailed reports a refused access token: one of the Verify*
	// reason constants.
	VerifyFailed(reason string)
	// EventsWritten reports n auth events of type t written to the store:
	// by EventLog after a batch, by a use case after its change committed.
	EventsWritten(t domain.EventType, n int)
	// EventsDropped reports n auth events that were never written (the
	// EventLog's buffer was full, or the store kept failing).
	EventsDropped(n int)
}

// noMetrics is the Metrics of a use case given none: it reports nothing.
type noMetrics struct{}

func (noMetrics) LoginResult(string)                  {}
func (noMetrics) TokenIssued(string)                  {}
func (noMetrics) RefreshReuse()                       {}
func (noMetrics) VerifyFailed(string)                 {}
func (noMetrics) EventsWritten(domain.EventType, int) {}
func (noMetrics) EventsDropped(int)                   {}

// orNoMetrics returns ev, or noMetrics when ev is nil.
func orNoMetrics(ev Metrics) Metrics {
	if ev == nil {
		return noMetrics{}
	}
	return ev
}

// Login outcomes reported through Metrics.LoginResult.
const (
	LoginSuccess            = "success"
	LoginInvalidCredentials = "invalid_credentials"
	LoginThrottled          = "throttled"
	LoginOverloaded         = "overloaded"
	LoginUnavailable        = "unavailable"
	LoginInvalidScope       = "invalid_scope"
	// LoginMFARequired: the password was right and the login waits for a
	// second factor (an mfa_token was handed out).
	LoginMFARequired = "mfa_required"
	LoginError       = "error"
)

// Grant types reported through Metrics.TokenIssued (RFC 6749 names). The
// tutorial's POST /get_token is a password grant.
const (
	GrantPassword          = "password"
	GrantRefreshToken      = "refresh_token"
	GrantClientCredentials = "client_credentials"
	GrantTokenExchange     = "token_exchange"
	// GrantMFAOTP is the second step of a login with MFA
	// (urn:gatehouse:params:oauth:grant-type:mfa-otp).
	GrantMFAOTP = "mfa_otp"
)

// Reasons reported through Metrics.VerifyFailed.
const (
	VerifyMissing = "missing"
	VerifyExpired = "expired"
	VerifyRevoked = "revoked"
	VerifyInvalid = "invalid"
)

// LoginOutcome names the outcome of a Login or CompleteMFA call that
// returned err. CompleteMFA's invalid_grant (a wrong code, a dead
// mfa_token) counts as invalid credentials.
func LoginOutcome(err error) string {
	var te *domain.ThrottledError
	var mfa *domain.MFARequiredError
	switch {
	case err == nil:
		return LoginSuccess
	case errors.As(err, &mfa):
		return LoginMFARequired
	case errors.Is(err, domain.ErrInvalidCredentials), errors.Is(err, domain.ErrInvalidGrant):
		return LoginInvalidCredentials
	case errors.As(err, &te):
		return LoginThrottled
	case errors.Is(err, domain.ErrOverloaded):
		return LoginOverloaded
	case errors.Is(err, domain.ErrUnavailable):
		return LoginUnavailable
	case errors.Is(err, domain.ErrInvalidScope):
		return LoginInvalidScope
	}
	return LoginError
}

// VerifyReason names why Verify refused a token with err.
func VerifyReason(err error) string {
	switch {
	case errors.Is(err, domain.ErrTokenMissing):
		return VerifyMissing
	case errors.Is(err, domain.ErrTokenExpired):
		return VerifyExpired
	case errors.Is(err, domain.ErrTokenRevoked):
		return VerifyRevoked
	}
	return VerifyInvalid
}
