package rest

import (
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/gatehouse-auth/gatehouse/adapter/internal/problem"
	"github.com/gatehouse-auth/gatehouse/domain"
	"github.com/gatehouse-auth/gatehouse/usecase"
)

// eventsBody is a page of auth events. Each event marshals itself in its
// public shape (domain.Event.MarshalJSON).
type eventsBody struct {
	Events     []domain.Event `json:"events"`
	NextCursor string         `json:"next_cursor"`
}

func newEventsBody(p *usecase.EventPage) eventsBody {
	b := eventsBody{Events: p.Events, NextCursor: p.NextCursor}
	if b.Events == nil {
		b.Events = []domain.Event{}
	}
	return b
}

// myEvents is GET /me/events?cursor=&limit=: the caller's own security log.
func (s *Server) myEvents(c echo.Context) error {
	cl, err := claimsOf(c)
	if err != nil {
		return err
	}
	limit := usecase.RequestedLimit(c.QueryParam("limit"))
	page, err := s.d.Events.Mine(c.Request().Context(), cl, c.QueryParam("cursor"), limit)
	if err != nil {
		return err
	}
	return problem.JSON(c, http.StatusOK, newEventsBody(page))
}

// listEvents is GET /admin/events?type=&user_id=&since=&until=&cursor=&limit=.
// type may be repeated or comma-separated; since and until are RFC 3339
// times.
func (s *Server) listEvents(c echo.Context) error {
	in := usecase.EventListInput{
		UserID: c.QueryParam("user_id"), Cursor: c.QueryParam("cursor"),
		Limit: usecase.RequestedLimit(c.QueryParam("limit")),
	}
	for _, v := range c.QueryParams()["type"] {
		for t := range strings.SplitSeq(v, ",") {
			if t = strings.TrimSpace(t); t != "" {
				in.Types = append(in.Types, t)
			}
		}
	}
	var err error
	if in.Since, err = queryTime(c, "since"); err != nil {
		return err
	}
	if in.Until, err = queryTime(c, "until"); err != nil {
		return err
	}
	page, err := s.d.Events.List(c.Request().Context(), in)
	if err != nil {
		return err
	}
	return problem.JSON(c, http.StatusOK, newEventsBody(page))
}

// queryTime reads an RFC 3339 time from the query parameter name: zero
// when absent, 400 when malformed.
func queryTime(c echo.Context, name string) (time.Time, error) {
	v := c.QueryParam(name)
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, badRequest(name + " must be an RFC 3339 time such as 2026-12-01T00:00:00Z")
	}
	return t, nil
}
