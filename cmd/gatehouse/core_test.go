package main

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/adapter/token"
	"github.com/gatehouse-auth/gatehouse/domain"
)

func TestSignUp(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, nil)
	e.signUp("Alice", "correct horse battery")

	tests := []struct {
		name       string
		body       any
		wantStatus int
		wantCode   string
	}{
		{"taken", map[string]string{"username": "alice", "password": "another good one"}, 409, "username_taken"},
		{"taken case variant", map[string]string{"username": "ALICE", "password": "another good one"}, 409, "username_taken"},
		{"weak common", map[string]string{"username": "bob", "password": "password123"}, 422, "weak_password"},
		{"weak short", map[string]string{"username": "bob", "password": "short"}, 422, "weak_password"},
		{"too long password", map[string]string{"username": "bob", "password": strings.Repeat("x", 1025)}, 422, "weak_password"},
		{"bad username chars", map[string]string{"username": "bob smith", "password": "a fine password"}, 422, "invalid_username"},
		{"sql-looking username", map[string]string{"username": "x' OR '1'='1", "password": "a fine password"}, 422, "invalid_username"},
		{"short username", map[string]string{"username": "ab", "password": "a fine password"}, 422, "invalid_username"},
		{"missing password", map[string]string{"username": "bob"}, 400, "invalid_request"},
		{"missing everything", map[string]string{}, 400, "invalid_request"},
		{"not json", "username=bob", 400, "invalid_request"},
		{"wrong types", `{"username": 42, "password": ["x"]}`, 400, "invalid_request"},
		{"empty body", "", 400, "invalid_request"},
		{"trailing data", `{"username":"bob","password":"a fine password"} {}`, 400, "invalid_request"},
		{"null", "null", 400, "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := e.do(http.MethodPost, "/users", tt.body, nil)
			if r.status != tt.wantStatus {
				t.Fatalf("POST /users = %d %s; want %d", r.status, r.body, tt.wantStatus)
			}
			if got := r.json(t)["error"]; got != tt.wantCode {
				t.Errorf("error = %v; want %s", got, tt.wantCode)
			}
			if msg, _ := r.json(t)["message"].(string); msg == "" {
				t.Errorf("message is empty in %s", r.body)
			}
		})
	}
	t.Run("created body", func(t *testing.T) {
		t.Parallel()
		r := e.do(http.MethodPost, "/users", map[string]string{"username": "Carol@Example.com", "password": "a fine password"}, nil)
		if r.status != http.StatusCreated {
			t.Fatalf("POST /users = %d %s", r.status, r.body)
		}
		b := r.json(t)
		if b["username"] != "carol@example.com" || b["id"] == "" || b["created_at"] == nil {
			t.Errorf("body = %s; want normalised username, id and created_at", r.body)
		}
		if strings.Contains(string(r.body), "password") {
			t.Errorf("body leaks a password field: %s", r.body)
		}
	})
}

func TestSignUpDisabled(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, map[string]string{"GATEHOUSE_SIGNUP": "false"})
	r := e.do(http.MethodPost, "/users", map[string]string{"username": "alice", "password": "correct horse battery"}, nil)
	if r.status != http.StatusForbidden || r.json(t)["error"] != "signup_disabled" {
		t.Fatalf("POST /users with signup off = %d %s; want 403 signup_disabled", r.status, r.body)
	}
}

