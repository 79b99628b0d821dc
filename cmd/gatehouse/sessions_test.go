package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// loginAs logs in through /get_token with the given User-Agent and returns
// the answer.
func (e *testEnv) loginAs(username, pw, userAgent string) map[string]any {
	e.t.Helper()
	r := e.do(http.MethodPost, "/get_token", map[string]string{"username": username, "password": pw}, map[string]string{"User-Agent": userAgent})
	if r.status != http.StatusOK {
		e.t.Fatalf("POST /get_token %s = %d %s; want 200", username, r.status, r.body)
	}
	return r.json(e.t)
}

// sessionsOf answers GET path with headers h as the list of sessions, or
// fails the test.
func (e *testEnv) sessionsOf(path string, h map[string]string) []map[string]any {
	e.t.Helper()
	r := e.do(http.MethodGet, path, nil, h)
	if r.status != http.StatusOK {
		e.t.Fatalf("GET %s = %d %s; want 200", path, r.status, r.body)
	}
	var out []map[string]any
	for _, s := range r.json(e.t)["sessions"].([]any) {
		out = append(out, s.(map[string]any))
	}
	return out
}

func TestSessionsOverHTTP(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, nil)
	alice := e.signUp("alice", "alice password 1")
	e.signUp("bob", "bobs password 1")
	laptop := e.loginAs("alice", "alice password 1", "laptop/1.0")
	longUA := "phone/2.0 " + strings.Repeat("x", 300)
	phone := e.loginAs("alice", "alice password 1", longUA)
	laptopH := bearerHeader(laptop["access_token"])

	list := e.sessionsOf("/me/sessions", laptopH)
	if len(list) != 2 {
		t.Fatalf("GET /me/sessions = %v; want 2 sessions", list)
	}
	// Newest first: the phone, then the laptop (the caller's).
	p, l := list[0], list[1]
	if p["user_agent"] != longUA[:256] || p["current"] != false || l["user_agent"] != "laptop/1.0" || l["current"] != true {
		t.Errorf("GET /me/sessions = %v; want [phone (User-Agent cut to 256), laptop current]", list)
	}
	for _, s := range list {
		if s["ip"] != "127.0.0.1" || s["last_used_at"] != s["created_at"] {
			t.Errorf("session %v: want ip 127.0.0.1 and last_used_at = created_at before any refresh", s)
		}
	}

	// A refresh moves last_used_at on.
	refreshed := e.form("/oauth/token", "grant_type=refresh_token&refresh_token="+url.QueryEscape(laptop["refresh_token"].(string)), nil)
	if refreshed.status != http.StatusOK {
		t.Fatalf("refresh laptop = %d %s; want 200", refreshed.status, refreshed.body)
	}
	list = e.sessionsOf("/me/sessions", laptopH)
	if got := list[1]; got["id"] != l["id"] || !(got["last_used_at"].(string) > got["created_at"].(string)) {
		t.Errorf("after a refresh GET /me/sessions = %v; want the laptop second, last_used_at after created_at", list)
	}

	// The admin sees the same list, nobody's current.
	admin := bearerHeader(e.adminToken())
	adminList := e.sessionsOf("/admin/users/"+alice["id"].(string)+"/sessions", admin)
	if len(adminList) != 2 || adminList[0]["id"] != p["id"] || adminList[0]["current"] != false || adminList[1]["current"] != false {
		t.Errorf("GET /admin/users/alice/sessions = %v; want both of alice's sessions, none current", adminList)
	}
	for path, h := range map[string]map[string]string{
		"/admin/users/no-such-user/sessions":                          admin,
		"/admin/users/" + url.PathEscape("' OR 1=1 --") + "/sessions": admin,
	} {
		if r := e.do(http.MethodGet, path, nil, h); r.status != http.StatusNotFound || r.json(t)["error"] != "not_found" {
			t.Errorf("GET %s = %d %s; want 404 not_found", path, r.status, r.body)
		}
	}
	if r := e.do(http.MethodGet, "/admin/users/"+alice["id"].(string)+"/sessions", nil, laptopH); r.status != http.StatusForbidden {
		t.Errorf("GET /admin/users/:id/sessions as alice = %d %s; want 403", r.status, r.body)
	}

	// Another user's session, unknown and malformed ids: 404, never 500.
	bob := e.loginAs("bob", "bobs password 1", "bob's browser")
	bobSessions := e.sessionsOf("/me/sessions", bearerHeader(bob["access_token"]))
	for _, id := range []string{bobSessions[0]["id"].(string), "no-such-session", "\x00", "' OR 1=1 --", "é", "..", strings.Repeat("a", 4000), p["id"].(string) + "%"} {
		r := e.do(http.MethodDelete, "/me/sessions/"+url.PathEscape(id), nil, laptopH)
		if r.status != http.StatusNotFound || r.json(t)["error"] != "not_found" {
			t.Errorf("DELETE /me/sessions/%.40q = %d %s; want 404 not_found", id, r.status, r.body)
		}
	}
	if r := e.do(http.MethodGet, "/me", nil, bearerHeader(bob["access_token"])); r.status != http.StatusOK {
		t.Errorf("bob after alice's attempt on his session: GET /me = %d; want 200", r.status)
	}

	// Ending the phone's session from the laptop kills its tokens.
	if r := e.do(http.MethodDelete, "/me/sessions/"+p["id"].(string), nil, laptopH); r.status != http.StatusNoContent {
		t.Fatalf("DELETE /me/sessions/phone = %d %s; want 204", r.status, r.body)
	}
	r := e.form("/oauth/token", "grant_type=refresh_token&refresh_token="+url.QueryEscape(phone["refresh_token"].(string)), nil)
	if r.status != http.StatusBadRequest || r.json(t)["error"] != "invalid_grant" {
		t.Errorf("phone's refresh token after DELETE = %d %s; want 400 invalid_grant", r.status, r.body)
	}
	r = e.do(http.MethodGet, "/protected_resource", nil, bearerHeader(phone["access_token"]))
	if r.status != http.StatusUnauthorized || r.json(t)["message"] != "Token has been revoked" {
		t.Errorf("phone's access token after DELETE = %d %s; want 401 Token has been revoked", r.status, r.body)
	}
	if r := e.do(http.MethodDelete, "/me/sessions/"+p["id"].(string), nil, laptopH); r.status != http.StatusNotFound {
		t.Errorf("DELETE /me/sessions/phone again = %d %s; want 404", r.status, r.body)
	}
	if list := e.sessionsOf("/me/sessions", laptopH); len(list) != 1 || list[0]["current"] != true {
		t.Errorf("GET /me/sessions after ending the phone = %v; want only the laptop, current", list)
	}

	// Only a user token from a login: no client token, no API key.
	r = e.do(http.MethodPost, "/admin/clients", map[string]any{"name": "reports"}, admin)
	if r.status != http.StatusCreated {
		t.Fatalf("POST /admin/clients = %d %s", r.status, r.body)
	}
	client := r.json(t)
	r = e.form("/oauth/token", "grant_type=client_credentials&client_id="+client["client_id"].(string)+"&client_secret="+url.QueryEscape(client["client_secret"].(string)), nil)
	if r.status != http.StatusOK {
		t.Fatalf("client_credentials = %d %s", r.status, r.body)
	}
	clientH := bearerHeader(r.json(t)["access_token"])
	key := e.newAPIKey(laptop["access_token"], map[string]any{"name": "ci"})["key"].(string)
	for name, h := range map[string]map[string]string{"client token": clientH, "API key": {"X-API-Key": key}} {
		if r := e.do(http.MethodGet, "/me/sessions", nil, h); r.status != http.StatusForbidden || r.json(t)["error"] != "forbidden" {
			t.Errorf("GET /me/sessions with a %s = %d %s; want 403 forbidden", name, r.status, r.body)
		}
		if r := e.do(http.MethodDelete, "/me/sessions/"+l["id"].(string), nil, h); r.status != http.StatusForbidden {
			t.Errorf("DELETE /me/sessions/:id with a %s = %d %s; want 403", name, r.status, r.body)
		}
	}
	if r := e.do(http.MethodGet, "/me/sessions", nil, nil); r.status != http.StatusUnauthorized {
		t.Errorf("anonymous GET /me/sessions = %d; want 401", r.status)
	}
}
