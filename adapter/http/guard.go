package http

import (
	"errors"
	"log/slog"
	nethttp "net/http"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/gatehouse-auth/gatehouse/domain"
)

// RevocationChecker reports whether a session was revoked. A
// *RevocationPoller is one.
type RevocationChecker interface {
	Revoked(sessionID string) bool
}

// GuardConfig configures Guard.
type GuardConfig struct {
	// Verifier checks the token's signature and claims: in a resource
	// server, a *token.RemoteVerifier reading Gatehouse's JWKS. Required;
	// without it every request is refused with 500.
	Verifier Verifier
	// Revocations, when set, refuses tokens whose session (sid) it reports
	// revoked. Client tokens have no session and are not affected.
	Revocations RevocationChecker
	// Log receives the cause of 5xx answers (nil: discarded). Tokens are
	// never logged.
	Log *slog.Logger
}

// errInsufficientScope is RequireScope's refusal (RFC 6750 section 3.1).
var errInsufficientScope = errors.New("insufficient scope")

// Guard is the middleware other Echo services put in front of their routes
// to accept Gatehouse access tokens. It reads "Authorization: Bearer <t>"
// or a bare "Authorization: <t>", verifies the token, refuses revoked
// sessions, and stores the claims for GuardClaims and RequireScope. A
// refusal is written by the guard itself, with the same status, body and
// WWW-Authenticate header as Gatehouse ("Token is missing", "Token has
// expired", "Token has been revoked", "Invalid token"), whatever the host
// application's HTTPErrorHandler is.
func Guard(cfg GuardConfig) echo.MiddlewareFunc {
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if cfg.Verifier == nil {
				return writeGuardError(c, log, errors.New("guard: no verifier configured"))
			}
			tok := bearer(c.Request().Header.Get(echo.HeaderAuthorization))
			if tok == "" {
				return writeGuardError(c, log, domain.ErrTokenMissing)
			}
			cl, err := cfg.Verifier.Verify(c.Request().Context(), tok)
			if err != nil {
				return writeGuardError(c, log, err)
			}
			if cfg.Revocations != nil && cl.SessionID != "" && cfg.Revocations.Revoked(cl.SessionID) {
				return writeGuardError(c, log, domain.ErrTokenRevoked)
			}
			c.Set(claimsKey, cl)
			return next(c)
		}
	}
}

// GuardClaims returns the claims of the token Guard accepted for this
// request, or nil when the route is not guarded.
func GuardClaims(c echo.Context) *domain.Claims {
	cl, _ := c.Get(claimsKey).(*domain.Claims)
	return cl
}

// RequireScope refuses tokens that lack any of scopes with 403
// insufficient_scope and a WWW-Authenticate header naming them (RFC 6750
// section 3). It goes after Guard; without Guard it answers 401.
func RequireScope(scopes ...string) echo.MiddlewareFunc {
	need := strings.Join(scopes, " ")
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			cl := GuardClaims(c)
			if cl == nil {
				return writeGuardError(c, nil, domain.ErrTokenMissing)
			}
			for _, s := range scopes {
				if !slices.Contains(cl.Scope, s) {
					c.Response().Header().Set("WWW-Authenticate",
						`Bearer realm="gatehouse", error="insufficient_scope", scope="`+need+`"`)
					return writeGuardError(c, nil, errInsufficientScope)
				}
			}
			return next(c)
		}
	}
}

// writeGuardError answers like Gatehouse's handleError for the errors a
// guard meets, and returns nil so that the host's error handler does not
// write a second answer.
func writeGuardError(c echo.Context, log *slog.Logger, err error) error {
	p := classify(err)
	if errors.Is(err, errInsufficientScope) {
		p = problem{nethttp.StatusForbidden, "insufficient_scope", "The token lacks the required scope"}
	}
	h := c.Response().Header()
	switch {
	case p.code == "invalid_token":
		h.Set("WWW-Authenticate", `Bearer realm="gatehouse", error="invalid_token"`)
	case p.status == nethttp.StatusUnauthorized:
		h.Set("WWW-Authenticate", `Bearer realm="gatehouse"`)
	case p.status == nethttp.StatusServiceUnavailable:
		h.Set("Retry-After", "1")
	}
	if p.status >= 500 && log != nil {
		level := slog.LevelError
		if p.status == nethttp.StatusServiceUnavailable {
			level = slog.LevelWarn
		}
		log.Log(c.Request().Context(), level, "guard could not check a token",
			"request_id", h.Get(echo.HeaderXRequestID), "route", c.Path(), "err", err)
	}
	if c.Request().Method == nethttp.MethodHead {
		return c.NoContent(p.status)
	}
	return writeJSON(c, p.status, errorBody{Error: p.code, Message: p.message})
}