func TestGetToken(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, nil)
	e.signUp("alice", "correct horse battery")

	t.Run("json", func(t *testing.T) {
		t.Parallel()
		r := e.do(http.MethodPost, "/get_token", map[string]string{"username": "alice", "password": "correct horse battery"}, nil)
		if r.status != http.StatusOK {
			t.Fatalf("POST /get_token = %d %s; want 200", r.status, r.body)
		}
		b := r.json(t)
		if b["token"] == "" || b["token"] != b["access_token"] {
			t.Errorf("token = %v, access_token = %v; want equal and non-empty", b["token"], b["access_token"])
		}
		if b["token_type"] != "Bearer" || b["expires_in"] != float64(900) {
			t.Errorf("token_type = %v, expires_in = %v; want Bearer, 900", b["token_type"], b["expires_in"])
		}
		if rt, _ := b["refresh_token"].(string); len(rt) < 43 {
			t.Errorf("refresh_token = %q; want >= 43 base64url chars", rt)
		}
		if cc := r.header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("Cache-Control = %q; want no-store", cc)
		}
	})
	t.Run("form", func(t *testing.T) {
		t.Parallel()
		r := e.form("/get_token", "username=alice&password=correct+horse+battery", nil)
		if r.status != http.StatusOK {
			t.Fatalf("form POST /get_token = %d %s; want 200", r.status, r.body)
		}
	})
	bad := []struct {
		name       string
		body       any
		wantStatus int
		wantBody   string
	}{
		{"wrong password", map[string]string{"username": "alice", "password": "wrong password"}, 401, `{"error":"invalid_credentials","message":"Invalid credentials"}`},
		{"unknown user", map[string]string{"username": "mallory", "password": "wrong password"}, 401, `{"error":"invalid_credentials","message":"Invalid credentials"}`},
		{"invalid username", map[string]string{"username": "x' OR 1=1 --", "password": "wrong password"}, 401, `{"error":"invalid_credentials","message":"Invalid credentials"}`},
		{"missing password", map[string]string{"username": "alice"}, 400, ""},
		{"bad json", "{", 400, ""},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := e.do(http.MethodPost, "/get_token", tt.body, nil)
			if r.status != tt.wantStatus {
				t.Fatalf("POST /get_token = %d %s; want %d", r.status, r.body, tt.wantStatus)
			}
			if tt.wantBody != "" && strings.TrimSpace(string(r.body)) != tt.wantBody {
				t.Errorf("body = %s; want %s", r.body, tt.wantBody)
			}
			if tt.wantStatus == 400 && r.json(t)["error"] != "invalid_request" {
				t.Errorf("error = %v; want invalid_request", r.json(t)["error"])
			}
		})
	}
}

func TestProtectedResource(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, nil)
	e.signUp("alice", "correct horse battery")
	tok := e.login("alice", "correct horse battery")["token"].(string)

	expired := e.issue(t, domain.Claims{Subject: "x", Username: "alice", IssuedAt: time.Now().Add(-time.Hour), ExpiresAt: time.Now().Add(-time.Minute)})
	tests := []struct {
		name        string
		auth        string
		wantStatus  int
		wantMessage string
		wantAuthErr bool
	}{
		{"bearer", "Bearer " + tok, 200, "This is a protected resource", false},
		{"bare tutorial style", tok, 200, "This is a protected resource", false},
		{"lower-case scheme", "bearer " + tok, 200, "This is a protected resource", false},
		{"missing", "", 401, "Token is missing", false},
		{"scheme only", "Bearer ", 401, "Token is missing", false},
		{"garbage", "Bearer not.a.token", 401, "Invalid token", true},
		{"tampered", "Bearer " + tok[:len(tok)-4] + "AAAA", 401, "Invalid token", true},
		{"expired", "Bearer " + expired, 401, "Token has expired", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := map[string]string{}
			if tt.auth != "" {
				h["Authorization"] = tt.auth
			}
			r := e.do(http.MethodGet, "/protected_resource", nil, h)
			if r.status != tt.wantStatus {
				t.Fatalf("GET /protected_resource = %d %s; want %d", r.status, r.body, tt.wantStatus)
			}
			if got := r.json(t)["message"]; got != tt.wantMessage {
				t.Errorf("message = %v; want %q", got, tt.wantMessage)
			}
			if tt.wantStatus == 200 {
				if got := r.json(t)["user"]; got != "alice" {
					t.Errorf("user = %v; want alice", got)
				}
				return
			}
			wa := r.header.Get("WWW-Authenticate")
			if !strings.HasPrefix(wa, `Bearer realm="gatehouse"`) || strings.Contains(wa, `error="invalid_token"`) != tt.wantAuthErr {
				t.Errorf("WWW-Authenticate = %q; want Bearer realm, invalid_token=%v", wa, tt.wantAuthErr)
			}
		})
	}
}

// issue signs claims with the app's own keys, for tokens the API would
// never hand out (already expired, say).
func (e *testEnv) issue(t *testing.T, c domain.Claims) string {
	t.Helper()
	if c.ID == "" {
		c.ID = "test-jti"
	}
	if c.NotBefore.IsZero() {
		c.NotBefore = c.IssuedAt
	}
	tok, err := token.NewIssuer(e.app.ring, e.app.cfg.Issuer, e.app.cfg.Audience).Issue(context.Background(), c)
	if err != nil {
		t.Fatalf("Issue: %v", err)
	}
	return tok
}

