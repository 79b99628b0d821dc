package rest

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/gatehouse-auth/gatehouse/adapter/guard"
	"github.com/gatehouse-auth/gatehouse/adapter/internal/problem"
	"github.com/gatehouse-auth/gatehouse/domain"
	"github.com/gatehouse-auth/gatehouse/usecase"
)

// oauthParams reads the token-endpoint parameters from a form or JSON.
type oauthParams map[string]string

// oauthFields are the parameters the OAuth endpoints read.
var oauthFields = []string{"grant_type", "username", "password", "scope", "refresh_token",
	"client_id", "client_secret", "token", "token_type_hint", "subject_token", "subject_token_type",
	"mfa_token", "otp", "recovery_code"}

// RFC 8693 token exchange of an API key.
const (
	grantTokenExchange   = "urn:ietf:params:oauth:grant-type:token-exchange"
	tokenTypeAPIKey      = "urn:gatehouse:token-type:api-key"
	tokenTypeAccessToken = "urn:ietf:params:oauth:token-type:access_token"
	// grantMFAOTP completes a login answered mfa_required with a code.
	grantMFAOTP = "urn:gatehouse:params:oauth:grant-type:mfa-otp"
)

func readOAuthParams(c echo.Context) (oauthParams, error) {
	p := oauthParams{}
	if isForm(c) {
		for _, f := range oauthFields {
			v, err := formValue(c, f)
			if err != nil {
				return nil, err
			}
			if v != "" {
				p[f] = v
			}
		}
		return p, nil
	}
	var raw map[string]any
	if err := decodeJSON(c, &raw); err != nil {
		return nil, err
	}
	for _, f := range oauthFields {
		switch v := raw[f].(type) {
		case nil:
		case string:
			p[f] = v
		default:
			return nil, badRequest("parameter " + f + " must be a string")
		}
	}
	return p, nil
}

// clientCredentials returns the client id and secret from HTTP Basic or,
// failing that, from the body (RFC 6749 2.3.1).
func clientCredentials(c echo.Context, p oauthParams) (id, secret string, basic bool) {
	if id, secret, ok := c.Request().BasicAuth(); ok {
		// RFC 6749 2.3.1: both parts are form-URL-encoded before Basic.
		return formDecode(id), formDecode(secret), true
	}
	return p["client_id"], p["client_secret"], false
}

