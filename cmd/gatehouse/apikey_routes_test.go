package main

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
)

// exchangeKey trades key for an access token (RFC 8693) or fails the test.
func (e *testEnv) exchangeKey(key string) string {
	e.t.Helper()
	v := url.Values{
		"grant_type":         {"urn:ietf:params:oauth:grant-type:token-exchange"},
		"subject_token":      {key},
		"subject_token_type": {"urn:gatehouse:token-type:api-key"},
	}
	r := e.form("/oauth/token", v.Encode(), nil)
	if r.status != http.StatusOK {
		e.t.Fatalf("token exchange = %d %s; want 200", r.status, r.body)
	}
	return r.json(e.t)["access_token"].(string)
}

// keyRoute is a route as Echo registered it (method and path template).
type keyRoute struct{ method, path string }

// keyAcceptedRoutes are the protected routes where an API key, or a token
// exchanged from one, acts as its user.
var keyAcceptedRoutes = []keyRoute{
	{http.MethodGet, "/protected_resource"},
	{http.MethodGet, "/me"},
}

// keyFreeRoutes take no user credential at all (or a client's): a key
// has nothing to be refused there.
var keyFreeRoutes = []keyRoute{
	{http.MethodPost, "/get_token"},
	{http.MethodPost, "/users"},
	{http.MethodPost, "/oauth/token"},
	{http.MethodPost, "/oauth/revoke"},
	{http.MethodPost, "/oauth/introspect"},
	{http.MethodGet, "/oauth/revocations"},
	{http.MethodGet, "/.well-known/jwks.json"},
	{http.MethodGet, "/.well-known/oauth-authorization-server"},
	{http.MethodGet, "/healthz"},
	{http.MethodGet, "/readyz"},
	{http.MethodGet, "/metrics"},
	{http.MethodGet, "/openapi.yaml"},
}

