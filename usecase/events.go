package usecase

import (
	"errors"

	"github.com/gatehouse-auth/gatehouse/domain"
)

// Events is told what the use cases did, for metrics. Implementations must
// be safe for concurrent use and cheap: they run on the request path. The
// arguments are fixed words (the constants below), never user input.
//
// Login, Refresh, Verify and Clients take one in their constructor; nil
// reports nothing.
type Events interface {
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
}

// noEvents is the Events of a use case given none: it reports nothing.
type noEvents struct{}

func (noEvents) LoginResult(string)  {}
func (noEvents) TokenIssued(string)  {}
func (noEvents) RefreshReuse()       {}
func (noEvents) VerifyFailed(string) {}

// orNoEvents returns ev, or noEvents when ev is nil.
func orNoEvents(ev Events) Events {
	if ev == nil {
		return noEvents{}
	}
	return ev
}

// Login outcomes reported through Events.LoginResult.
const (
	LoginSuccess            = "success"
	LoginInvalidCredentials = "invalid_credentials"
	LoginThrottled          = "throttled"
	LoginOverloaded         = "overloaded"
	LoginUnavailable        = "unavailable"
	LoginInvalidScope       = "invalid_scope"
	LoginError              = "error"
)

// Grant types reported through Events.TokenIssued (RFC 6749 names). The
// tutorial's POST /get_token is a password grant.
const (
	GrantPassword          = "password"
	GrantRefreshToken      = "refresh_token"
	GrantClientCredentials = "client_credentials"
	GrantTokenExchange     = "token_exchange"
)

// Reasons reported through Events.VerifyFailed.
const (
	VerifyMissing = "missing"
	VerifyExpired = "expired"
	VerifyRevoked = "revoked"
	VerifyInvalid = "invalid"
)

// LoginOutcome names the outcome of a Login call that returned err.
func LoginOutcome(err error) string {
	var te *domain.ThrottledError
	switch {
	case err == nil:
		return LoginSuccess
	case errors.Is(err, domain.ErrInvalidCredentials):
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
