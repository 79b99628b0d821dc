package rest

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/gatehouse-auth/gatehouse/adapter/internal/problem"
	"github.com/gatehouse-auth/gatehouse/usecase"
)

// sessionBody is the public view of a session: one device of its user.
type sessionBody struct {
	ID         string    `json:"id"`
	CreatedAt  time.Time `json:"created_at"`
	LastUsedAt time.Time `json:"last_used_at"`
	IP         string    `json:"ip"`
	UserAgent  string    `json:"user_agent"`
	Current    bool      `json:"current"`
}

type sessionsBody struct {
	Sessions []sessionBody `json:"sessions"`
}

func newSessionsBody(devices []usecase.Device) sessionsBody {
	b := sessionsBody{Sessions: make([]sessionBody, 0, len(devices))}
	for _, d := range devices {
		last := d.LastUsedAt
		if last.IsZero() {
			last = d.CreatedAt
		}
		b.Sessions = append(b.Sessions, sessionBody{
			ID:         d.ID,
			CreatedAt:  d.CreatedAt.UTC(),
			LastUsedAt: last.UTC(),
			IP:         d.IP,
			UserAgent:  d.UserAgent,
			Current:    d.Current,
		})
	}
	return b
}

// listSessions is GET /me/sessions.
func (s *Server) listSessions(c echo.Context) error {
	cl, err := claimsOf(c)
	if err != nil {
		return err
	}
	devices, err := s.d.Devices.Mine(c.Request().Context(), cl)
	if err != nil {
		return err
	}
	return problem.JSON(c, http.StatusOK, newSessionsBody(devices))
}

// endSession is DELETE /me/sessions/:id.
func (s *Server) endSession(c echo.Context) error {
	cl, err := claimsOf(c)
	if err != nil {
		return err
	}
	if err := s.d.Devices.End(c.Request().Context(), cl, c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// listUserSessions is GET /admin/users/:id/sessions.
func (s *Server) listUserSessions(c echo.Context) error {
	devices, err := s.d.Devices.Of(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return problem.JSON(c, http.StatusOK, newSessionsBody(devices))
}
