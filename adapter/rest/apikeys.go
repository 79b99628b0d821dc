package rest

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/gatehouse-auth/gatehouse/adapter/internal/problem"
	"github.com/gatehouse-auth/gatehouse/domain"
	"github.com/gatehouse-auth/gatehouse/usecase"
)

// apiKeyBody is the public view of an API key (never the key).
type apiKeyBody struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Key        string     `json:"key,omitempty"`
	Hint       string     `json:"hint"`
	Scope      []string   `json:"scope"`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  time.Time  `json:"expires_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
}

func newAPIKeyBody(k *domain.APIKey, key string) apiKeyBody {
	b := apiKeyBody{ID: k.ID, Name: k.Name, Key: key, Hint: k.Hint, Scope: k.Scope,
		CreatedAt: k.CreatedAt.UTC(), ExpiresAt: k.ExpiresAt.UTC()}
	if b.Scope == nil {
		b.Scope = []string{}
	}
	if !k.LastUsedAt.IsZero() {
		t := k.LastUsedAt.UTC()
		b.LastUsedAt = &t
	}
	return b
}

type apiKeysBody struct {
	APIKeys []apiKeyBody `json:"api_keys"`
}

func newAPIKeysBody(keys []domain.APIKey) apiKeysBody {
	b := apiKeysBody{APIKeys: make([]apiKeyBody, 0, len(keys))}
	for i := range keys {
		b.APIKeys = append(b.APIKeys, newAPIKeyBody(&keys[i], ""))
	}
	return b
}

// maxExpiresIn bounds expires_in before it becomes a Duration (seconds of
// a century; the use case applies GATEHOUSE_API_KEY_MAX_TTL).
const maxExpiresIn = 100 * 366 * 24 * 3600

// createAPIKey is POST /me/api-keys.
func (s *Server) createAPIKey(c echo.Context) error {
	var in struct {
		Name      *string  `json:"name"`
		Scope     *string  `json:"scope"`
		ExpiresIn *float64 `json:"expires_in"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	if in.Name == nil {
		return badRequest("name is required")
	}
	cl, err := claimsOf(c)
	if err != nil {
		return err
	}
	input := usecase.APIKeyInput{Name: *in.Name}
	if in.Scope != nil {
		input.Scope = domain.ParseScope(*in.Scope)
	}
	if in.ExpiresIn != nil {
		v := *in.ExpiresIn
		if v != float64(int64(v)) || v < 0 || v > maxExpiresIn {
			return badRequest("expires_in must be a whole number of seconds within the allowed range")
		}
		d := time.Duration(int64(v)) * time.Second
		input.ExpiresIn = &d
	}
	k, key, err := s.d.APIKeys.Create(c.Request().Context(), cl.Subject, input)
	if err != nil {
		return err
	}
	return problem.JSON(c, http.StatusCreated, newAPIKeyBody(k, key))
}

// listAPIKeys is GET /me/api-keys.
func (s *Server) listAPIKeys(c echo.Context) error {
	cl, err := claimsOf(c)
	if err != nil {
		return err
	}
	keys, err := s.d.APIKeys.List(c.Request().Context(), cl.Subject)
	if err != nil {
		return err
	}
	return problem.JSON(c, http.StatusOK, newAPIKeysBody(keys))
}

// deleteAPIKey is DELETE /me/api-keys/:id.
func (s *Server) deleteAPIKey(c echo.Context) error {
	cl, err := claimsOf(c)
	if err != nil {
		return err
	}
	if err := s.d.APIKeys.Delete(c.Request().Context(), cl.Subject, c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// listUserAPIKeys is GET /admin/users/:id/api-keys.
func (s *Server) listUserAPIKeys(c echo.Context) error {
	keys, err := s.d.APIKeys.ListOf(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return problem.JSON(c, http.StatusOK, newAPIKeysBody(keys))
}

// adminDeleteAPIKey is DELETE /admin/api-keys/:id.
func (s *Server) adminDeleteAPIKey(c echo.Context) error {
	if err := s.d.APIKeys.DeleteAny(c.Request().Context(), c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// userTokenOnly refuses API keys, and tokens exchanged from them, on the
// routes that manage credentials or sessions (403): a leaked key must not
// be able to make more keys, change the password or end sessions.
func userTokenOnly(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		cl, err := claimsOf(c)
		if err != nil {
			return err
		}
		if cl.FromAPIKey() {
			return domain.ErrForbidden
		}
		actAs(c, domain.Actor{Type: domain.ActorUser, ID: cl.Subject})
		return next(c)
	}
}
