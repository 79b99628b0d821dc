package rest

import (
	"github.com/labstack/echo/v4"

	"github.com/gatehouse-auth/gatehouse/adapter/guard"
	"github.com/gatehouse-auth/gatehouse/domain"
)

// routes registers every route of DESIGN.md's HTTP API.
func (s *Server) routes(e *echo.Echo) {
	auth := requireToken(s.d.Verify)

	// The tutorial's interface.
	e.POST("/get_token", chain(s.getToken, origin, noStore))
	e.GET("/protected_resource", chain(s.protectedResource, auth))

	e.POST("/users", chain(s.signUp, origin))
	e.GET("/me", chain(s.me, auth))
	// Credentials, sessions and the security log: a user token from a
	// login, never an API key nor a token exchanged from one.
	e.POST("/me/password", chain(s.changePassword, origin, auth, userTokenOnly))
	e.POST("/logout", chain(s.logout, origin, auth, userTokenOnly))
	e.POST("/me/api-keys", chain(s.createAPIKey, origin, auth, userTokenOnly, noStore))
	e.GET("/me/api-keys", chain(s.listAPIKeys, auth, userTokenOnly))
	e.DELETE("/me/api-keys/:id", chain(s.deleteAPIKey, origin, auth, userTokenOnly))
	e.GET("/me/sessions", chain(s.listSessions, auth, userTokenOnly))
	e.DELETE("/me/sessions/:id", chain(s.endSession, origin, auth, userTokenOnly))
	e.GET("/me/events", chain(s.myEvents, auth, userTokenOnly))
	e.POST("/me/mfa/totp", chain(s.enrollTOTP, origin, auth, userTokenOnly, noStore))
	e.POST("/me/mfa/totp/confirm", chain(s.confirmTOTP, origin, auth, userTokenOnly, noStore))
	e.DELETE("/me/mfa/totp", chain(s.disableTOTP, origin, auth, userTokenOnly))
	e.POST("/me/mfa/recovery-codes", chain(s.newRecoveryCodes, origin, auth, userTokenOnly, noStore))

	// Every error of the OAuth endpoints takes RFC 6749's shape here.
	oauth := e.Group("/oauth", oauthErrors, noStore, origin)
	oauth.POST("/token", s.token)
	oauth.POST("/revoke", s.revoke)
	oauth.POST("/introspect", s.introspect)
	oauth.GET("/revocations", s.revocations)
	e.GET("/.well-known/jwks.json", s.jwks)
	e.GET("/.well-known/oauth-authorization-server", s.metadata)

	adminChain := []echo.MiddlewareFunc{origin, auth, userTokenOnly, requireRole(s.d.Account, domain.RoleAdmin), noStore}
	if s.opts.AdminRequireMFA {
		adminChain = append(adminChain, guard.RequireACR(domain.ACRAAL2))
	}
	admin := e.Group("/admin", adminChain...)
	admin.GET("/users", s.listUsers)
	admin.POST("/users", s.createUser)
	admin.PATCH("/users/:id", s.patchUser)
	admin.DELETE("/users/:id", s.deleteUser)
	admin.DELETE("/users/:id/sessions", s.revokeUserSessions)
	admin.GET("/users/:id/sessions", s.listUserSessions)
	admin.POST("/clients", s.createClient)
	admin.GET("/clients", s.listClients)
	admin.DELETE("/clients/:id", s.deleteClient)
	admin.POST("/keys/rotate", s.rotateKey)
	admin.GET("/users/:id/api-keys", s.listUserAPIKeys)
	admin.DELETE("/api-keys/:id", s.adminDeleteAPIKey)
	admin.DELETE("/users/:id/mfa", s.resetMFA)
	admin.GET("/events", s.listEvents)
	admin.POST("/webhooks", s.createWebhook)
	admin.GET("/webhooks", s.listWebhooks)
	admin.DELETE("/webhooks/:id", s.deleteWebhook)
	admin.GET("/webhooks/:id/deliveries", s.listDeliveries)

	e.GET("/healthz", s.healthz)
	e.GET("/readyz", s.readyz)
	if s.opts.Metrics != nil {
		e.GET("/metrics", echo.WrapHandler(s.opts.Metrics))
	}
	if len(s.opts.OpenAPI) > 0 {
		e.GET("/openapi.yaml", s.openAPI)
	}
}

// chain wraps h in mw once, at registration, outermost first. Echo applies
// middleware passed to e.GET and friends anew on every request, allocating
// each closure every time; on the token check that was a measurable share.
func chain(h echo.HandlerFunc, mw ...echo.MiddlewareFunc) echo.HandlerFunc {
	for i := len(mw) - 1; i >= 0; i-- {
		h = mw[i](h)
	}
	return h
}
