package problem_test

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/gatehouse-auth/gatehouse/adapter/internal/problem"
	"github.com/gatehouse-auth/gatehouse/domain"
)

func TestClassify(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		err    error
		status int
		code   problem.Code
	}{
		{"request error", problem.BadRequest("x"), 400, problem.InvalidRequest},
		{"use case invalid_request", &domain.ValidationError{Code: domain.CodeInvalidRequest, Message: "x"}, 400, problem.InvalidRequest},
		{"use case invalid_scope", &domain.ValidationError{Code: domain.CodeInvalidScope, Message: "x"}, 400, problem.InvalidScope},
		{"value rule", &domain.ValidationError{Code: domain.CodeWeakPassword, Message: "x"}, 422, problem.WeakPassword},
		{"username rule", &domain.ValidationError{Code: domain.CodeInvalidUsername, Message: "x"}, 422, problem.InvalidUsername},
		{"value rule, OAuth", problem.OAuth(&domain.ValidationError{Code: domain.CodeWeakPassword, Message: "x"}), 400, problem.InvalidRequest},
		{"unknown rule", &domain.ValidationError{Code: "made_up", Message: "x"}, 400, problem.InvalidRequest},
		{"credentials", domain.ErrInvalidCredentials, 401, problem.InvalidCredentials},
		{"credentials, OAuth", problem.OAuth(fmt.Errorf("login: %w", domain.ErrInvalidCredentials)), 400, problem.InvalidGrant},
		{"expired", domain.ErrTokenExpired, 401, problem.InvalidToken},
		{"scope", &problem.ScopeError{Scope: "a"}, 403, problem.InsufficientScope},
		{"stale", problem.ErrStale, 503, problem.Unavailable},
		{"throttled", &domain.ThrottledError{RetryAfter: time.Second}, 429, problem.TooManyRequests},
		{"echo 405", echo.ErrMethodNotAllowed, 405, problem.MethodNotAllowed},
		{"unknown", errors.New("boom"), 500, problem.ServerError},
	}
	for _, tt := range tests {
		if p := problem.Classify(tt.err); p.Status != tt.status || p.Code != tt.code {
			t.Errorf("Classify(%s) = %d %s; want %d %s", tt.name, p.Status, p.Code, tt.status, tt.code)
		}
	}
}

func TestWrite(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, method string
		err          error
		header, want string
		body         string
	}{
		{"missing token", "GET", domain.ErrTokenMissing, "WWW-Authenticate", `Bearer realm="gatehouse"`, `{"error":"unauthorized","message":"Token is missing"}`},
		{"bad token", "GET", domain.ErrTokenInvalid, "WWW-Authenticate", `Bearer realm="gatehouse", error="invalid_token"`, `"invalid_token"`},
		{"bad client", "POST", problem.OAuth(domain.ErrInvalidClient), "WWW-Authenticate", `Basic realm="gatehouse"`, `"error_description":"Client authentication failed"`},
		{"scope", "GET", &problem.ScopeError{Scope: "a b"}, "WWW-Authenticate", `Bearer realm="gatehouse", error="insufficient_scope", scope="a b"`, `"insufficient_scope"`},
		{"throttled", "POST", &domain.ThrottledError{RetryAfter: 1500 * time.Millisecond}, "Retry-After", "2", `"too_many_requests"`},
		{"unavailable", "GET", domain.ErrUnavailable, "Retry-After", "1", `"unavailable"`},
		{"head", "HEAD", domain.ErrTokenMissing, "WWW-Authenticate", `Bearer realm="gatehouse"`, ""},
	}
	e := echo.New()
	for _, tt := range tests {
		rec := httptest.NewRecorder()
		c := e.NewContext(httptest.NewRequest(tt.method, "/", nil), rec)
		if err := problem.Write(c, slog.New(slog.DiscardHandler), tt.err); err != nil {
			t.Fatalf("Write(%s) error = %v", tt.name, err)
		}
		if got := rec.Header().Get(tt.header); got != tt.want {
			t.Errorf("Write(%s): %s = %q; want %q", tt.name, tt.header, got, tt.want)
		}
		if !strings.Contains(rec.Body.String(), tt.body) || (tt.body == "" && rec.Body.Len() != 0) {
			t.Errorf("Write(%s) body = %s; want %s", tt.name, rec.Body, tt.body)
		}
		if tt.method != http.MethodHead && strings.Contains(rec.Body.String(), "error_description") != strings.Contains(tt.name, "client") {
			t.Errorf("Write(%s) body = %s: error_description only on OAuth errors", tt.name, rec.Body)
		}
	}
}
