package rest

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/domain"
)

// BenchmarkRequestID measures the whole stack on the protected route with
// no incoming X-Request-ID, a valid one (kept) and a junk one (replaced),
// so the cost of checking the caller's id shows up as a difference.
func BenchmarkRequestID(b *testing.B) {
	v := &staticVerifier{token: "t0k3n", claims: domain.Claims{
		Subject: "u1", Username: "alice", SessionID: "s1", ExpiresAt: time.Now().Add(time.Hour),
	}}
	h := New(Deps{Verify: v}, Options{}, slog.New(slog.DiscardHandler))
	for _, bc := range []struct{ name, id string }{
		{"none", ""},
		{"valid", "0123456789abcdef-0123456789abcdef"},
		{"junk", "<script>" + strings.Repeat("x", 100)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			req := httptest.NewRequest(http.MethodGet, "/protected_resource", nil)
			req.Header.Set("Authorization", "Bearer t0k3n")
			if bc.id != "" {
				req.Header.Set("X-Request-ID", bc.id)
			}
			b.ReportAllocs()
			for b.Loop() {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("GET /protected_resource = %d %s", rec.Code, rec.Body)
				}
			}
		})
	}
}