// TestAPIKeyRefusedOnProtectedRoutes: every route that manages
// credentials, sessions or the security log, and every admin route, refuses
// an API key in each of its three places and a token exchanged from one
// with 403 forbidden, although the key's user is an admin; nothing they
// would change changes. /protected_resource and /me accept all four. Every
// registered route must be in one of the lists, so a new route cannot be
// forgotten here.
func TestAPIKeyRefusedOnProtectedRoutes(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, nil)
	adminTok := e.adminToken().(string)
	admin := bearerHeader(adminTok)
	var sid struct {
		SID string `json:"sid"`
	}
	if err := json.Unmarshal([]byte(decodePayload(t, adminTok)), &sid); err != nil || sid.SID == "" {
		t.Fatalf("admin token has no sid: %v", err)
	}
	victim := e.signUp("victim", "victim password 1")["id"].(string)
	created := e.newAPIKey(adminTok, map[string]any{"name": "ci"})
	key, keyID := created["key"].(string), created["id"].(string)
	exchanged := e.exchangeKey(key)
	client, _, err := e.app.clients.Create(t.Context(), "rs", nil)
	if err != nil {
		t.Fatal(err)
	}

	// Each refused route with a body that would succeed with a user token.
	refused := []struct {
		route keyRoute
		path  string // the concrete path (with a query), when not route.path
		body  any
	}{
		{route: keyRoute{http.MethodPost, "/me/password"}, body: map[string]any{"current_password": "admin password 1", "new_password": "a brand new password"}},
		{route: keyRoute{http.MethodPost, "/logout"}},
		{route: keyRoute{http.MethodPost, "/logout"}, path: "/logout?scope=global"},
		{route: keyRoute{http.MethodPost, "/logout"}, path: "/logout?scope=others"},
		{route: keyRoute{http.MethodPost, "/me/api-keys"}, body: map[string]any{"name": "more"}},
		{route: keyRoute{http.MethodGet, "/me/api-keys"}},
		{route: keyRoute{http.MethodDelete, "/me/api-keys/:id"}, path: "/me/api-keys/" + keyID},
		{route: keyRoute{http.MethodGet, "/me/sessions"}},
		{route: keyRoute{http.MethodDelete, "/me/sessions/:id"}, path: "/me/sessions/" + sid.SID},
		{route: keyRoute{http.MethodGet, "/me/events"}},
		{route: keyRoute{http.MethodPost, "/me/mfa/totp"}},
		{route: keyRoute{http.MethodPost, "/me/mfa/totp/confirm"}, body: map[string]any{"code": "123456"}},
		{route: keyRoute{http.MethodDelete, "/me/mfa/totp"}, body: map[string]any{"code": "123456"}},
		{route: keyRoute{http.MethodPost, "/me/mfa/recovery-codes"}, body: map[string]any{"code": "123456"}},
		{route: keyRoute{http.MethodGet, "/admin/users"}},
		{route: keyRoute{http.MethodPost, "/admin/users"}, body: map[string]any{"username": "mallory", "password": "mallory password 1", "roles": []string{"admin"}}},
		{route: keyRoute{http.MethodPatch, "/admin/users/:id"}, path: "/admin/users/" + victim, body: map[string]any{"disabled": true}},
		{route: keyRoute{http.MethodDelete, "/admin/users/:id"}, path: "/admin/users/" + victim},
		{route: keyRoute{http.MethodDelete, "/admin/users/:id/sessions"}, path: "/admin/users/" + victim + "/sessions"},
		{route: keyRoute{http.MethodGet, "/admin/users/:id/sessions"}, path: "/admin/users/" + victim + "/sessions"},
		{route: keyRoute{http.MethodPost, "/admin/clients"}, body: map[string]any{"name": "evil"}},
		{route: keyRoute{http.MethodGet, "/admin/clients"}},
		{route: keyRoute{http.MethodDelete, "/admin/clients/:id"}, path: "/admin/clients/" + client.ID},
		{route: keyRoute{http.MethodPost, "/admin/keys/rotate"}},
		{route: keyRoute{http.MethodGet, "/admin/users/:id/api-keys"}, path: "/admin/users/" + victim + "/api-keys"},
		{route: keyRoute{http.MethodDelete, "/admin/api-keys/:id"}, path: "/admin/api-keys/" + keyID},
		{route: keyRoute{http.MethodDelete, "/admin/users/:id/mfa"}, path: "/admin/users/" + victim + "/mfa"},
		{route: keyRoute{http.MethodGet, "/admin/events"}},
		{route: keyRoute{http.MethodPost, "/admin/webhooks"}, body: map[string]any{"url": "https://example.com/hook", "events": []string{"user.created"}}},
		{route: keyRoute{http.MethodGet, "/admin/webhooks"}},
		{route: keyRoute{http.MethodDelete, "/admin/webhooks/:id"}, path: "/admin/webhooks/nope"},
		{route: keyRoute{http.MethodGet, "/admin/webhooks/:id/deliveries"}, path: "/admin/webhooks/nope/deliveries"},
	}

	// Every registered route is classified.
	known := map[keyRoute]bool{}
	for _, r := range append(append([]keyRoute{}, keyAcceptedRoutes...), keyFreeRoutes...) {
		known[r] = true
	}
	for _, r := range refused {
		known[r.route] = true
	}
	for _, r := range e.srv.Config.Handler.(*echo.Echo).Routes() {
		if r.Method != echo.RouteNotFound && !known[keyRoute{r.Method, r.Path}] {
			t.Errorf("route %s %s is in none of the lists of this test: say whether an API key is refused there", r.Method, r.Path)
		}
	}

	creds := map[string]map[string]string{
		"Bearer key":      {"Authorization": "Bearer " + key},
		"bare key":        {"Authorization": key},
		"X-API-Key":       {"X-API-Key": key},
		"exchanged token": {"Authorization": "Bearer " + exchanged},
	}
	for name, h := range creds {
		for _, r := range keyAcceptedRoutes {
			if got := e.do(r.method, r.path, nil, h); got.status != http.StatusOK {
				t.Errorf("%s %s with %s = %d %s; want 200", r.method, r.path, name, got.status, got.body)
			}
		}
		for _, r := range refused {
			path := r.path
			if path == "" {
				path = r.route.path
			}
			got := e.do(r.route.method, path, r.body, h)
			if got.status != http.StatusForbidden || !strings.Contains(string(got.body), `"error":"forbidden"`) {
				t.Errorf("%s %s with %s = %d %s; want 403 forbidden", r.route.method, path, name, got.status, got.body)
			}
		}
	}

	// Nothing changed: the admin's session, password, key and the victim.
	if r := e.do(http.MethodGet, "/me/sessions", nil, admin); r.status != http.StatusOK {
		t.Errorf("the admin's own session after the refusals = %d %s; want 200", r.status, r.body)
	}
	e.login("root", "admin password 1")
	e.login("victim", "victim password 1")
	if r := e.do(http.MethodGet, "/protected_resource", nil, creds["X-API-Key"]); r.status != http.StatusOK {
		t.Errorf("the key after the refusals = %d %s; want 200", r.status, r.body)
	}
	if r := e.do(http.MethodGet, "/admin/users?limit=500", nil, admin); strings.Contains(string(r.body), "mallory") {
		t.Error("a key created a user")
	}
}
