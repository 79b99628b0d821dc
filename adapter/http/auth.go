package http

import (
	"errors"
	"strings"

	echojwt "github.com/labstack/echo-jwt/v4"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/gatehouse-auth/gatehouse/domain"
)

// claimsKey is where the authenticated claims live in the Echo context.
const claimsKey = "gatehouse.claims"

// requireToken is echo-jwt configured to delegate parsing to v, so there is
// one verifier. It reads "Authorization: Bearer <t>" and the tutorial's bare
// "Authorization: <t>".
func requireToken(v Verifier) echo.MiddlewareFunc {
	return echojwt.WithConfig(echojwt.Config{
		ContextKey:       claimsKey,
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
// with or without the Bearer scheme.
func authorizationToken(c echo.Context) ([]string, error) {
	t := bearer(c.Request().Header.Get(echo.HeaderAuthorization))
	if t == "" {
		return nil, errNoToken
	}
	return []string{t}, nil
}

// bearer strips an optional "Bearer " scheme (case-insensitive).
func bearer(h string) string {
	h = strings.TrimSpace(h)
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		h = strings.TrimSpace(h[7:])
	} else if strings.EqualFold(h, "bearer") {
		return ""
	}
	return h
}

// claimsOf returns the claims requireToken stored.
func claimsOf(c echo.Context) *domain.Claims {
	cl, ok := c.Get(claimsKey).(*domain.Claims)
	if !ok {
		return &domain.Claims{}
	}
	return cl
}

// requireRole refuses callers who do not hold role now (403): the token
// must carry it and the account must still have it (AccountService.Authorize).
func requireRole(acct AccountService, role string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if err := acct.Authorize(c.Request().Context(), claimsOf(c), role); err != nil {
				return err
			}
			return next(c)
		}
	}
}
