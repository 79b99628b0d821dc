package main

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

func TestTokenEndpointPasswordAndRefresh(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, nil)
	e.signUp("alice", "correct horse battery")

	r := e.form("/oauth/token", "grant_type=password&username=alice&password=correct+horse+battery", nil)
	if r.status != 200 || r.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("password grant = %d %s (Cache-Control %q); want 200 no-store", r.status, r.body, r.header.Get("Cache-Control"))
	}
	b := r.json(t)
	if _, has := b["token"]; has {
		t.Errorf("/oauth/token body has the tutorial's token field: %s", r.body)
	}
	rt1 := b["refresh_token"].(string)

	r = e.form("/oauth/token", "grant_type=refresh_token&refresh_token="+url.QueryEscape(rt1), nil)
	if r.status != 200 {
		t.Fatalf("refresh = %d %s", r.status, r.body)
	}
	rt2 := r.json(t)["refresh_token"].(string)
	if rt2 == rt1 {
		t.Fatal("refresh returned the same refresh token; want rotation")
	}
	at2 := r.json(t)["access_token"]
	if r := e.do(http.MethodGet, "/protected_resource", nil, bearerHeader(at2)); r.status != 200 {
		t.Fatalf("refreshed access token refused: %d %s", r.status, r.body)
	}

	// JSON is accepted too.
	r = e.do(http.MethodPost, "/oauth/token", map[string]string{"grant_type": "refresh_token", "refresh_token": rt2}, nil)
	if r.status != 200 {
		t.Fatalf("JSON refresh = %d %s", r.status, r.body)
	}
	rt3 := r.json(t)["refresh_token"].(string)

	// rt1 is two generations old: reuse. The whole session dies.
	r = e.form("/oauth/token", "grant_type=refresh_token&refresh_token="+url.QueryEscape(rt1), nil)
	if r.status != 400 || r.json(t)["error"] != "invalid_grant" || r.json(t)["error_description"] == nil {
		t.Fatalf("reuse of an old refresh token = %d %s; want 400 invalid_grant with error_description", r.status, r.body)
	}
	r = e.form("/oauth/token", "grant_type=refresh_token&refresh_token="+url.QueryEscape(rt3), nil)
	if r.status != 400 {
		t.Fatalf("current token after reuse detection = %d %s; want 400 (session revoked)", r.status, r.body)
	}
	if r := e.do(http.MethodGet, "/protected_resource", nil, bearerHeader(at2)); r.status != 401 || r.json(t)["message"] != "Token has been revoked" {
		t.Fatalf("access token of a revoked session = %d %s; want 401 Token has been revoked", r.status, r.body)
	}
}

func TestTokenEndpointErrors(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, nil)
	e.signUp("alice", "correct horse battery")
	tests := []struct {
		name, body string
		wantStatus int
		wantError  string
	}{
		{"no grant type", "username=alice", 400, "invalid_request"},
		{"unsupported grant", "grant_type=authorization_code&code=x", 400, "unsupported_grant_type"},
		{"wrong password", "grant_type=password&username=alice&password=nope+nope+nope", 400, "invalid_grant"},
		{"unknown user", "grant_type=password&username=bob&password=nope+nope+nope", 400, "invalid_grant"},
		{"missing password", "grant_type=password&username=alice", 400, "invalid_request"},
		{"scope not allowed", "grant_type=password&username=alice&password=correct+horse+battery&scope=admin", 400, "invalid_scope"},
		{"bad refresh token", "grant_type=refresh_token&refresh_token=nope", 400, "invalid_grant"},
		{"missing refresh token", "grant_type=refresh_token", 400, "invalid_request"},
		{"client without credentials", "grant_type=client_credentials", 401, "invalid_client"},
		{"client bad secret", "grant_type=client_credentials&client_id=x&client_secret=y", 401, "invalid_client"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := e.form("/oauth/token", tt.body, nil)
			if r.status != tt.wantStatus || r.json(t)["error"] != tt.wantError {
				t.Fatalf("POST /oauth/token %q = %d %s; want %d %s", tt.body, r.status, r.body, tt.wantStatus, tt.wantError)
			}
			if r.json(t)["error_description"] == nil {
				t.Errorf("no error_description in %s", r.body)
			}
		})
	}
}

