package http

import (
	"encoding/json"
	"errors"
	"math"
	nethttp "net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/gatehouse-auth/gatehouse/domain"
)

// problem is the public face of an error: status, stable code, fixed text.
type problem struct {
	status  int
	code    string
	message string
}

// errorBody is every error response: {"error", "message"}; OAuth endpoints
// add RFC 6749's error_description.
type errorBody struct {
	Error       string `json:"error"`
	Message     string `json:"message"`
	Description string `json:"error_description,omitempty"`
}

// oauthError marks an error from an OAuth endpoint, answered in RFC 6749 5.2
// terms (invalid_grant rather than invalid_credentials, and so on).
type oauthError struct{ err error }

func (e *oauthError) Error() string { return e.err.Error() }
func (e *oauthError) Unwrap() error { return e.err }

// badRequest is a client mistake in the request itself.
func badRequest(msg string) error {
	return &domain.ValidationError{Code: "invalid_request", Message: msg}
}

// classify is the one table from errors to HTTP answers.
func classify(err error) problem {
	var ve *domain.ValidationError
	var te *domain.ThrottledError
	var he *echo.HTTPError
	switch {
	case errors.As(err, &ve):
		switch ve.Code {
		case "invalid_request", "invalid_scope", "unsupported_grant_type":
			return problem{nethttp.StatusBadRequest, ve.Code, ve.Message}
		}
		return problem{nethttp.StatusUnprocessableEntity, ve.Code, ve.Message}
	case errors.As(err, &te):
		return problem{nethttp.StatusTooManyRequests, "too_many_requests", "Too many failed attempts; try again later"}
	case errors.Is(err, domain.ErrInvalidCredentials):
		return problem{nethttp.StatusUnauthorized, "invalid_credentials", "Invalid credentials"}
	case errors.Is(err, domain.ErrTokenMissing):
		return problem{nethttp.StatusUnauthorized, "unauthorized", "Token is missing"}
	case errors.Is(err, domain.ErrTokenExpired):
		return problem{nethttp.StatusUnauthorized, "invalid_token", "Token has expired"}
	case errors.Is(err, domain.ErrTokenRevoked):
		return problem{nethttp.StatusUnauthorized, "invalid_token", "Token has been revoked"}
	case errors.Is(err, domain.ErrTokenInvalid):
		return problem{nethttp.StatusUnauthorized, "invalid_token", "Invalid token"}
	case errors.Is(err, domain.ErrInvalidClient):
		return problem{nethttp.StatusUnauthorized, "invalid_client", "Client authentication failed"}
	case errors.Is(err, domain.ErrInvalidGrant):
		return problem{nethttp.StatusBadRequest, "invalid_grant", "The refresh token is invalid, expired or revoked"}
	case errors.Is(err, domain.ErrInvalidScope):
		return problem{nethttp.StatusBadRequest, "invalid_scope", "The requested scope is not allowed"}
	case errors.Is(err, domain.ErrUsernameTaken):
		return problem{nethttp.StatusConflict, "username_taken", "Username is already taken"}
	case errors.Is(err, domain.ErrNotFound):
		return problem{nethttp.StatusNotFound, "not_found", "Not found"}
	case errors.Is(err, domain.ErrConflict):
		return problem{nethttp.StatusConflict, "conflict", "The account changed meanwhile; retry"}
	case errors.Is(err, domain.ErrForbidden):
		return problem{nethttp.StatusForbidden, "forbidden", "You are not allowed to do this"}
	case errors.Is(err, domain.ErrSignupDisabled):
		return problem{nethttp.StatusForbidden, "signup_disabled", "Signup is disabled"}
	case errors.Is(err, domain.ErrOverloaded):
		return problem{nethttp.StatusServiceUnavailable, "overloaded", "The server is busy; try again shortly"}
	case errors.Is(err, domain.ErrUnavailable):
		return problem{nethttp.StatusServiceUnavailable, "unavailable", "A dependency is unavailable; try again shortly"}
	case errors.As(err, &he):
		return classifyHTTP(he)
	}
	return problem{nethttp.StatusInternalServerError, "server_error", "Internal server error"}
}

