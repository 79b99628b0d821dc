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

// userBody is the public view of a user.
type userBody struct {
	ID        string    `json:"id"`
	Username  string    `json:"username"`
	Roles     []string  `json:"roles"`
	Disabled  *bool     `json:"disabled,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	// MFA is whether the user has a second factor on.
	MFA bool `json:"mfa"`
}

func newUserBody(u *domain.User, admin bool) userBody {
	b := userBody{ID: u.ID, Username: u.Username, Roles: u.Roles, CreatedAt: u.CreatedAt.UTC(), MFA: u.MFAEnabled}
	if b.Roles == nil {
		b.Roles = []string{}
	}
	if admin {
		disabled := u.Disabled
		b.Disabled = &disabled
	}
	return b
}

// signUp is POST /users.
func (s *Server) signUp(c echo.Context) error {
	in, err := decodeCredentials(c)
	if err != nil {
		return err
	}
	u, err := s.d.Register.SignUp(c.Request().Context(), in.Username, in.Password, c.RealIP())
	if err != nil {
		return err
	}
	return problem.JSON(c, http.StatusCreated, signUpBody{ID: u.ID, Username: u.Username, CreatedAt: u.CreatedAt.UTC()})
}

// signUpBody is POST /users' answer.
type signUpBody struct {
	ID        string    `json:"id"`
	Username  string    `json:"username"`
	CreatedAt time.Time `json:"created_at"`
}

// me is GET /me.
func (s *Server) me(c echo.Context) error {
	cl, err := claimsOf(c)
	if err != nil {
		return err
	}
	u, err := s.d.Account.Me(c.Request().Context(), cl)
	if err != nil {
		return err
	}
	return problem.JSON(c, http.StatusOK, newUserBody(u, false))
}

// changePassword is POST /me/password.
func (s *Server) changePassword(c echo.Context) error {
	var in struct {
		Current string `json:"current_password"`
		New     string `json:"new_password"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	if in.Current == "" || in.New == "" {
		return badRequest("current_password and new_password are required")
	}
	cl, err := claimsOf(c)
	if err != nil {
		return err
	}
	if err := s.d.Account.ChangePassword(c.Request().Context(), cl, in.Current, in.New, c.RealIP()); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// logout is POST /logout[?scope=local|global|others].
func (s *Server) logout(c echo.Context) error {
	cl, err := claimsOf(c)
	if err != nil {
		return err
	}
	scope := usecase.LogoutScope(strings.ToLower(c.QueryParam("scope")))
	if err := s.d.Revoke.Logout(c.Request().Context(), cl, scope); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
