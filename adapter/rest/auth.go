package rest

import (
	"errors"
	"strings"

	echojwt "github.com/labstack/echo-jwt/v4"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/gatehouse-auth/gatehouse/adapter/guard"
	"github.com/gatehouse-auth/gatehouse/domain"
)

// requireToken is echo-jwt configured to delegate parsing to v, so there is
// one verifier. It reads "Authorization: Bearer <t>" and the tutorial's bare
// "Authorization: <t>" as the guard does, then "X-API-Key: <key>", and
// stores the claims where the guard does (guard.ContextKey). v judges API
// keys and tokens alike.
func requireToken(v Verifier) echo.MiddlewareFunc {
	return echojwt.WithConfig(echojwt.Config{
		ContextKey:       guard.ContextKey,
		TokenLookupFuncs: []middleware.ValuesExtractor{authorizationToken},
		ParseTokenFunc: func(c echo.Context, token string) (any, error) {
			return v.Verify(c.Request().Context(), token)
		},
		ErrorHandler: func(c echo.Context, err error) error {
			var pe *echojwt.TokenParsingError
			if errors.As(err, &pe) {
				return pe.Err
			}
			// No token at all: the use case still decides (and reports)
			// the refusal, so metrics count missing tokens too.
			if _, err := v.Verify(c.Request().Context(), ""); err != nil {
				return err
			}
			return domain.ErrTokenMissing
		},
	})
}

// errNoToken is the extractor's "nothing here".
var errNoToken = errors.New("no token in authorization header")

// authorizationToken extracts the token from the Authorization header,
// with or without the Bearer scheme, or else an API key from X-API-Key.
func authorizationToken(c echo.Context) ([]string, error) {
	t := guard.BearerToken(c.Request().Header.Get(echo.HeaderAuthorization))
	if t == "" {
		t = strings.TrimSpace(c.Request().Header.Get(guard.HeaderAPIKey))
	}
	if t == "" {
		return nil, errNoToken
	}
	return []string{t}, nil
}

// errNoClaims means a handler that acts for the caller runs on a route
// registered without requireToken: a wiring mistake, answered 500.
var errNoClaims = errors.New("no authenticated claims: route registered without requireToken")

// claimsOf returns the claims requireToken stored. It fails closed: without
// them (a route registered without authentication) it returns errNoClaims,
// never empty claims that a use case could act on.
func claimsOf(c echo.Context) (*domain.Claims, error) {
	cl := guard.Claims(c)
	if cl == nil {
		return nil, errNoClaims
	}
	return cl, nil
}

// requireRole refuses callers who do not hold role now (403): the token
// must carry it and the account must still have it (AccountService.Authorize).
func requireRole(acct AccountService, role string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			cl, err := claimsOf(c)
			if err != nil {
				return err
			}
			if err := acct.Authorize(c.Request().Context(), cl, role); err != nil {
				return err
			}
			if role == domain.RoleAdmin {
				actAs(c, domain.Actor{Type: domain.ActorAdmin, ID: cl.Subject})
			}
			return next(c)
		}
	}
}
