// Package guard lets other Echo services (resource servers) accept
// Gatehouse access tokens without calling Gatehouse on each request. New
// returns the middleware: it reads the token, checks it with a Verifier
// (token.RemoteVerifier on Gatehouse's JWKS, see adapter/token), refuses
// sessions a Poller of Gatehouse's revocation feed reports revoked, and
// stores the claims for Claims and RequireScope. Refusals are answered
// exactly as Gatehouse answers them.
//
// The package depends on Echo, Gatehouse's domain types, the
// OpenTelemetry HTTP client instrumentation and the Prometheus client (a
// Poller is a prometheus.Collector) only: no use case, store, database or
// OTP library comes with it. docs/guard.md has the whole story.
package guard

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/gatehouse-auth/gatehouse/adapter/internal/problem"
	"github.com/gatehouse-auth/gatehouse/domain"
)

// ContextKey is where the middleware stores the accepted token's claims
// in the Echo context (Gatehouse's own routes use it too).
const ContextKey = "gatehouse.claims"

// logKey is where New leaves its logger in the Echo context, for
// RequireScope and RequireACR to log their refusals as it logs its own.
const logKey = "gatehouse.guard.log"

// HeaderAPIKey is the header an API key may be presented in (it may also
// come as "Authorization: Bearer <key>" or a bare "Authorization: <key>").
const HeaderAPIKey = "X-API-Key"

// Verifier checks an access token's signature and claims: in a resource
// server a *token.RemoteVerifier, in Gatehouse its own verifier.
type Verifier interface {
	Verify(ctx context.Context, token string) (*domain.Claims, error)
}

// KeyVerifier checks API keys: IsKey says whether a token has a key's
// shape, Verify returns its claims. A *KeyIntrospector is one.
type KeyVerifier interface {
	IsKey(token string) bool
	Verify(ctx context.Context, key string) (*domain.Claims, error)
}

// RevocationChecker reports whether a session was revoked. A *Poller is
// one.
type RevocationChecker interface {
	Revoked(sessionID string) bool
}

// Config configures New.
type Config struct {
	// Verifier checks the token. Required; without it every request is
	// refused with 500.
	Verifier Verifier
	// Revocations, when set, refuses tokens whose session (sid) it reports
	// revoked. Client tokens have no session and are not affected.
	Revocations RevocationChecker
	// Keys, when set, accepts Gatehouse API keys (Authorization: Bearer,
	// bare Authorization, or X-API-Key) by introspecting each one once
	// and caching the answer briefly (a *KeyIntrospector). Without it a
	// key is refused as an invalid token.
	Keys KeyVerifier
	// Log (nil: discarded) receives the cause of 5xx answers and, at debug
	// level, why a token was refused (expired, unknown kid, wrong
	// algorithm, revoked...), by New and by the RequireScope and
	// RequireACR after it. Tokens are never logged.
	Log *slog.Logger
}

// New returns the middleware other Echo services put in front of their
// routes. It reads "Authorization: Bearer <t>" or the tutorial's bare
// "Authorization: <t>" (and, with Config.Keys, "X-API-Key: <key>"),
// verifies the token or key, refuses revoked sessions, and
// stores the claims for Claims and RequireScope. It writes refusals itself,
// with Gatehouse's status, body and WWW-Authenticate header ("Token is
// missing", "Token has expired", "Token has been revoked", "Invalid
// token"), whatever the host application's HTTPErrorHandler is.
func New(cfg Config) echo.MiddlewareFunc {
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if cfg.Verifier == nil {
				return refuse(c, log, errors.New("guard: no verifier configured"))
			}
			tok := BearerToken(c.Request().Header.Get(echo.HeaderAuthorization))
			if tok == "" && cfg.Keys != nil {
				tok = strings.TrimSpace(c.Request().Header.Get(HeaderAPIKey))
			}
			if tok == "" {
				return refuse(c, log, domain.ErrTokenMissing)
			}
			verify := cfg.Verifier.Verify
			if cfg.Keys != nil && cfg.Keys.IsKey(tok) {
				verify = cfg.Keys.Verify
			}
			cl, err := verify(c.Request().Context(), tok)
			if err != nil {
				return refuse(c, log, err)
			}
			if cfg.Revocations != nil && cl.SessionID != "" && cfg.Revocations.Revoked(cl.SessionID) {
				return refuse(c, log, domain.ErrTokenRevoked)
			}
			c.Set(ContextKey, cl)
			c.Set(logKey, log)
			return next(c)
		}
	}
}

