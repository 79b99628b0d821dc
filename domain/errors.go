package domain

import (
	"errors"
	"fmt"
	"time"
)

// Sentinel errors shared by every layer. Adapters translate their library
// errors into these at the port, so a memory store and a SQL store fail the
// same way, and adapter/internal/problem maps them to statuses in one place.
var (
	// ErrNotFound means the requested record does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict means a conditional update lost a race (for example a
	// refresh token rotated by a concurrent request).
	ErrConflict = errors.New("conflict")
	// ErrUsernameTaken means another user already holds the username.
	ErrUsernameTaken = errors.New("username taken")
	// ErrInvalidCredentials covers unknown user, wrong password and disabled
	// user alike, so that callers cannot tell them apart.
	ErrInvalidCredentials = errors.New("invalid credentials")
	// ErrInvalidClient means client authentication failed.
	ErrInvalidClient = errors.New("invalid client")
	// ErrInvalidGrant means a refresh token is unknown, expired, revoked or
	// reused.
	ErrInvalidGrant = errors.New("invalid grant")
	// ErrInvalidScope means a requested scope is not allowed.
	ErrInvalidScope = errors.New("invalid scope")
	// ErrTokenMissing means no access token was presented.
	ErrTokenMissing = errors.New("token is missing")
	// ErrTokenExpired means the access token's exp is in the past.
	ErrTokenExpired = errors.New("token has expired")
	// ErrTokenRevoked means the token's session or user was revoked.
	ErrTokenRevoked = errors.New("token has been revoked")
	// ErrTokenInvalid covers every other reason a token is refused.
	ErrTokenInvalid = errors.New("invalid token")
	// ErrForbidden means the caller is authenticated but lacks a role.
	ErrForbidden = errors.New("forbidden")
	// ErrSignupDisabled means self-service registration is turned off.
	ErrSignupDisabled = errors.New("signup disabled")
	// ErrOverloaded means a bounded resource (the hashing queue) is full.
	ErrOverloaded = errors.New("overloaded")
	// ErrUnavailable means a dependency such as the store cannot be reached.
	ErrUnavailable = errors.New("unavailable")
)

// ErrorCode names the value rule a *ValidationError breaks. It is stable:
// the answer's "error" member carries it (adapter/internal/problem maps each
// one to its status).
type ErrorCode string

// The codes of value rules.
const (
	// CodeInvalidRequest: a parameter is missing, malformed or out of range.
	CodeInvalidRequest ErrorCode = "invalid_request"
	// CodeInvalidScope: a scope name breaks the scope rules.
	CodeInvalidScope ErrorCode = "invalid_scope"
	// CodeWeakPassword: a password is too short, too long or too common.
	CodeWeakPassword ErrorCode = "weak_password"
	// CodeInvalidUsername: a username breaks the username rules.
	CodeInvalidUsername ErrorCode = "invalid_username"
)

// ValidationError reports input that breaks a value rule. Code says which
// kind of rule; Message is the fixed text shown to the client.
type ValidationError struct {
	Code    ErrorCode
	Message string
}

func (e *ValidationError) Error() string { return string(e.Code) + ": " + e.Message }

// ThrottledError means an attempt was refused before any credential check
// because of too many recent failures. RetryAfter tells the caller how long
// to wait.
type ThrottledError struct {
	RetryAfter time.Duration
}

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("throttled: retry after %s", e.RetryAfter)
}
