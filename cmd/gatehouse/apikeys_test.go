package main

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/lestrrat-go/jwx/v3/jwk"
	jwxjwt "github.com/lestrrat-go/jwx/v3/jwt"
)

// keyPattern is the regular expression docs/api-keys.md gives scanners.
var keyPattern = regexp.MustCompile(`\bgth_[0-9A-Za-z]{46}\b`)

// newAPIKey creates a key over HTTP with the user token tok and returns
// the 201 body.
func (e *testEnv) newAPIKey(tok any, body map[string]any) map[string]any {
	e.t.Helper()
	r := e.do(http.MethodPost, "/me/api-keys", body, bearerHeader(tok))
	if r.status != http.StatusCreated {
		e.t.Fatalf("POST /me/api-keys %v = %d %s; want 201", body, r.status, r.body)
	}
	if r.header.Get("Cache-Control") != "no-store" {
		e.t.Errorf("POST /me/api-keys Cache-Control = %q; want no-store", r.header.Get("Cache-Control"))
	}
	return r.json(e.t)
}

// mistyped returns key with its last checksum character changed, so the
// checksum no longer matches (appending a fixed letter would leave 1 key in
// 62 unchanged).
func mistyped(key string) string {
	last := "x"
	if strings.HasSuffix(key, last) {
		last = "y"
	}
	return key[:len(key)-1] + last
}

func TestAPIKeysOverHTTP(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, map[string]string{"GATEHOUSE_USER_SCOPES": "reports:read reports:write"})
	e.signUp("alice", "alice password 1")
	e.signUp("bob", "bobs password 1")
	tok := e.login("alice", "alice password 1")["access_token"]
	bobTok := e.login("bob", "bobs password 1")["access_token"]

	created := e.newAPIKey(tok, map[string]any{"name": "ci", "scope": "reports:read", "expires_in": 3600})
	key, _ := created["key"].(string)
	if !keyPattern.MatchString(key) || created["hint"] != key[:12] || created["last_used_at"] != nil {
		t.Fatalf("created key = %v; want a gth_ key, its hint, no last use", created)
	}
	id := created["id"].(string)

	// A key acts as its user wherever a user token is read.
	for name, h := range map[string]map[string]string{
		"bearer":    {"Authorization": "Bearer " + key},
		"bare":      {"Authorization": key},
		"X-API-Key": {"X-API-Key": key},
	} {
		r := e.do(http.MethodGet, "/protected_resource", nil, h)
		if r.status != 200 || r.json(t)["user"] != "alice" {
			t.Errorf("GET /protected_resource with the key (%s) = %d %s; want 200 alice", name, r.status, r.body)
		}
		if r := e.do(http.MethodGet, "/me", nil, h); r.status != 200 || r.json(t)["username"] != "alice" {
			t.Errorf("GET /me with the key (%s) = %d %s; want 200 alice", name, r.status, r.body)
		}
	}
	// ... and is refused on credential, session and admin routes.
	keyH := map[string]string{"X-API-Key": key}
	for _, rt := range []struct{ method, path string }{
		{http.MethodPost, "/me/api-keys"}, {http.MethodGet, "/me/api-keys"}, {http.MethodDelete, "/me/api-keys/" + id},
		{http.MethodPost, "/me/password"}, {http.MethodPost, "/logout"},
		{http.MethodGet, "/admin/users"}, {http.MethodGet, "/admin/users/x/api-keys"}, {http.MethodDelete, "/admin/api-keys/" + id},
	} {
		var body any
		if rt.method == http.MethodPost {
			body = map[string]any{"name": "x", "current_password": "a", "new_password": "b"}
		}
		if r := e.do(rt.method, rt.path, body, keyH); r.status != 403 || r.json(t)["error"] != "forbidden" {
			t.Errorf("%s %s with a key = %d %s; want 403 forbidden", rt.method, rt.path, r.status, r.body)
		}
	}

	// Listing: newest first, never the key.
	e.newAPIKey(tok, map[string]any{"name": "second"})
	r := e.do(http.MethodGet, "/me/api-keys", nil, bearerHeader(tok))
	var list struct {
		APIKeys []map[string]any `json:"api_keys"`
	}
	if err := json.Unmarshal(r.body, &list); err != nil || r.status != 200 || len(list.APIKeys) != 2 || list.APIKeys[0]["name"] != "second" {
		t.Fatalf("GET /me/api-keys = %d %s; want two keys, newest first", r.status, r.body)
	}
	if strings.Contains(string(r.body), key) {
		t.Fatal("GET /me/api-keys shows the key")
	}

	// Someone else's key is not found; deleting makes the key revoked.
	if r := e.do(http.MethodDelete, "/me/api-keys/"+id, nil, bearerHeader(bobTok)); r.status != 404 || r.json(t)["error"] != "not_found" {
		t.Errorf("DELETE another user's key = %d %s; want 404 not_found", r.status, r.body)
	}
	if r := e.do(http.MethodDelete, "/me/api-keys/"+id, nil, bearerHeader(tok)); r.status != 204 {
		t.Fatalf("DELETE /me/api-keys/%s = %d %s; want 204", id, r.status, r.body)
	}
	if r := e.do(http.MethodGet, "/protected_resource", nil, keyH); r.status != 401 || r.json(t)["message"] != "Token has been revoked" {
		t.Errorf("deleted key = %d %s; want 401 Token has been revoked", r.status, r.body)
	}
	if r := e.do(http.MethodDelete, "/me/api-keys/"+id, nil, bearerHeader(tok)); r.status != 404 {
		t.Errorf("DELETE again = %d; want 404", r.status)
	}
}

