// Package http is Gatehouse's driving HTTP adapter: Echo handlers, request
// and response DTOs, the error-to-status table, echo-jwt wiring, and the
// reusable guard middleware for other Echo services.
package http

import (
	"context"
	"log/slog"
	"net"
	nethttp "net/http"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
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
	Feed       RevocationFeed
	JWKS       JWKSSource
	Store      Pinger
}

// Options shape the HTTP surface.
type Options struct {
	Issuer string // public base URL, for RFC 8414 metadata
	// TrustedProxies lists the networks whose X-Forwarded-For is believed;
	// empty means the client IP is the connection's peer address.
	TrustedProxies []*net.IPNet
	// Metrics serves GET /metrics when not nil.
	Metrics nethttp.Handler
	// AccessLog selects which requests get an access log line: "all"
	// (the default), "errors" (status >= 400) or "off".
	AccessLog string
	// Observe, when not nil, is told about every request (for metrics).
	Observe func(route string, status int, elapsed time.Duration)
	// OpenAPI is served at GET /openapi.yaml when not empty.
	OpenAPI []byte
	// JWKSMaxAge is the Cache-Control max-age of the JWKS document.
	JWKSMaxAge time.Duration
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
	e.Use(middleware.RequestID())
	e.Use(s.accessLog())
	e.Use(middleware.RecoverWithConfig(middleware.RecoverConfig{DisablePrintStack: true}))
	e.Use(securityHeaders)
	e.Use(middleware.BodyLimitWithConfig(middleware.BodyLimitConfig{Limit: maxBody}))
	s.routes(e)
	return e
}

// securityHeaders sets the headers every JSON API response should carry.
// The keys are already canonical and the values are shared, read-only
// slices, so this costs four map writes rather than four Header.Set calls
// (it runs on every request, including the hot token check).
func securityHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	nosniff := []string{"nosniff"}
	csp := []string{"default-src 'none'; frame-ancestors 'none'"}
	deny := []string{"DENY"}
	noReferrer := []string{"no-referrer"}
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

// accessLog logs one line per request: id, route, status, latency. It
// never logs headers, query strings or bodies, which may hold secrets.
func (s *Server) accessLog() echo.MiddlewareFunc {
	return middleware.RequestLoggerWithConfig(middleware.RequestLoggerConfig{
		LogStatus:    true,
		LogLatency:   true,
		LogMethod:    true,
		LogRoutePath: true,
		LogRequestID: true,
		LogRemoteIP:  true,
		LogError:     true,
		HandleError:  true,
		LogValuesFunc: func(c echo.Context, v middleware.RequestLoggerValues) error {
			if s.opts.Observe != nil {
				s.opts.Observe(v.RoutePath, v.Status, v.Latency)
			}
			if s.opts.AccessLog == "off" || (s.opts.AccessLog == "errors" && v.Status < 400) {
				return nil
			}
			level := slog.LevelInfo
			if v.Status >= 500 {
				level = slog.LevelError
			}
			s.log.LogAttrs(context.Background(), level, "request",
				slog.String("request_id", v.RequestID),
				slog.String("method", v.Method),
				slog.String("route", v.RoutePath),
				slog.Int("status", v.Status),
				slog.Duration("latency", v.Latency),
				slog.String("remote_ip", v.RemoteIP),
			)
			return nil
		},
	})
}