// Claims returns the claims of the token the middleware accepted for this
// request, or nil when the route is not guarded.
func Claims(c echo.Context) *domain.Claims {
	cl, _ := c.Get(ContextKey).(*domain.Claims)
	return cl
}

// RequireScope refuses tokens that lack any of scopes with 403
// insufficient_scope and a WWW-Authenticate header naming them (RFC 6750
// section 3.1). It goes after New's middleware, whose logger gets the
// refusal at debug; without it, it answers 401.
func RequireScope(scopes ...string) echo.MiddlewareFunc {
	need := &problem.ScopeError{Scope: strings.Join(scopes, " ")}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			cl := Claims(c)
			if cl == nil {
				return refuse(c, logOf(c), domain.ErrTokenMissing)
			}
			for _, s := range scopes {
				if !cl.HasScope(s) {
					return refuse(c, logOf(c), fmt.Errorf("token scope %q lacks %s: %w", strings.Join(cl.Scope, " "), s, need))
				}
			}
			return next(c)
		}
	}
}

// RequireACR refuses tokens whose acr is below acr (RFC 9470 step-up): 401
// insufficient_user_authentication with WWW-Authenticate naming
// acr_values, so the client can send the user through a login with a
// second factor and retry. With acr "aal2", a token from a login with TOTP
// passes; password-only tokens, client tokens and API keys do not. It goes
// after New's middleware, whose logger gets the refusal at debug; without
// it, it answers 401.
func RequireACR(acr string) echo.MiddlewareFunc {
	need := &problem.ACRError{ACR: acr}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			cl := Claims(c)
			if cl == nil {
				return refuse(c, logOf(c), domain.ErrTokenMissing)
			}
			if !acrMeets(cl.ACR, acr) {
				return refuse(c, logOf(c), fmt.Errorf("token acr %q is below %s: %w", cl.ACR, acr, need))
			}
			return next(c)
		}
	}
}

// logOf returns the logger New left on c: nil (discarded) when the
// claims came from elsewhere (Gatehouse's own routes log through their
// access log).
func logOf(c echo.Context) *slog.Logger {
	log, _ := c.Get(logKey).(*slog.Logger)
	return log
}

// acrRank orders the assurance levels Gatehouse issues.
var acrRank = map[string]int{domain.ACRAAL1: 1, domain.ACRAAL2: 2}

// acrMeets reports whether a token's acr satisfies the required one: a
// higher level of ours does; any other value only itself.
func acrMeets(have, need string) bool {
	h, okH := acrRank[have]
	n, okN := acrRank[need]
	if okH && okN {
		return h >= n
	}
	return have != "" && have == need
}

// BearerToken returns the token of an Authorization header value, with or
// without the Bearer scheme (case-insensitive), or "" when there is none.
func BearerToken(h string) string {
	h = strings.TrimSpace(h)
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		h = strings.TrimSpace(h[7:])
	} else if strings.EqualFold(h, "bearer") {
		return ""
	}
	return h
}

// refuse logs why a request was refused (at debug; a 5xx's cause is logged
// by problem.Write) and answers through Gatehouse's error table. It returns
// nil once the answer is written, so that the host's error handler does not
// write a second one.
func refuse(c echo.Context, log *slog.Logger, err error) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx := c.Request().Context()
	if p := problem.Classify(err); p.Status < 500 && log.Enabled(ctx, slog.LevelDebug) {
		log.DebugContext(ctx, "guard refused a request", "reason", err.Error(), "status", p.Status,
			"route", c.Path(), "request_id", c.Response().Header().Get(echo.HeaderXRequestID))
	}
	return problem.Write(c, log, err)
}
