package rest

import (
	"github.com/labstack/echo/v4"

	"github.com/gatehouse-auth/gatehouse/domain"
	"github.com/gatehouse-auth/gatehouse/usecase"
)

// origin puts where the request came from (client address, User-Agent,
// request id) into its context, for the auth events the use cases record.
// It runs only on routes that can record events: the token check of
// /protected_resource and the public documents do without the allocation.
func origin(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		ctx := usecase.WithOrigin(r.Context(), usecase.Origin{
			IP:        c.RealIP(),
			UserAgent: r.UserAgent(), // the use case cuts it to 256 bytes
			RequestID: c.Response().Header().Get(headerRequestID),
		})
		c.SetRequest(r.WithContext(ctx))
		return next(c)
	}
}

// actAs records who acts in the request's context: the signed-in user on
// their own routes, the admin on admin routes.
func actAs(c echo.Context, a domain.Actor) {
	r := c.Request()
	c.SetRequest(r.WithContext(usecase.WithActor(r.Context(), a)))
}
