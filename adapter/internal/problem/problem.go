// Package problem is the one table from errors to HTTP answers and the one
// writer of error responses. Gatehouse's server (adapter/rest) and the
// guard other services import (adapter/guard) both answer through it, so a
// refused token looks the same whoever refuses it: status, stable code,
// fixed message, WWW-Authenticate and Retry-After headers, and the body
// {"error","message"} (plus RFC 6749's error_description on OAuth routes).
//
// It is internal to the adapters: a resource server sees only the answers.
package problem

import (
	"encoding/json"
	"errors"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/gatehouse-auth/gatehouse/domain"
)

// Code is the stable, machine-readable "error" member of an error body.
type Code string

// The codes clients may rely on (DESIGN.md, RFC 6749 5.2, RFC 6750 3.1).
const (
	InvalidRequest       Code = "invalid_request"
	InvalidScope         Code = "invalid_scope"
	UnsupportedGrantType Code = "unsupported_grant_type"
	InvalidCredentials   Code = "invalid_credentials"
	InvalidClient        Code = "invalid_client"
	InvalidGrant         Code = "invalid_grant"
	InvalidToken         Code = "invalid_token"
	InsufficientScope    Code = "insufficient_scope"
	Unauthorized         Code = "unauthorized"
	TooManyRequests      Code = "too_many_requests"
	UsernameTaken        Code = "username_taken"
	WeakPassword         Code = "weak_password"
	InvalidUsername      Code = "invalid_username"
	NotFound             Code = "not_found"
	TooManyAPIKeys       Code = "too_many_api_keys"
	TooManyWebhooks      Code = "too_many_webhooks"
	MFARequired          Code = "mfa_required"
	InvalidCode          Code = "invalid_code"
	MFAAlreadyEnabled    Code = "mfa_already_enabled"
	MFANotEnabled        Code = "mfa_not_enabled"
	InsufficientAuth     Code = "insufficient_user_authentication"
	Conflict             Code = "conflict"
	Forbidden            Code = "forbidden"
	SignupDisabled       Code = "signup_disabled"
	Overloaded           Code = "overloaded"
	Unavailable          Code = "unavailable"
	MethodNotAllowed     Code = "method_not_allowed"
	RequestTooLarge      Code = "request_too_large"
	UnsupportedMedia     Code = "unsupported_media_type"
	ServerError          Code = "server_error"
	Generic              Code = "error"
)

// Problem is the public face of an error: status, code and fixed text.
type Problem struct {
	Status  int
	Code    Code
	Message string
}

// body is every error response.
type body struct {
	Error       Code   `json:"error"`
	Message     string `json:"message"`
	Description string `json:"error_description,omitempty"`
	MFAToken    string `json:"mfa_token,omitempty"`
}

// RequestError is a mistake in the request itself (a missing parameter,
// malformed JSON): 400 with its code.
type RequestError struct {
	Code    Code
	Message string
}

func (e *RequestError) Error() string { return string(e.Code) + ": " + e.Message }

// BadRequest returns a 400 invalid_request error with msg as its message.
func BadRequest(msg string) error { return &RequestError{Code: InvalidRequest, Message: msg} }

// ScopeError is RequireScope's refusal (RFC 6750 3.1): 403
// insufficient_scope, naming the scopes needed in WWW-Authenticate.
type ScopeError struct{ Scope string }

func (e *ScopeError) Error() string { return "insufficient scope: need " + e.Scope }

// ACRError is RequireACR's refusal (RFC 9470): 401
// insufficient_user_authentication, naming the acr values that would do in
// WWW-Authenticate. It wraps domain.ErrInsufficientAuthentication.
type ACRError struct{ ACR string }

func (e *ACRError) Error() string { return "insufficient user authentication: need acr " + e.ACR }

// Unwrap makes the refusal a domain.ErrInsufficientAuthentication.
func (e *ACRError) Unwrap() error { return domain.ErrInsufficientAuthentication }

// Not-ready answers of readiness routes: 503 unavailable with a fixed
// message. They wrap domain.ErrUnavailable.
var (
	// ErrStale means a revoked set has gone stale.
	ErrStale error = &notReady{"Revocation data is stale"}
	// ErrStoreDown means the store does not answer.
	ErrStoreDown error = &notReady{"The store is unreachable"}
)

// notReady is a not-ready answer with a fixed message.
type notReady struct{ message string }

func (e *notReady) Error() string { return e.message }
func (e *notReady) Unwrap() error { return domain.ErrUnavailable }

// oauthError marks an error answered in RFC 6749 5.2 terms.
type oauthError struct{ err error }

func (e *oauthError) Error() string { return e.err.Error() }
func (e *oauthError) Unwrap() error { return e.err }

// OAuth marks err to be answered in RFC 6749 5.2 terms: invalid_grant
// rather than invalid_credentials, and error_description in the body. The
// OAuth route group applies it to every error of its handlers.
func OAuth(err error) error {
	var oe *oauthError
	if err == nil || errors.As(err, &oe) {
		return err
	}
	return &oauthError{err}
}

