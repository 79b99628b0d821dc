// Package rest is Gatehouse's driving HTTP adapter: Echo handlers, request
// and response DTOs, routes and echo-jwt wiring. Errors are answered by
// adapter/internal/problem, the one table it shares with the guard that
// other Echo services import (adapter/guard); tokens are read and claims
// kept in the context the way the guard does it.
package rest

import (
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"go.opentelemetry.io/otel/trace"
)

// maxBody is the request body limit (DESIGN.md: 413 above 64 KiB).
const maxBody = "64K"

// Deps are the use cases the handlers call.
type Deps struct {
	Verify     Verifier
	Register   Registrar
	Login      LoginService
	Refresh    RefreshService
	Clients    ClientService
	Revoke     RevokeService
	Introspect IntrospectService
	Account    AccountService
	Users      UserAdmin
	Keys       KeyService
	APIKeys    APIKeyService
	Devices    DeviceService
	Events     EventService
	MFA        MFAService
	Webhooks   WebhookService
	Feed       RevocationFeed
	Revoked    RevocationHealth
	JWKS       JWKSSource
	Store      Pinger
}

// Options shape the HTTP surface.
type Options struct {
	Issuer string // public base URL, for RFC 8414 metadata
	// Scopes are the scopes users may request (GATEHOUSE_USER_SCOPES),
	// advertised as RFC 8414 scopes_supported.
	Scopes []string
	// TrustedProxies lists the networks whose X-Forwarded-For is believed;
	// empty means the client IP is the connection's peer address.
	TrustedProxies []*net.IPNet
	// Metrics serves GET /metrics when not nil.
	Metrics http.Handler
	// AccessLog selects which requests get an access log line: "all"
	// (the default), "errors" (status >= 400) or "off".
	AccessLog string
	// Observe, when not nil, is told about every request (for metrics).
	Observe func(route string, status int, elapsed time.Duration)
	// OpenAPI is served at GET /openapi.yaml when not empty.
	OpenAPI []byte
	// JWKSMaxAge is the Cache-Control max-age of the JWKS document.
	JWKSMaxAge time.Duration
	// AdminRequireMFA makes the admin routes require acr aal2
	// (GATEHOUSE_ADMIN_REQUIRE_MFA).
	AdminRequireMFA bool
	// Tracing, when not nil, opens a span per request (tracing.go) and
	// puts trace_id and span_id on the access log line. Nil is off: no
	// tracing code runs on a request.
	Tracing trace.TracerProvider
}

// Server holds the handlers' dependencies.
type Server struct {
	d    Deps
	opts Options
	log  *slog.Logger
}

// New builds the Echo application with every route and middleware.
func New(d Deps, opts Options, log *slog.Logger) *echo.Echo {
	s := &Server{d: d, opts: opts, log: log}
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.HTTPErrorHandler = s.handleError
	e.IPExtractor = echo.ExtractIPDirect()
	if len(opts.TrustedProxies) > 0 {
		trust := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
		for _, n := range opts.TrustedProxies {
			trust = append(trust, echo.TrustIPRange(n))
		}
		e.IPExtractor = echo.ExtractIPFromXFFHeader(trust...)
	}
	e.Use(newRequestIDs().middleware)
	if opts.Tracing != nil {
		e.Use(tracing(opts.Tracing))
	}
	e.Use(s.accessLog)
	e.Use(middleware.RecoverWithConfig(middleware.RecoverConfig{DisablePrintStack: true}))
	e.Use(securityHeaders)
	e.Use(middleware.BodyLimitWithConfig(middleware.BodyLimitConfig{Limit: maxBody}))
	s.routes(e)
	return e
}

// The security headers' values, shared and never modified.
var (
	nosniff    = []string{"nosniff"}
	csp        = []string{"default-src 'none'; frame-ancestors 'none'"}
	deny       = []string{"DENY"}
	noReferrer = []string{"no-referrer"}
)

// securityHeaders sets the headers every JSON API response should carry.
// The keys are already canonical and the values are shared, read-only
// slices, so this costs four map writes rather than four Header.Set calls
// (it runs on every request, including the hot token check). Echo calls
// every global middleware function anew per request, so this one keeps
// nothing of its own to allocate.
func securityHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h["X-Content-Type-Options"] = nosniff
		h["Content-Security-Policy"] = csp
		h["X-Frame-Options"] = deny
		h["Referrer-Policy"] = noReferrer
		return next(c)
	}
}

// noStore marks token-bearing responses uncacheable (RFC 6749 5.1).
func noStore(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		c.Response().Header().Set("Cache-Control", "no-store")
		c.Response().Header().Set("Pragma", "no-cache")
		return next(c)
	}
}

// accessLog reports every request to Options.Observe and logs one line
// per request: id, method, route, status, latency, client address, and with
// tracing on the trace and span ids. It never
// logs headers, query strings or bodies, which may hold secrets.
//
// The record goes straight to the logger's handler without a caller PC:
// slog.Logger would walk the stack for one on every request, and an access
// line's caller is always this function.
func (s *Server) accessLog(next echo.HandlerFunc) echo.HandlerFunc {
	h := s.log.Handler()
	return func(c echo.Context) error {
		start := time.Now()
		if err := next(c); err != nil {
			c.Error(err)
		}
		end := time.Now()
		status, route := c.Response().Status, c.Path()
		if s.opts.Observe != nil {
			s.opts.Observe(route, status, end.Sub(start))
		}
		if s.opts.AccessLog == "off" || (s.opts.AccessLog == "errors" && status < 400) {
			return nil
		}
		level := slog.LevelInfo
		if status >= 500 {
			level = slog.LevelError
		}
		ctx := c.Request().Context()
		if !h.Enabled(ctx, level) {
			return nil
		}
		r := slog.NewRecord(end, level, "request", 0)
		r.AddAttrs(
			slog.String("request_id", c.Response().Header().Get(headerRequestID)),
			slog.String("method", c.Request().Method),
			slog.String("route", route),
			slog.Int("status", status),
			slog.Duration("latency", end.Sub(start)),
			slog.String("remote_ip", c.RealIP()),
		)
		if s.opts.Tracing != nil {
			if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
				r.AddAttrs(slog.String("trace_id", sc.TraceID().String()), slog.String("span_id", sc.SpanID().String()))
			}
		}
		_ = h.Handle(ctx, r) // a failing log sink has nowhere to report to
		return nil
	}
}
