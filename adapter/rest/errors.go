package rest

import (
	"github.com/labstack/echo/v4"

	"github.com/gatehouse-auth/gatehouse/adapter/internal/problem"
)

// badRequest is a client mistake in the request itself: 400 invalid_request.
func badRequest(msg string) error { return problem.BadRequest(msg) }

// handleError is Echo's HTTPErrorHandler: every error a handler or
// middleware returns is answered by problem.Write, the one error table and
// writer (shared with adapter/guard), which logs the cause of server-side
// failures with the request id.
func (s *Server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	if werr := problem.Write(c, s.log, err); werr != nil {
		s.log.DebugContext(c.Request().Context(), "write error response", "err", werr)
	}
}

// oauthErrors gives the OAuth route group RFC 6749's error shape
// (section 5.2): every error its handlers return is answered with the OAuth
// codes and an error_description.
func oauthErrors(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		return problem.OAuth(next(c))
	}
}