func TestAPIKeyBadInput(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, map[string]string{"GATEHOUSE_USER_SCOPES": "reports:read"})
	e.signUp("alice", "alice password 1")
	tok := bearerHeader(e.login("alice", "alice password 1")["access_token"])
	for _, tt := range []struct {
		body string
		code string
	}{
		{`{}`, "invalid_request"},
		{`{"name": ""}`, "invalid_request"},
		{`{"name": "` + strings.Repeat("n", 65) + `"}`, "invalid_request"},
		{`{"name": "ci\n"}`, "invalid_request"},
		{`{"name": "bell\u0007"}`, "invalid_request"},
		{`{"name": "esc\u001b[2J"}`, "invalid_request"},
		{`{"name": "c1\u0085"}`, "invalid_request"},
		{`{"name": 5}`, "invalid_request"},
		{`{"name": "ci", "expires_in": 59}`, "invalid_request"},
		{`{"name": "ci", "expires_in": 0}`, "invalid_request"},
		{`{"name": "ci", "expires_in": -1}`, "invalid_request"},
		{`{"name": "ci", "expires_in": 31536001}`, "invalid_request"},
		{`{"name": "ci", "expires_in": 1e300}`, "invalid_request"},
		{`{"name": "ci", "expires_in": 90.5}`, "invalid_request"},
		{`{"name": "ci", "expires_in": "3600"}`, "invalid_request"},
		{`{"name": "ci", "scope": "reports:write"}`, "invalid_scope"},
		{`{"name": "ci", "scope": 7}`, "invalid_request"},
		{`not json`, "invalid_request"},
	} {
		r := e.do(http.MethodPost, "/me/api-keys", tt.body, tok)
		if r.status != 400 || r.json(t)["error"] != tt.code {
			t.Errorf("POST /me/api-keys %s = %d %s; want 400 %s", tt.body, r.status, r.body, tt.code)
		}
	}
	good := e.newAPIKey(tok["Authorization"][len("Bearer "):], map[string]any{"name": "ci", "expires_in": 31536000})["key"].(string)
	flip := "A"
	if good[len(good)-1] == 'A' {
		flip = "B"
	}
	for _, k := range []string{
		good[:len(good)-1] + flip, // checksum
		good[:len(good)-1],        // short
		"gth_" + strings.Repeat("!", 46),
		"gth_" + strings.Repeat("0", 40) + "2kaqcA", // a valid checksum, no such key
		"xyz_" + good[4:],
	} {
		r := e.do(http.MethodGet, "/protected_resource", nil, map[string]string{"X-API-Key": k})
		if r.status != 401 || r.json(t)["message"] != "Invalid token" {
			t.Errorf("GET /protected_resource with key %q = %d %s; want 401 Invalid token", k, r.status, r.body)
		}
	}
	for _, path := range []string{"/me/api-keys/nope"} {
		if r := e.do(http.MethodDelete, path, nil, tok); r.status != 404 {
			t.Errorf("DELETE %s = %d; want 404", path, r.status)
		}
	}
}

