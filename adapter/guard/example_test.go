package guard_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/gatehouse-auth/gatehouse/adapter/guard"
	"github.com/gatehouse-auth/gatehouse/adapter/token"
	"github.com/gatehouse-auth/gatehouse/domain"
)

// A resource server: tokens are checked against Gatehouse's JWKS, revoked
// sessions are read from its feed in the background, /reports needs a
// scope and /readyz drains the service while the revoked set is stale.
func Example() {
	ctx := context.Background()
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	base := "https://auth.example.com" // Gatehouse (GATEHOUSE_ISSUER)

	keys, err := token.NewRemoteKeySet(base+"/.well-known/jwks.json", nil, token.DefaultMinRefresh, nil)
	if err != nil {
		panic(err)
	}
	verifier, err := token.NewRemoteVerifier(keys, []string{token.AlgEdDSA}, base, "gatehouse", 30*time.Second, nil, 10000)
	if err != nil {
		panic(err)
	}
	revocations, err := guard.NewPoller(base+"/oauth/revocations",
		os.Getenv("GATEHOUSE_CLIENT_ID"), os.Getenv("GATEHOUSE_CLIENT_SECRET"),
		nil, guard.DefaultPoll, guard.DefaultMaxStaleness, nil, log)
	if err != nil {
		panic(err)
	}
	go revocations.Run(ctx)

	e := echo.New()
	auth := guard.New(guard.Config{Verifier: verifier, Revocations: revocations, Log: log})
	e.GET("/reports", func(c echo.Context) error {
		return c.JSON(http.StatusOK, map[string]string{"hello": guard.Claims(c).Subject})
	}, auth, guard.RequireScope("reports:read"))
	e.GET("/readyz", revocations.Readyz)
}

// verifierFunc adapts a function to guard.Verifier.
type verifierFunc func(ctx context.Context, token string) (*domain.Claims, error)

func (f verifierFunc) Verify(ctx context.Context, token string) (*domain.Claims, error) {
	return f(ctx, token)
}

// RequireScope answers 403 with the scopes needed when the token lacks one.
func ExampleRequireScope() {
	v := verifierFunc(func(_ context.Context, tok string) (*domain.Claims, error) {
		if tok != "t" {
			return nil, domain.ErrTokenInvalid
		}
		return &domain.Claims{Subject: "alice", Scope: []string{"reports:read"}}, nil
	})
	e := echo.New()
	ok := func(c echo.Context) error { return c.String(http.StatusOK, "hello "+guard.Claims(c).Subject) }
	e.GET("/reports", ok, guard.New(guard.Config{Verifier: v}), guard.RequireScope("reports:read"))
	e.GET("/admin", ok, guard.New(guard.Config{Verifier: v}), guard.RequireScope("reports:write"))

	for _, target := range []string{"/reports", "/admin"} {
		req := httptest.NewRequest(http.MethodGet, target, nil)
		req.Header.Set("Authorization", "Bearer t")
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		fmt.Printf("%s %d %q\n", target, rec.Code, rec.Header().Get("WWW-Authenticate"))
	}
	// Output:
	// /reports 200 ""
	// /admin 403 "Bearer realm=\"gatehouse\", error=\"insufficient_scope\", scope=\"reports:write\""
}