// classifyHTTP names Echo's own errors (routing, body limit).
func classifyHTTP(he *echo.HTTPError) problem {
	switch he.Code {
	case nethttp.StatusNotFound:
		return problem{he.Code, "not_found", "Not found"}
	case nethttp.StatusMethodNotAllowed:
		return problem{he.Code, "method_not_allowed", "Method not allowed"}
	case nethttp.StatusRequestEntityTooLarge:
		return problem{he.Code, "request_too_large", "Request body is larger than 64 KiB"}
	case nethttp.StatusUnsupportedMediaType:
		return problem{he.Code, "unsupported_media_type", "Send JSON or a form"}
	case nethttp.StatusBadRequest:
		return problem{he.Code, "invalid_request", "Malformed request"}
	case nethttp.StatusServiceUnavailable:
		return problem{he.Code, "unavailable", "Service unavailable"}
	}
	if he.Code >= 500 {
		return problem{nethttp.StatusInternalServerError, "server_error", "Internal server error"}
	}
	return problem{he.Code, "error", nethttp.StatusText(he.Code)}
}

// oauthProblem re-labels a problem in RFC 6749 5.2 terms.
func oauthProblem(p problem, err error) problem {
	switch {
	case errors.Is(err, domain.ErrInvalidCredentials):
		return problem{nethttp.StatusBadRequest, "invalid_grant", "Invalid username or password"}
	case p.code == "weak_password", p.code == "invalid_username":
		return problem{nethttp.StatusBadRequest, "invalid_request", p.message}
	}
	return p
}

// handleError is Echo's HTTPErrorHandler: it writes the standard body and
// logs the cause of server-side failures with the request id.
func (s *Server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	p := classify(err)
	var oe *oauthError
	isOAuth := errors.As(err, &oe)
	if isOAuth {
		p = oauthProblem(p, err)
	}
	h := c.Response().Header()
	switch p.status {
	case nethttp.StatusUnauthorized:
		switch {
		case p.code == "invalid_client":
			h.Set("WWW-Authenticate", `Basic realm="gatehouse"`)
		case p.code == "invalid_token":
			h.Set("WWW-Authenticate", `Bearer realm="gatehouse", error="invalid_token"`)
		default:
			h.Set("WWW-Authenticate", `Bearer realm="gatehouse"`)
		}
	case nethttp.StatusTooManyRequests:
		var te *domain.ThrottledError
		if errors.As(err, &te) {
			h.Set("Retry-After", retryAfter(te.RetryAfter))
		}
	case nethttp.StatusServiceUnavailable:
		h.Set("Retry-After", "1")
	}
	if p.status >= 500 {
		s.log.ErrorContext(c.Request().Context(), "request failed",
			"request_id", h.Get(echo.HeaderXRequestID), "route", c.Path(), "err", err)
	}
	body := errorBody{Error: p.code, Message: p.message}
	if isOAuth {
		body.Description = p.message
	}
	var werr error
	if c.Request().Method == nethttp.MethodHead {
		werr = c.NoContent(p.status)
	} else {
		werr = writeJSON(c, p.status, body)
	}
	if werr != nil {
		s.log.DebugContext(c.Request().Context(), "write error response", "err", werr)
	}
}

// retryAfter renders a wait as whole seconds, rounded up, at least 1.
func retryAfter(d time.Duration) string {
	secs := int64(math.Ceil(d.Seconds()))
	return strconv.FormatInt(max(secs, 1), 10)
}

// writeJSON answers v as JSON with code: the bytes of Echo's c.JSON (a
// trailing newline included) without its "?pretty" check, which parses the
// query string of every request it answers.
func writeJSON(c echo.Context, code int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return c.JSONBlob(code, append(b, '\n'))
}