func TestAPIKeyLimitOverHTTP(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, nil)
	e.signUp("alice", "alice password 1")
	tok := e.login("alice", "alice password 1")["access_token"]
	for range 100 {
		e.newAPIKey(tok, map[string]any{"name": "k"})
	}
	r := e.do(http.MethodPost, "/me/api-keys", map[string]any{"name": "k"}, bearerHeader(tok))
	if r.status != 422 || r.json(t)["error"] != "too_many_api_keys" {
		t.Fatalf("101st key = %d %s; want 422 too_many_api_keys", r.status, r.body)
	}
}

func TestAPIKeyAdmin(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, nil)
	admin := bearerHeader(e.adminToken())
	alice := e.signUp("alice", "alice password 1")
	tok := e.login("alice", "alice password 1")["access_token"]
	k := e.newAPIKey(tok, map[string]any{"name": "ci"})
	r := e.do(http.MethodGet, "/admin/users/"+alice["id"].(string)+"/api-keys", nil, admin)
	if r.status != 200 || !strings.Contains(string(r.body), k["id"].(string)) {
		t.Fatalf("GET /admin/users/:id/api-keys = %d %s", r.status, r.body)
	}
	if r := e.do(http.MethodGet, "/admin/users/nobody/api-keys", nil, admin); r.status != 404 {
		t.Errorf("GET /admin/users/nobody/api-keys = %d; want 404", r.status)
	}
	if r := e.do(http.MethodDelete, "/admin/api-keys/"+k["id"].(string), nil, admin); r.status != 204 {
		t.Fatalf("DELETE /admin/api-keys/:id = %d %s", r.status, r.body)
	}
	if r := e.do(http.MethodGet, "/protected_resource", nil, map[string]string{"X-API-Key": k["key"].(string)}); r.status != 401 {
		t.Errorf("key deleted by an admin = %d; want 401", r.status)
	}
	// Disabling the user revokes its keys.
	k2 := e.newAPIKey(tok, map[string]any{"name": "ci2"})
	if r := e.do(http.MethodPatch, "/admin/users/"+alice["id"].(string), map[string]any{"disabled": true}, admin); r.status != 200 {
		t.Fatalf("PATCH disable = %d %s", r.status, r.body)
	}
	if r := e.do(http.MethodGet, "/protected_resource", nil, map[string]string{"X-API-Key": k2["key"].(string)}); r.status != 401 || r.json(t)["message"] != "Token has been revoked" {
		t.Errorf("key of a disabled user = %d %s; want 401 Token has been revoked", r.status, r.body)
	}
}