// token is POST /oauth/token.
func (s *Server) token(c echo.Context) error {
	p, err := readOAuthParams(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	var pair *usecase.TokenPair
	switch p["grant_type"] {
	case "password":
		if p["username"] == "" || p["password"] == "" {
			return badRequest("username and password are required")
		}
		pair, err = s.d.Login.Login(ctx, usecase.LoginInput{
			Username:  p["username"],
			Password:  p["password"],
			Scope:     domain.ParseScope(p["scope"]),
			IP:        c.RealIP(),
			UserAgent: c.Request().UserAgent(),
		})
	case grantMFAOTP:
		if p["mfa_token"] == "" {
			return badRequest("mfa_token is required")
		}
		pair, err = s.d.Login.CompleteMFA(ctx, usecase.MFALoginInput{
			Token:        p["mfa_token"],
			OTP:          p["otp"],
			RecoveryCode: p["recovery_code"],
			IP:           c.RealIP(),
			UserAgent:    c.Request().UserAgent(),
		})
	case "refresh_token":
		if p["refresh_token"] == "" {
			return badRequest("refresh_token is required")
		}
		pair, err = s.d.Refresh.Refresh(ctx, p["refresh_token"])
	case "client_credentials":
		id, secret, _ := clientCredentials(c, p)
		pair, err = s.d.Clients.Grant(ctx, id, secret, domain.ParseScope(p["scope"]))
	case grantTokenExchange:
		switch {
		case p["subject_token"] == "":
			return badRequest("subject_token is required")
		case p["subject_token_type"] != tokenTypeAPIKey:
			return badRequest("subject_token_type must be " + tokenTypeAPIKey)
		}
		pair, err = s.d.APIKeys.Exchange(ctx, p["subject_token"], domain.ParseScope(p["scope"]))
		if err != nil {
			return err
		}
		resp := newTokenResponse(pair)
		resp.IssuedTokenType = tokenTypeAccessToken
		return problem.JSON(c, http.StatusOK, resp)
	case "":
		return badRequest("grant_type is required")
	default:
		return &problem.RequestError{Code: problem.UnsupportedGrantType, Message: "grant_type must be password, refresh_token, client_credentials, " + grantTokenExchange + " or " + grantMFAOTP}
	}
	if err != nil {
		return err
	}
	return problem.JSON(c, http.StatusOK, newTokenResponse(pair))
}

// revoke is POST /oauth/revoke (RFC 7009): always 200 for a well-formed
// request, whether or not the token was known.
func (s *Server) revoke(c echo.Context) error {
	p, err := readOAuthParams(c)
	if err != nil {
		return err
	}
	if p["token"] == "" {
		return badRequest("token is required")
	}
	if err := s.d.Revoke.Token(c.Request().Context(), p["token"], p["token_type_hint"]); err != nil {
		return err
	}
	return c.NoContent(http.StatusOK)
}

// introspectBody is RFC 7662's answer.
type introspectBody struct {
	Active    bool   `json:"active"`
	Sub       string `json:"sub,omitempty"`
	Username  string `json:"username,omitempty"`
	Scope     string `json:"scope,omitempty"`
	Exp       int64  `json:"exp,omitempty"`
	Iat       int64  `json:"iat,omitempty"`
	JTI       string `json:"jti,omitempty"`
	ClientID  string `json:"client_id,omitempty"`
	TokenType string `json:"token_type,omitempty"`
	SessionID string `json:"sid,omitempty"`
}

// introspect is POST /oauth/introspect, for clients (Basic or form
// credentials) and admins (Bearer token).
func (s *Server) introspect(c echo.Context) error {
	p, err := readOAuthParams(c)
	if err != nil {
		return err
	}
	in, err := s.d.Introspect.Introspect(c.Request().Context(), resourceServer(c, p), p["token"])
	if err != nil {
		return err
	}
	if !in.Active {
		return problem.JSON(c, http.StatusOK, introspectBody{})
	}
	cl := in.Claims
	return problem.JSON(c, http.StatusOK, introspectBody{
		Active:    true,
		Sub:       cl.Subject,
		Username:  cl.Username,
		Scope:     joinScope(cl.Scope),
		Exp:       cl.ExpiresAt.Unix(),
		Iat:       unixOrZero(cl.IssuedAt),
		JTI:       cl.ID,
		ClientID:  cl.ClientID,
		TokenType: in.TokenType,
		SessionID: cl.SessionID,
	})
}

// resourceServer reads who asks a resource server's question: an admin's
// Bearer token or a machine client's credentials (usecase.Introspect
// decides whether they may).
func resourceServer(c echo.Context, p oauthParams) usecase.Caller {
	if h := c.Request().Header.Get(echo.HeaderAuthorization); len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return usecase.Caller{Bearer: guard.BearerToken(h)}
	}
	id, secret, _ := clientCredentials(c, p)
	return usecase.Caller{ClientID: id, ClientSecret: secret}
}

// revocationsBody is the revocation feed page.
type revocationsBody struct {
	Revocations []revocationEntry `json:"revocations"`
	NextCursor  string            `json:"next_cursor"`
}

type revocationEntry struct {
	SessionID string    `json:"sid"`
	Subject   string    `json:"sub"`
	RevokedAt time.Time `json:"revoked_at"`
	ExpiresAt time.Time `json:"expires_at"`
}

// revocations is GET /oauth/revocations?since=CURSOR for machine clients.
func (s *Server) revocations(c echo.Context) error {
	if err := s.d.Introspect.Admit(c.Request().Context(), resourceServer(c, oauthParams{})); err != nil {
		return err
	}
	var after int64
	if v := c.QueryParam("since"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return badRequest("since must be a cursor returned by this endpoint")
		}
		after = n
	}
	limit := usecase.RequestedLimit(c.QueryParam("limit"))
	entries, err := s.d.Feed.Feed(c.Request().Context(), after, limit)
	if err != nil {
		return err
	}
	body := revocationsBody{Revocations: make([]revocationEntry, 0, len(entries)), NextCursor: strconv.FormatInt(after, 10)}
	for _, e := range entries {
		body.Revocations = append(body.Revocations, revocationEntry{
			SessionID: e.SessionID, Subject: e.UserID, RevokedAt: e.At.UTC(), ExpiresAt: e.Expires.UTC(),
		})
		body.NextCursor = strconv.FormatInt(e.Seq, 10)
	}
	return problem.JSON(c, http.StatusOK, body)
}

// formDecode undoes application/x-www-form-urlencoded escaping, keeping the
// raw value if it is not validly escaped.
func formDecode(v string) string {
	if d, err := url.QueryUnescape(v); err == nil {
		return d
	}
	return v
}

func joinScope(s []string) string { return strings.Join(s, " ") }

// unixOrZero is t in Unix seconds, 0 (omitted) for the zero time.
func unixOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}
