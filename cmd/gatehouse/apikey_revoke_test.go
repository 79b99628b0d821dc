package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestAPIKeyRevokeRFC7009: POST /oauth/revoke (RFC 7009, no client
// authentication: holding the token is enough) with an API key revokes the
// key; with a token exchanged from a key it revokes that key too (the
// token's sid, as revoking a login's access token ends its session),
// whatever the hint. Either way every token exchanged from the key dies
// with it, the key leaves its user's list with an api_key.revoked event,
// and the user's login session is untouched.
func TestAPIKeyRevokeRFC7009(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, nil)
	e.signUp("alice", "alice password 1")
	tok := e.login("alice", "alice password 1")["access_token"]
	user := bearerHeader(tok)
	revoke := func(token, hint string) {
		t.Helper()
		v := url.Values{"token": {token}}
		if hint != "" {
			v.Set("token_type_hint", hint)
		}
		if r := e.form("/oauth/revoke", v.Encode(), nil); r.status != http.StatusOK {
			t.Fatalf("POST /oauth/revoke = %d %s; want 200", r.status, r.body)
		}
	}
	refused := func(what string, h map[string]string) {
		t.Helper()
		if r := e.do(http.MethodGet, "/protected_resource", nil, h); r.status != 401 || r.json(t)["message"] != "Token has been revoked" {
			t.Errorf("%s after /oauth/revoke = %d %s; want 401 Token has been revoked", what, r.status, r.body)
		}
	}
	listed := func(id string) bool {
		r := e.do(http.MethodGet, "/me/api-keys", nil, user)
		return strings.Contains(string(r.body), id)
	}

	for _, tt := range []struct {
		name, hint string
		exchanged  bool
	}{
		{"the key", "", false},
		{"the key, hinted as a refresh token", "refresh_token", false},
		{"an exchanged token", "", true},
		{"an exchanged token, hinted as an access token", "access_token", true},
	} {
		k := e.newAPIKey(tok, map[string]any{"name": "ci"})
		key, id := k["key"].(string), k["id"].(string)
		other := e.exchangeKey(key)
		presented := key
		if tt.exchanged {
			presented = e.exchangeKey(key)
		}
		revoke(presented, tt.hint)
		refused(tt.name+": the key", map[string]string{"X-API-Key": key})
		refused(tt.name+": a token exchanged from it", bearerHeader(other))
		if listed(id) {
			t.Errorf("%s: key %s still listed after /oauth/revoke", tt.name, id)
		}
		revoke(presented, tt.hint) // again: still 200
	}

	if r := e.do(http.MethodGet, "/me", nil, user); r.status != 200 {
		t.Errorf("alice's login token after revoking her keys = %d %s; want 200", r.status, r.body)
	}
	revoked := 0
	for _, ev := range e.eventsOf("/me/events", 100, user) {
		if ev["type"] == "api_key.revoked" {
			revoked++
		}
	}
	if revoked != 4 {
		t.Errorf("api_key.revoked events = %d; want 4", revoked)
	}
}