func TestAPIKeyExchange(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, map[string]string{"GATEHOUSE_USER_SCOPES": "reports:read reports:write"})
	alice := e.signUp("alice", "alice password 1")
	tok := e.login("alice", "alice password 1")["access_token"]
	k := e.newAPIKey(tok, map[string]any{"name": "ci", "scope": "reports:read reports:write"})
	key := k["key"].(string)

	exchange := func(subject, typ, scope string) response {
		v := url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:token-exchange"}, "subject_token": {subject}, "subject_token_type": {typ}}
		if scope != "" {
			v.Set("scope", scope)
		}
		return e.form("/oauth/token", v.Encode(), nil)
	}
	r := exchange(key, "urn:gatehouse:token-type:api-key", "reports:read")
	if r.status != 200 {
		t.Fatalf("token exchange = %d %s", r.status, r.body)
	}
	body := r.json(t)
	if body["issued_token_type"] != "urn:ietf:params:oauth:token-type:access_token" || body["token_type"] != "Bearer" ||
		body["refresh_token"] != nil || body["scope"] != "reports:read" {
		t.Fatalf("token exchange body = %v", body)
	}
	at := body["access_token"].(string)

	// An independent JOSE library accepts it, with our JWKS.
	jwks := e.do(http.MethodGet, "/.well-known/jwks.json", nil, nil)
	set, err := jwk.Parse(jwks.body)
	if err != nil {
		t.Fatalf("jwk.Parse: %v", err)
	}
	parsed, err := jwxjwt.Parse([]byte(at), jwxjwt.WithKeySet(set), jwxjwt.WithValidate(true),
		jwxjwt.WithIssuer(e.app.cfg.Issuer), jwxjwt.WithAudience(e.app.cfg.Audience))
	if err != nil {
		t.Fatalf("jwx Parse(exchanged token) = %v", err)
	}
	var user, sid string
	var roles []any
	if sub, _ := parsed.Subject(); sub != alice["id"] {
		t.Errorf("sub = %q; want alice's id", sub)
	}
	_ = parsed.Get("user", &user)
	_ = parsed.Get("sid", &sid)
	_ = parsed.Get("roles", &roles)
	if user != "alice" || sid != "key:"+k["id"].(string) || len(roles) != 0 {
		t.Errorf("exchanged claims user %q sid %q roles %v; want alice, key:<id>, none", user, sid, roles)
	}

	if r := e.do(http.MethodGet, "/protected_resource", nil, bearerHeader(at)); r.status != 200 {
		t.Errorf("exchanged token on /protected_resource = %d", r.status)
	}
	for _, path := range []string{"/me/api-keys", "/admin/users"} {
		if r := e.do(http.MethodGet, path, nil, bearerHeader(at)); r.status != 403 {
			t.Errorf("exchanged token on %s = %d %s; want 403", path, r.status, r.body)
		}
	}
	if r := exchange(key, "urn:ietf:params:oauth:token-type:access_token", ""); r.status != 400 || r.json(t)["error"] != "invalid_request" {
		t.Errorf("exchange with another subject_token_type = %d %s; want 400 invalid_request", r.status, r.body)
	}
	if r := exchange(mistyped(key), "urn:gatehouse:token-type:api-key", ""); r.status != 400 || r.json(t)["error"] != "invalid_grant" ||
		r.json(t)["error_description"] != "The API key is invalid, expired or revoked" {
		t.Errorf("exchange of a bad key = %d %s; want 400 invalid_grant", r.status, r.body)
	}
	if r := exchange(key, "urn:gatehouse:token-type:api-key", "openid"); r.status != 400 || r.json(t)["error"] != "invalid_scope" {
		t.Errorf("exchange for more scope = %d %s; want 400 invalid_scope", r.status, r.body)
	}
	meta := e.do(http.MethodGet, "/.well-known/oauth-authorization-server", nil, nil)
	if !strings.Contains(string(meta.body), "urn:ietf:params:oauth:grant-type:token-exchange") {
		t.Errorf("metadata %s lacks the token-exchange grant", meta.body)
	}

	// Introspection of the key, by a machine client.
	c, secret, err := e.app.clients.Create(t.Context(), "rs", nil)
	if err != nil {
		t.Fatal(err)
	}
	r = e.form("/oauth/introspect", url.Values{"token": {key}}.Encode(), map[string]string{"Authorization": basic(c.ID, secret)})
	in := r.json(t)
	if r.status != 200 || in["active"] != true || in["token_type"] != "api_key" || in["username"] != "alice" || in["sub"] != alice["id"] || in["exp"] == nil {
		t.Errorf("introspect(key) = %d %s", r.status, r.body)
	}

	// The exchanged token dies with the key.
	if r := e.do(http.MethodDelete, "/me/api-keys/"+k["id"].(string), nil, bearerHeader(tok)); r.status != 204 {
		t.Fatalf("DELETE key = %d", r.status)
	}
	if r := e.do(http.MethodGet, "/protected_resource", nil, bearerHeader(at)); r.status != 401 || r.json(t)["message"] != "Token has been revoked" {
		t.Errorf("token of a deleted key = %d %s; want 401 Token has been revoked", r.status, r.body)
	}
	r = e.form("/oauth/introspect", url.Values{"token": {key}}.Encode(), map[string]string{"Authorization": basic(c.ID, secret)})
	if r.json(t)["active"] != false {
		t.Errorf("introspect(deleted key) = %s; want inactive", r.body)
	}
}