// Classify is the one table from errors to HTTP answers.
func Classify(err error) Problem {
	p := classify(err)
	var oe *oauthError
	if errors.As(err, &oe) {
		switch {
		case errors.Is(err, domain.ErrInvalidCredentials):
			p = Problem{http.StatusBadRequest, InvalidGrant, "Invalid username or password"}
		case p.Code == WeakPassword, p.Code == InvalidUsername:
			p = Problem{http.StatusBadRequest, InvalidRequest, p.Message}
		}
	}
	return p
}

func classify(err error) Problem {
	var (
		re *RequestError
		ve *domain.ValidationError
		te *domain.ThrottledError
		se *ScopeError
		ae *ACRError
		mr *domain.MFARequiredError
		nr *notReady
		he *echo.HTTPError
	)
	switch {
	case errors.As(err, &re):
		return Problem{http.StatusBadRequest, re.Code, re.Message}
	case errors.As(err, &ve):
		return validation(ve)
	case errors.As(err, &se):
		return Problem{http.StatusForbidden, InsufficientScope, "The token lacks the required scope"}
	case errors.As(err, &ae) || errors.Is(err, domain.ErrInsufficientAuthentication):
		return Problem{http.StatusUnauthorized, InsufficientAuth, "This needs a login with a second factor"}
	case errors.As(err, &mr):
		return Problem{http.StatusForbidden, MFARequired, "A second factor is required: send the mfa_token with a code"}
	case errors.Is(err, domain.ErrInvalidCode):
		return Problem{http.StatusBadRequest, InvalidCode, "The code is wrong, malformed or already used"}
	case errors.Is(err, domain.ErrMFAAlreadyEnabled):
		return Problem{http.StatusConflict, MFAAlreadyEnabled, "MFA is already enabled; disable it first"}
	case errors.Is(err, domain.ErrMFANotEnabled):
		return Problem{http.StatusConflict, MFANotEnabled, "MFA is not enabled (or there is no enrolment to confirm)"}
	case errors.As(err, &nr):
		return Problem{http.StatusServiceUnavailable, Unavailable, nr.message}
	case errors.As(err, &te):
		return Problem{http.StatusTooManyRequests, TooManyRequests, "Too many failed attempts; try again later"}
	case errors.Is(err, domain.ErrInvalidCredentials):
		return Problem{http.StatusUnauthorized, InvalidCredentials, "Invalid credentials"}
	case errors.Is(err, domain.ErrTokenMissing):
		return Problem{http.StatusUnauthorized, Unauthorized, "Token is missing"}
	case errors.Is(err, domain.ErrTokenExpired):
		return Problem{http.StatusUnauthorized, InvalidToken, "Token has expired"}
	case errors.Is(err, domain.ErrTokenRevoked):
		return Problem{http.StatusUnauthorized, InvalidToken, "Token has been revoked"}
	case errors.Is(err, domain.ErrTokenInvalid):
		return Problem{http.StatusUnauthorized, InvalidToken, "Invalid token"}
	case errors.Is(err, domain.ErrInvalidClient):
		return Problem{http.StatusUnauthorized, InvalidClient, "Client authentication failed"}
	case errors.Is(err, domain.ErrInvalidSubjectToken):
		return Problem{http.StatusBadRequest, InvalidGrant, "The API key is invalid, expired or revoked"}
	case errors.Is(err, domain.ErrInvalidGrant):
		return Problem{http.StatusBadRequest, InvalidGrant, "The refresh token is invalid, expired or revoked"}
	case errors.Is(err, domain.ErrInvalidScope):
		return Problem{http.StatusBadRequest, InvalidScope, "The requested scope is not allowed"}
	case errors.Is(err, domain.ErrUsernameTaken):
		return Problem{http.StatusConflict, UsernameTaken, "Username is already taken"}
	case errors.Is(err, domain.ErrNotFound):
		return Problem{http.StatusNotFound, NotFound, "Not found"}
	case errors.Is(err, domain.ErrTooManyAPIKeys):
		return Problem{http.StatusUnprocessableEntity, TooManyAPIKeys, "At most 100 live API keys per user; delete one first"}
	case errors.Is(err, domain.ErrTooManyWebhooks):
		return Problem{http.StatusUnprocessableEntity, TooManyWebhooks, "At most 100 webhooks; delete one first"}
	case errors.Is(err, domain.ErrConflict):
		return Problem{http.StatusConflict, Conflict, "The account changed meanwhile; retry"}
	case errors.Is(err, domain.ErrForbidden):
		return Problem{http.StatusForbidden, Forbidden, "You are not allowed to do this"}
	case errors.Is(err, domain.ErrSignupDisabled):
		return Problem{http.StatusForbidden, SignupDisabled, "Signup is disabled"}
	case errors.Is(err, domain.ErrOverloaded):
		return Problem{http.StatusServiceUnavailable, Overloaded, "The server is busy; try again shortly"}
	case errors.Is(err, domain.ErrUnavailable):
		return Problem{http.StatusServiceUnavailable, Unavailable, "A dependency is unavailable; try again shortly"}
	case errors.As(err, &he):
		return classifyHTTP(he)
	}
	return Problem{http.StatusInternalServerError, ServerError, "Internal server error"}
}

