package main

import (
	"context"
	"encoding/base64"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/adapter/rest"
	"github.com/gatehouse-auth/gatehouse/internal/testkit"
)

// TestLogsHoldNoSecrets runs every flow that handles a secret, the failure
// paths included, with debug logging, and then searches everything the
// server logged for each password, token, client secret and Authorization
// header value it saw.
func TestLogsHoldNoSecrets(t *testing.T) {
	t.Parallel()
	// A zero reuse interval makes a second use of a refresh token reuse at
	// once (the session-killing path).
	e := newTestEnv(t, map[string]string{"GATEHOUSE_REFRESH_REUSE_INTERVAL": "0s", "GATEHOUSE_LOG_LEVEL": "debug"})
	var secrets []string
	keep := func(s ...any) {
		for _, v := range s {
			if str, ok := v.(string); ok && str != "" {
				secrets = append(secrets, str)
			}
		}
	}
	tokenPair := func(r response, what string) (access, refresh string) {
		t.Helper()
		if r.status != http.StatusOK {
			t.Fatalf("%s = %d %s", what, r.status, r.body)
		}
		b := r.json(t)
		access, _ = b["access_token"].(string)
		refresh, _ = b["refresh_token"].(string)
		keep(access, refresh)
		return access, refresh
	}
	const (
		pw1      = "Log-Test-Password-One-7f3a"
		pw2      = "Log-Test-Password-Two-9c2e"
		wrongPw  = "Log-Test-Wrong-Guess-41d8"
		adminPw  = "admin password 1" // adminToken's
		badToken = "forged.Log-Test-Bad-Token.c0ffee"
	)
	keep(pw1, pw2, wrongPw, adminPw, badToken)

	// Sign-up and logins, JSON and form.
	e.signUp("alice", pw1)
	a1, r1 := tokenPair(e.do(http.MethodPost, "/get_token", map[string]string{"username": "alice", "password": pw1}, nil), "/get_token")
	_, r2 := tokenPair(e.form("/oauth/token", "grant_type=password&username=alice&password="+url.QueryEscape(pw1), nil), "password grant")
	e.do(http.MethodGet, "/protected_resource", nil, bearerHeader(a1))
	e.do(http.MethodGet, "/protected_resource", nil, map[string]string{"Authorization": a1})
	keep("Bearer " + a1)

	// Refresh, then reuse the spent token (the session is revoked).
	a3, r3 := tokenPair(e.form("/oauth/token", "grant_type=refresh_token&refresh_token="+url.QueryEscape(r1), nil), "refresh")
	if r := e.form("/oauth/token", "grant_type=refresh_token&refresh_token="+url.QueryEscape(r1), nil); r.status != 400 {
		t.Fatalf("refresh token reuse = %d %s; want 400", r.status, r.body)
	}
	e.do(http.MethodGet, "/protected_resource", nil, bearerHeader(a3)) // revoked by the reuse
	e.form("/oauth/token", "grant_type=refresh_token&refresh_token="+url.QueryEscape(r3), nil)

	// Machine clients: create, token, introspect (Basic and form), revoke.
	admin := e.adminToken()
	keep(admin, "Bearer "+admin.(string))
	r := e.do(http.MethodPost, "/admin/clients", map[string]any{"name": "reports", "scopes": []string{"reports:read"}}, bearerHeader(admin))
	if r.status != http.StatusCreated {
		t.Fatalf("POST /admin/clients = %d %s", r.status, r.body)
	}
	client := r.json(t)
	id, secret := client["client_id"].(string), client["client_secret"].(string)
	keep(secret, basic(id, secret), basic(id, wrongPw))
	a4, _ := tokenPair(e.form("/oauth/token", "grant_type=client_credentials&client_id="+id+"&client_secret="+url.QueryEscape(secret), nil), "client_credentials")
	_, r5 := tokenPair(e.form("/oauth/token", "grant_type=password&username=alice&password="+url.QueryEscape(pw1), nil), "password grant")
	e.form("/oauth/introspect", "token="+url.QueryEscape(a4), map[string]string{"Authorization": basic(id, secret)})
	e.form("/oauth/introspect", "token="+url.QueryEscape(r5)+"&client_id="+id+"&client_secret="+url.QueryEscape(secret), nil)
	e.form("/oauth/introspect", "token="+url.QueryEscape(a4), map[string]string{"Authorization": basic(id, wrongPw)})
	e.form("/oauth/introspect", "token="+url.QueryEscape(a4), bearerHeader(admin))
	e.form("/oauth/revoke", "token="+url.QueryEscape(r2)+"&token_type_hint=refresh_token", nil)
	e.form("/oauth/revoke", "token="+url.QueryEscape(a4), nil)
	e.do(http.MethodGet, "/oauth/revocations", nil, map[string]string{"Authorization": basic(id, secret)})

	// Password change and logout.
	a6, _ := tokenPair(e.do(http.MethodPost, "/get_token", map[string]string{"username": "alice", "password": pw1}, nil), "/get_token")
	if r := e.do(http.MethodPost, "/me/password", map[string]string{"current_password": pw1, "new_password": pw2}, bearerHeader(a6)); r.status != http.StatusNoContent {
		t.Fatalf("POST /me/password = %d %s", r.status, r.body)
	}
	e.do(http.MethodPost, "/me/password", map[string]string{"current_password": wrongPw, "new_password": pw1}, bearerHeader(a6))
	if r := e.do(http.MethodPost, "/logout", nil, bearerHeader(a6)); r.status != http.StatusNoContent {
		t.Fatalf("POST /logout = %d %s", r.status, r.body)
	}

	// Failure paths: wrong password, bad tokens, secrets where they do not
	// belong (query strings, malformed bodies).
	e.do(http.MethodPost, "/get_token", map[string]string{"username": "alice", "password": wrongPw}, nil)
	e.form("/oauth/token", "grant_type=password&username=alice&password="+url.QueryEscape(wrongPw), nil)
	e.do(http.MethodGet, "/protected_resource", nil, map[string]string{"Authorization": "Bearer " + badToken})
	e.do(http.MethodGet, "/protected_resource", nil, bearerHeader(a6)) // revoked by logout
	e.do(http.MethodGet, "/protected_resource?access_token="+url.QueryEscape(a6), nil, nil)
	e.do(http.MethodPost, "/get_token?password="+url.QueryEscape(pw2), `{"username":"alice","password":"`+pw2+`"`, nil)
	e.do(http.MethodPost, "/users", map[string]string{"username": "bob", "password": "short"}, nil)
	e.form("/oauth/token", "grant_type=refresh_token&refresh_token="+url.QueryEscape(badToken), nil)
	e.do(http.MethodGet, "/me", nil, map[string]string{"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte("alice:"+pw2))})
	keep("Basic " + base64.StdEncoding.EncodeToString([]byte("alice:"+pw2)))

	logs := e.log.String()
	// The capture is real: it holds the request lines of this test.
	if !e.app.log.Enabled(context.Background(), slog.LevelDebug) {
		t.Fatal("the logger is not at debug level")
	}
	for _, want := range []string{`"route":"/oauth/token"`, `"route":"/protected_resource"`, `"status":401`} {
		if !strings.Contains(logs, want) {
			t.Fatalf("log capture lacks %s; the search below would prove nothing:\n%s", want, logs)
		}
	}
	for _, s := range secrets {
		needles := []string{s}
		// A JWT's signature alone, or any long enough slice of an opaque
		// secret, is as telling as the whole value.
		if parts := strings.Split(s, "."); len(parts) == 3 && len(parts[2]) > 16 {
			needles = append(needles, parts[2])
		}
		if len(s) >= 24 {
			needles = append(needles, s[:16], s[len(s)-16:])
		}
		for _, n := range needles {
			if strings.Contains(logs, n) {
				t.Errorf("the log contains a secret (%d chars, starting %.6q...)", len(n), n)
			}
		}
	}
	if strings.Contains(logs, "$argon2id$") {
		t.Error("the log contains a password hash")
	}
}

// TestAccessLogErrorsOnly: with GATEHOUSE_ACCESS_LOG=errors, successful
// requests are not logged and failures are.
func TestAccessLogErrorsOnly(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t, map[string]string{"GATEHOUSE_ACCESS_LOG": "errors"})
	logs := &testkit.LogBuffer{}
	a, err := build(t.Context(), cfg, logs, buildOptions{hash: testParams})
	if err != nil {
		t.Fatal(err)
	}
	defer a.close()
	srv := httptestServer(rest.New(a.httpDeps(), rest.Options{Issuer: cfg.Issuer, AccessLog: cfg.AccessLog}, a.log))
	defer srv.Close()
	for _, path := range []string{"/healthz", "/protected_resource"} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	out := logs.String()
	if strings.Contains(out, `"route":"/healthz"`) || !strings.Contains(out, `"route":"/protected_resource","status":401`) {
		t.Errorf("access log = %s; want only the 401", out)
	}
}
