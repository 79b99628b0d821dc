package http

import (
	"github.com/labstack/echo/v4"

	"github.com/gatehouse-auth/gatehouse/domain"
)

// routes registers every route of DESIGN.md's HTTP API.
func (s *Server) routes(e *echo.Echo) {
	auth := requireToken(s.d.Verify)

	// The tutorial's interface.
	e.POST("/get_token", s.getToken, noStore)
	e.GET("/protected_resource", s.protectedResource, auth)

	e.POST("/users", s.signUp)
	e.GET("/me", s.me, auth)
	e.POST("/me/password", s.changePassword, auth)
	e.POST("/logout", s.logout, auth)

	e.POST("/oauth/token", s.token, noStore)
	e.POST("/oauth/revoke", s.revoke, noStore)
	e.POST("/oauth/introspect", s.introspect, noStore)
	e.GET("/oauth/revocations", s.revocations, noStore)
	e.GET("/.well-known/jwks.json", s.jwks)
	e.GET("/.well-known/oauth-authorization-server", s.metadata)

	admin := e.Group("/admin", auth, requireRole(domain.RoleAdmin), noStore)
	admin.GET("/users", s.listUsers)
	admin.POST("/users", s.createUser)
	admin.PATCH("/users/:id", s.patchUser)
	admin.DELETE("/users/:id", s.deleteUser)
	admin.DELETE("/users/:id/sessions", s.revokeUserSessions)
	admin.POST("/clients", s.createClient)
	admin.GET("/clients", s.listClients)
	admin.DELETE("/clients/:id", s.deleteClient)
	admin.POST("/keys/rotate", s.rotateKey)

	e.GET("/healthz", s.healthz)
	e.GET("/readyz", s.readyz)
	if s.opts.Metrics != nil {
		e.GET("/metrics", echo.WrapHandler(s.opts.Metrics))
	}
	if len(s.opts.OpenAPI) > 0 {
		e.GET("/openapi.yaml", s.openAPI)
	}
}