func TestConcurrentRefreshConverges(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, nil)
	e.signUp("alice", "correct horse battery")
	rt := e.login("alice", "correct horse battery")["refresh_token"].(string)

	const n = 20
	status, got := concurrently(n, func(int) (int, string) {
		r := e.form("/oauth/token", "grant_type=refresh_token&refresh_token="+url.QueryEscape(rt), nil)
		if r.status != 200 {
			return r.status, ""
		}
		return r.status, r.json(t)["refresh_token"].(string)
	})
	for i := range n {
		if status[i] != 200 || got[i] != got[0] {
			t.Fatalf("request %d: status %d, successor %q; want 200 and the same successor as request 0 (%q)", i, status[i], got[i], got[0])
		}
	}
}

func TestClientCredentialsAndIntrospection(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, nil)
	c, secret, err := e.app.clients.Create(context.Background(), "reports", []string{"reports:read", "reports:write"})
	if err != nil {
		t.Fatal(err)
	}
	cfg := clientcredentials.Config{ClientID: c.ID, ClientSecret: secret, TokenURL: e.srv.URL + "/oauth/token", Scopes: []string{"reports:read"}}
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, e.srv.Client())
	tok, err := cfg.Token(ctx)
	if err != nil {
		t.Fatalf("clientcredentials.Token: %v", err)
	}
	if tok.RefreshToken != "" || tok.Extra("scope") != "reports:read" {
		t.Errorf("client token: refresh %q scope %v; want none and reports:read", tok.RefreshToken, tok.Extra("scope"))
	}
	// Form credentials work as well as Basic.
	r := e.form("/oauth/token", "grant_type=client_credentials&client_id="+c.ID+"&client_secret="+url.QueryEscape(secret)+"&scope=billing", nil)
	if r.status != 400 || r.json(t)["error"] != "invalid_scope" {
		t.Errorf("foreign scope = %d %s; want 400 invalid_scope", r.status, r.body)
	}

	r = e.form("/oauth/introspect", "token="+tok.AccessToken, map[string]string{"Authorization": basic(c.ID, secret)})
	if r.status != 200 {
		t.Fatalf("introspect = %d %s", r.status, r.body)
	}
	if b := r.json(t); b["active"] != true || b["client_id"] != c.ID || b["scope"] != "reports:read" || b["token_type"] != "access_token" {
		t.Errorf("introspect = %s; want active client token", r.body)
	}
	r = e.form("/oauth/introspect", "token=garbage", map[string]string{"Authorization": basic(c.ID, secret)})
	if strings.TrimSpace(string(r.body)) != `{"active":false}` {
		t.Errorf("introspect garbage = %s; want {\"active\":false}", r.body)
	}
	r = e.form("/oauth/introspect", "token=garbage", map[string]string{"Authorization": basic(c.ID, "wrong")})
	if r.status != 401 || r.json(t)["error"] != "invalid_client" {
		t.Errorf("introspect with a bad secret = %d %s; want 401 invalid_client", r.status, r.body)
	}
}

func basic(id, secret string) string {
	req, _ := http.NewRequest(http.MethodGet, "/", nil)
	req.SetBasicAuth(id, secret)
	return req.Header.Get("Authorization")
}

func TestOAuth2PasswordClientRefreshes(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, map[string]string{"GATEHOUSE_ACCESS_TTL": "1s"})
	e.signUp("alice", "correct horse battery")
	conf := &oauth2.Config{ClientID: "first-party", Endpoint: oauth2.Endpoint{TokenURL: e.srv.URL + "/oauth/token", AuthStyle: oauth2.AuthStyleInParams}}
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, e.srv.Client())
	tok, err := conf.PasswordCredentialsToken(ctx, "alice", "correct horse battery")
	if err != nil {
		t.Fatalf("PasswordCredentialsToken: %v", err)
	}
	if tok.RefreshToken == "" {
		t.Fatal("no refresh token from the password grant")
	}
	// Force expiry so the TokenSource refreshes through the refresh grant.
	tok.Expiry = tok.Expiry.Add(-2 * time.Hour)
	src := conf.TokenSource(ctx, tok)
	fresh, err := src.Token()
	if err != nil {
		t.Fatalf("TokenSource.Token (refresh): %v", err)
	}
	if fresh.RefreshToken == tok.RefreshToken || fresh.AccessToken == tok.AccessToken {
		t.Error("TokenSource did not rotate the tokens")
	}
	client := oauth2.NewClient(ctx, src)
	resp, err := client.Get(e.srv.URL + "/protected_resource")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("GET /protected_resource through oauth2 client = %d; want 200", resp.StatusCode)
	}
}