func TestMeAndHealth(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, nil)
	e.signUp("alice", "correct horse battery")
	tok := e.login("alice", "correct horse battery")["access_token"]
	r := e.do(http.MethodGet, "/me", nil, bearerHeader(tok))
	if r.status != 200 {
		t.Fatalf("GET /me = %d %s", r.status, r.body)
	}
	if b := r.json(t); b["username"] != "alice" || b["id"] == "" {
		t.Errorf("GET /me = %s; want alice with id", r.body)
	}
	for _, path := range []string{"/healthz", "/readyz"} {
		if r := e.do(http.MethodGet, path, nil, nil); r.status != 200 {
			t.Errorf("GET %s = %d %s; want 200", path, r.status, r.body)
		}
	}
	if r := e.do(http.MethodGet, "/no/such/route", nil, nil); r.status != 404 || r.json(t)["error"] != "not_found" {
		t.Errorf("GET unknown route = %d %s; want 404 not_found", r.status, r.body)
	}
}

func TestBodyLimitAndHeaders(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, nil)
	big := `{"username":"alice","password":"` + strings.Repeat("a", 1<<20) + `"}`
	for _, path := range []string{"/users", "/get_token", "/oauth/token"} {
		r := e.do(http.MethodPost, path, big, nil)
		if r.status != http.StatusRequestEntityTooLarge || r.json(t)["error"] != "request_too_large" {
			t.Errorf("POST %s with 1 MiB = %d %s; want 413 request_too_large", path, r.status, r.body)
		}
	}
	r := e.do(http.MethodGet, "/healthz", nil, nil)
	for h, want := range map[string]string{"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY"} {
		if got := r.header.Get(h); got != want {
			t.Errorf("%s = %q; want %q", h, got, want)
		}
	}
	if r.header.Get("Content-Security-Policy") == "" || r.header.Get("X-Request-Id") == "" {
		t.Errorf("missing CSP or request id header: %v", r.header)
	}
}

func TestNeverServerError(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, nil)
	bodies := []string{"", "{", "[]", "null", "0", `"x"`, `{"username":null}`, `{"username":{"a":1}}`,
		`{"username":"` + strings.Repeat("a", 5000) + `","password":"x"}`, "\x00\xff", `{"grant_type":7}`}
	paths := []string{"/users", "/get_token", "/oauth/token", "/oauth/revoke", "/oauth/introspect"}
	for _, p := range paths {
		for _, b := range bodies {
			for _, ct := range []string{"application/json", "application/x-www-form-urlencoded", "text/plain"} {
				r := e.do(http.MethodPost, p, []byte(b), map[string]string{"Content-Type": ct})
				if r.status >= 500 {
					t.Errorf("POST %s (%s) %q = %d %s; want < 500", p, ct, b, r.status, r.body)
				}
			}
		}
	}
	for _, auth := range []string{"Bearer", "Basic Zm9vOmJhcg==", "Bearer " + strings.Repeat("A", 9000), "Bearer a.b.c", "Bearer eyJhbGciOiJub25lIn0.e30."} {
		for _, p := range []string{"/protected_resource", "/me", "/admin/users"} {
			r := e.do(http.MethodGet, p, nil, map[string]string{"Authorization": auth})
			if r.status != 401 {
				t.Errorf("GET %s with %.20q = %d %s; want 401", p, auth, r.status, r.body)
			}
		}
	}
}

func TestMultipartIsUnsupported(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, nil)
	body := "--x\r\nContent-Disposition: form-data; name=\"username\"\r\n\r\nalice\r\n--x--\r\n"
	for _, path := range []string{"/get_token", "/users", "/oauth/token"} {
		r := e.do(http.MethodPost, path, []byte(body), map[string]string{"Content-Type": "multipart/form-data; boundary=x"})
		if r.status != http.StatusUnsupportedMediaType || r.json(t)["error"] != "unsupported_media_type" {
			t.Errorf("multipart POST %s = %d %s; want 415 unsupported_media_type", path, r.status, r.body)
		}
	}
}
