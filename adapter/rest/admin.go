package rest

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/gatehouse-auth/gatehouse/adapter/internal/problem"

	"github.com/gatehouse-auth/gatehouse/usecase"
)

// listUsers is GET /admin/users?cursor=&limit=.
func (s *Server) listUsers(c echo.Context) error {
	limit := usecase.RequestedLimit(c.QueryParam("limit"))
	users, next, err := s.d.Users.List(c.Request().Context(), c.QueryParam("cursor"), limit)
	if err != nil {
		return err
	}
	out := struct {
		Users      []userBody `json:"users"`
		NextCursor string     `json:"next_cursor"`
	}{Users: make([]userBody, 0, len(users)), NextCursor: next}
	for i := range users {
		out.Users = append(out.Users, newUserBody(&users[i], true))
	}
	return problem.JSON(c, http.StatusOK, out)
}

// createUser is POST /admin/users.
func (s *Server) createUser(c echo.Context) error {
	in, err := decodeCredentials(c)
	if err != nil {
		return err
	}
	u, err := s.d.Register.Create(c.Request().Context(), in.Username, in.Password, in.Roles)
	if err != nil {
		return err
	}
	return problem.JSON(c, http.StatusCreated, newUserBody(u, true))
}

// patchUser is PATCH /admin/users/:id.
func (s *Server) patchUser(c echo.Context) error {
	var in struct {
		Disabled *bool     `json:"disabled"`
		Roles    *[]string `json:"roles"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	u, err := s.d.Users.Update(c.Request().Context(), c.Param("id"), usecase.UserPatch{Disabled: in.Disabled, Roles: in.Roles})
	if err != nil {
		return err
	}
	return problem.JSON(c, http.StatusOK, newUserBody(u, true))
}

// deleteUser is DELETE /admin/users/:id.
func (s *Server) deleteUser(c echo.Context) error {
	if err := s.d.Users.Delete(c.Request().Context(), c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// revokeUserSessions is DELETE /admin/users/:id/sessions.
func (s *Server) revokeUserSessions(c echo.Context) error {
	if err := s.d.Users.RevokeSessions(c.Request().Context(), c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// clientBody is the public view of a client; Secret only on creation.
type clientBody struct {
	ClientID  string    `json:"client_id"`
	Secret    string    `json:"client_secret,omitempty"`
	Name      string    `json:"name"`
	Scopes    []string  `json:"scopes"`
	CreatedAt time.Time `json:"created_at"`
}

// createClient is POST /admin/clients.
func (s *Server) createClient(c echo.Context) error {
	var in struct {
		Name   string   `json:"name"`
		Scopes []string `json:"scopes"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	cl, secret, err := s.d.Clients.Create(c.Request().Context(), in.Name, in.Scopes)
	if err != nil {
		return err
	}
	scopes := cl.Scopes
	if scopes == nil {
		scopes = []string{}
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return problem.JSON(c, http.StatusCreated, clientBody{ClientID: cl.ID, Secret: secret, Name: cl.Name, Scopes: scopes, CreatedAt: cl.CreatedAt.UTC()})
}

// listClients is GET /admin/clients.
func (s *Server) listClients(c echo.Context) error {
	clients, err := s.d.Clients.List(c.Request().Context())
	if err != nil {
		return err
	}
	out := struct {
		Clients []clientBody `json:"clients"`
	}{Clients: make([]clientBody, 0, len(clients))}
	for _, cl := range clients {
		scopes := cl.Scopes
		if scopes == nil {
			scopes = []string{}
		}
		out.Clients = append(out.Clients, clientBody{ClientID: cl.ID, Name: cl.Name, Scopes: scopes, CreatedAt: cl.CreatedAt.UTC()})
	}
	return problem.JSON(c, http.StatusOK, out)
}

// deleteClient is DELETE /admin/clients/:id.
func (s *Server) deleteClient(c echo.Context) error {
	if err := s.d.Clients.Delete(c.Request().Context(), c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// rotateKey is POST /admin/keys/rotate.
func (s *Server) rotateKey(c echo.Context) error {
	kid, err := s.d.Keys.Rotate(c.Request().Context())
	if err != nil {
		return err
	}
	return problem.JSON(c, http.StatusOK, map[string]string{"kid": kid})
}
