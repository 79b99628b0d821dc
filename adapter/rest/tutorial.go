package rest

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/gatehouse-auth/gatehouse/adapter/internal/problem"

	"github.com/gatehouse-auth/gatehouse/usecase"
)

// tokenResponse is the body of /get_token and /oauth/token. Token repeats
// AccessToken under the tutorial's name.
type tokenResponse struct {
	Token        string `json:"token,omitempty"`
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token,omitempty"`
	Scope        string `json:"scope,omitempty"`
	// IssuedTokenType is RFC 8693's, for the token exchange only.
	IssuedTokenType string `json:"issued_token_type,omitempty"`
}

func newTokenResponse(p *usecase.TokenPair) tokenResponse {
	return tokenResponse{
		AccessToken:  p.AccessToken,
		TokenType:    "Bearer",
		ExpiresIn:    int64(p.ExpiresIn.Seconds()),
		RefreshToken: p.RefreshToken,
		Scope:        joinScope(p.Scope),
	}
}

// getToken is the tutorial's POST /get_token: username and password in, a
// token out.
func (s *Server) getToken(c echo.Context) error {
	in, err := decodeCredentials(c)
	if err != nil {
		return err
	}
	pair, err := s.d.Login.Login(c.Request().Context(), usecase.LoginInput{
		Username:  in.Username,
		Password:  in.Password,
		IP:        c.RealIP(),
		UserAgent: c.Request().UserAgent(),
		Grant:     usecase.LoginGrantGetToken,
		OTP:       in.OTP,
	})
	if err != nil {
		return err
	}
	resp := newTokenResponse(pair)
	resp.Token = pair.AccessToken
	return problem.JSON(c, http.StatusOK, resp)
}

// protectedBody is the tutorial's protected resource, plus who asked.
type protectedBody struct {
	Message string `json:"message"`
	User    string `json:"user"`
}

// protectedResource is the tutorial's GET /protected_resource.
func (s *Server) protectedResource(c echo.Context) error {
	cl, err := claimsOf(c)
	if err != nil {
		return err
	}
	user := cl.Username
	if user == "" {
		user = cl.ClientID
	}
	return problem.JSON(c, http.StatusOK, protectedBody{Message: "This is a protected resource", User: user})
}
