package rest

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/gatehouse-auth/gatehouse/domain"
)

// staticVerifier accepts one token and returns fixed claims without any
// cryptography, so BenchmarkProtectedRoute measures what the HTTP layer
// adds around the signature check: middleware, echo-jwt, the access log,
// the JSON answer. The signature itself is adapter/token's BenchmarkVerify.
type staticVerifier struct {
	token  string
	claims domain.Claims
}

func (v *staticVerifier) Verify(_ context.Context, token string) (*domain.Claims, error) {
	if token != v.token {
		return nil, domain.ErrTokenInvalid
	}
	c := v.claims
	return &c, nil
}

// bareEcho is the ceiling: the same JSON from a bare Echo, no middleware.
func bareEcho() *echo.Echo {
	e := echo.New()
	e.GET("/protected_resource", func(c echo.Context) error {
		return c.JSON(http.StatusOK, protectedBody{Message: "This is a protected resource", User: "alice"})
	})
	return e
}

// serveLoop sends GET /protected_resource to h b.N times in-process (no
// network) and checks each answer.
func serveLoop(b *testing.B, h http.Handler, auth string) {
	req := httptest.NewRequest(http.MethodGet, "/protected_resource", nil)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("GET /protected_resource = %d %s", rec.Code, rec.Body)
		}
	}
}

// BenchmarkProtectedRoute compares the tutorial's protected route through
// Gatehouse's full middleware stack (with a verifier that costs nothing)
// with a bare Echo handler returning the same body, in the same run. The
// difference of the two ns/op is the HTTP layer's own cost per request.
// "json-log" writes the access log as JSON to io.Discard (formatting cost
// included, no I/O); "no-log" drops records before formatting.
func BenchmarkProtectedRoute(b *testing.B) {
	v := &staticVerifier{token: "t0k3n", claims: domain.Claims{
		Subject: "u1", Username: "alice", SessionID: "s1", ExpiresAt: time.Now().Add(time.Hour),
	}}
	b.Run("bare-echo", func(b *testing.B) {
		serveLoop(b, bareEcho(), "")
	})
	b.Run("gatehouse/json-log", func(b *testing.B) {
		log := slog.New(slog.NewJSONHandler(io.Discard, nil))
		serveLoop(b, New(Deps{Verify: v}, Options{}, log), "Bearer t0k3n")
	})
	b.Run("gatehouse/no-log", func(b *testing.B) {
		serveLoop(b, New(Deps{Verify: v}, Options{}, slog.New(slog.DiscardHandler)), "Bearer t0k3n")
	})
	b.Run("gatehouse/observe", func(b *testing.B) {
		n := 0
		opts := Options{Observe: func(string, int, time.Duration) { n++ }}
		serveLoop(b, New(Deps{Verify: v}, opts, slog.New(slog.DiscardHandler)), "Bearer t0k3n")
		if n == 0 {
			b.Fatal("Observe was never called")
		}
	})
}
