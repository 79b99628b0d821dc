package rest

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/gatehouse-auth/gatehouse/adapter/internal/problem"
)

// healthz is liveness: the process serves requests.
func (s *Server) healthz(c echo.Context) error {
	return problem.JSON(c, http.StatusOK, map[string]string{"status": "ok"})
}

// readyz is readiness: the in-memory revoked set is fresh (DESIGN.md: a
// replica whose set has not been refreshed for the maximum staleness
// answers 503, so that a load balancer drains it) and the store answers
// within two seconds. Staleness is not logged here on every probe:
// domain.Freshness logs it once when it starts.
func (s *Server) readyz(c echo.Context) error {
	if s.d.Revoked == nil || s.d.Revoked.Err() != nil {
		return problem.Write(c, nil, problem.ErrStale)
	}
	ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
	defer cancel()
	if err := s.d.Store.Ping(ctx); err != nil {
		s.log.WarnContext(ctx, "readiness check failed", "err", err)
		return problem.Write(c, nil, problem.ErrStoreDown)
	}
	return problem.JSON(c, http.StatusOK, map[string]string{"status": "ready"})
}

// jwks is GET /.well-known/jwks.json.
func (s *Server) jwks(c echo.Context) error {
	doc, err := s.d.JWKS.JWKS()
	if err != nil {
		return fmt.Errorf("render jwks: %w", err)
	}
	maxAge := s.opts.JWKSMaxAge
	if maxAge <= 0 {
		maxAge = 5 * time.Minute
	}
	c.Response().Header().Set("Cache-Control", fmt.Sprintf("public, max-age=%d", int(maxAge.Seconds())))
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, doc)
}

// serverMetadata is RFC 8414's document. Only registered names appear in
// the *_auth_methods_supported lists (IANA "OAuth Token Endpoint
// Authentication Methods"): the token endpoint takes "none" too (the
// password, refresh and MFA grants are public-client grants), while
// introspection also accepts an admin's Bearer token, which has no
// registered name and is documented instead. scopes_supported is always
// there: the scopes users may request (GATEHOUSE_USER_SCOPES), an empty
// list when there are none; client scopes are set per client by an admin
// and are not advertised.
type serverMetadata struct {
	Issuer                           string   `json:"issuer"`
	TokenEndpoint                    string   `json:"token_endpoint"`
	JWKSURI                          string   `json:"jwks_uri"`
	RevocationEndpoint               string   `json:"revocation_endpoint"`
	IntrospectionEndpoint            string   `json:"introspection_endpoint"`
	GrantTypes                       []string `json:"grant_types_supported"`
	TokenEndpointAuthMethods         []string `json:"token_endpoint_auth_methods_supported"`
	RevocationEndpointAuthMethods    []string `json:"revocation_endpoint_auth_methods_supported"`
	IntrospectionEndpointAuthMethods []string `json:"introspection_endpoint_auth_methods_supported"`
	Scopes                           []string `json:"scopes_supported"`
}

// metadata is RFC 8414's GET /.well-known/oauth-authorization-server.
func (s *Server) metadata(c echo.Context) error {
	iss := strings.TrimRight(s.opts.Issuer, "/")
	clientAuth := []string{"client_secret_basic", "client_secret_post"}
	return problem.JSON(c, http.StatusOK, serverMetadata{
		Issuer:                           iss,
		TokenEndpoint:                    iss + "/oauth/token",
		JWKSURI:                          iss + "/.well-known/jwks.json",
		RevocationEndpoint:               iss + "/oauth/revoke",
		IntrospectionEndpoint:            iss + "/oauth/introspect",
		GrantTypes:                       []string{"password", "refresh_token", "client_credentials", grantTokenExchange, grantMFAOTP},
		TokenEndpointAuthMethods:         []string{"client_secret_basic", "client_secret_post", "none"},
		RevocationEndpointAuthMethods:    []string{"none"},
		IntrospectionEndpointAuthMethods: clientAuth,
		Scopes:                           append([]string{}, s.opts.Scopes...), // [] rather than null
	})
}

// openAPI serves the OpenAPI description.
func (s *Server) openAPI(c echo.Context) error {
	return c.Blob(http.StatusOK, "application/yaml", s.opts.OpenAPI)
}