// validation answers a broken value rule: a bad parameter is a 400, a
// refused password or username a 422. A code this table does not know
// (a mistake) is answered as a bad parameter rather than a 500.
func validation(ve *domain.ValidationError) Problem {
	switch ve.Code {
	case domain.CodeInvalidScope:
		return Problem{http.StatusBadRequest, InvalidScope, ve.Message}
	case domain.CodeWeakPassword:
		return Problem{http.StatusUnprocessableEntity, WeakPassword, ve.Message}
	case domain.CodeInvalidUsername:
		return Problem{http.StatusUnprocessableEntity, InvalidUsername, ve.Message}
	}
	return Problem{http.StatusBadRequest, InvalidRequest, ve.Message}
}

// classifyHTTP names Echo's own errors (routing, body limit).
func classifyHTTP(he *echo.HTTPError) Problem {
	switch he.Code {
	case http.StatusNotFound:
		return Problem{he.Code, NotFound, "Not found"}
	case http.StatusMethodNotAllowed:
		return Problem{he.Code, MethodNotAllowed, "Method not allowed"}
	case http.StatusRequestEntityTooLarge:
		return Problem{he.Code, RequestTooLarge, "Request body is larger than 64 KiB"}
	case http.StatusUnsupportedMediaType:
		return Problem{he.Code, UnsupportedMedia, "Send JSON or a form"}
	case http.StatusBadRequest:
		return Problem{he.Code, InvalidRequest, "Malformed request"}
	case http.StatusServiceUnavailable:
		return Problem{he.Code, Unavailable, "Service unavailable"}
	}
	if he.Code >= 500 {
		return Problem{http.StatusInternalServerError, ServerError, "Internal server error"}
	}
	return Problem{he.Code, Generic, http.StatusText(he.Code)}
}

// Write answers err from the table: status, headers, body (none for HEAD).
// The cause of a 5xx answer goes to log (nil: not logged) with the request
// id and route; the client sees only the table's text.
func Write(c echo.Context, log *slog.Logger, err error) error {
	p := Classify(err)
	h := c.Response().Header()
	switch p.Status {
	case http.StatusUnauthorized:
		switch p.Code {
		case InvalidClient:
			h.Set("WWW-Authenticate", `Basic realm="gatehouse"`)
		case InvalidToken:
			h.Set("WWW-Authenticate", `Bearer realm="gatehouse", error="invalid_token"`)
		case InsufficientAuth:
			acr := domain.ACRAAL2
			var ae *ACRError
			if errors.As(err, &ae) {
				acr = ae.ACR
			}
			h.Set("WWW-Authenticate", `Bearer realm="gatehouse", error="insufficient_user_authentication", acr_values="`+acr+`"`)
		default:
			h.Set("WWW-Authenticate", `Bearer realm="gatehouse"`)
		}
	case http.StatusForbidden:
		var se *ScopeError
		if errors.As(err, &se) {
			h.Set("WWW-Authenticate", `Bearer realm="gatehouse", error="insufficient_scope", scope="`+se.Scope+`"`)
		}
	case http.StatusTooManyRequests:
		var te *domain.ThrottledError
		if errors.As(err, &te) {
			h.Set("Retry-After", retryAfter(te.RetryAfter))
		}
	case http.StatusServiceUnavailable:
		h.Set("Retry-After", "1")
	}
	if p.Status >= 500 && log != nil {
		level := slog.LevelError
		if p.Status == http.StatusServiceUnavailable {
			level = slog.LevelWarn
		}
		log.Log(c.Request().Context(), level, "request failed",
			"request_id", h.Get(echo.HeaderXRequestID), "route", c.Path(), "err", err)
	}
	if c.Request().Method == http.MethodHead {
		return c.NoContent(p.Status)
	}
	b := body{Error: p.Code, Message: p.Message}
	var oe *oauthError
	var mr *domain.MFARequiredError
	if errors.As(err, &oe) {
		b.Description = p.Message
	}
	if errors.As(err, &mr) {
		// Both the tutorial route and the token endpoint: the OAuth shape
		// and the mfa_token the second step needs.
		b.Description, b.MFAToken = p.Message, mr.Token
	}
	return JSON(c, p.Status, b)
}

// retryAfter renders a wait as whole seconds, rounded up, at least 1.
func retryAfter(d time.Duration) string {
	secs := int64(math.Ceil(d.Seconds()))
	return strconv.FormatInt(max(secs, 1), 10)
}

// JSON answers v as JSON with code: the bytes of Echo's c.JSON (a trailing
// newline included) without its "?pretty" check, which parses the query
// string of every request it answers.
func JSON(c echo.Context, code int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return c.JSONBlob(code, append(b, '\n'))
}
