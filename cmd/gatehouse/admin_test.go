package main

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// adminToken creates an admin through the use case (as the CLI does) and
// logs in.
func (e *testEnv) adminToken() any {
	e.t.Helper()
	if _, err := e.app.register.Create(context.Background(), "root", "admin password 1", []string{"admin"}); err != nil {
		e.t.Fatalf("create admin: %v", err)
	}
	return e.login("root", "admin password 1")["access_token"]
}

func TestAdminAPI(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, nil)
	admin := bearerHeader(e.adminToken())
	e.signUp("alice", "correct horse battery")
	alice := bearerHeader(e.login("alice", "correct horse battery")["access_token"])

	if r := e.do(http.MethodGet, "/admin/users", nil, alice); r.status != 403 || r.json(t)["error"] != "forbidden" {
		t.Fatalf("non-admin GET /admin/users = %d %s; want 403 forbidden", r.status, r.body)
	}
	if r := e.do(http.MethodGet, "/admin/users", nil, nil); r.status != 401 {
		t.Fatalf("anonymous GET /admin/users = %d; want 401", r.status)
	}

	r := e.do(http.MethodPost, "/admin/users", map[string]any{"username": "bob", "password": "bobs password!", "roles": []string{"ops"}}, admin)
	if r.status != 201 {
		t.Fatalf("POST /admin/users = %d %s", r.status, r.body)
	}
	bobID := r.json(t)["id"].(string)

	// Pagination: three users, pages of two.
	r = e.do(http.MethodGet, "/admin/users?limit=2", nil, admin)
	var page struct {
		Users []struct {
			ID       string   `json:"id"`
			Username string   `json:"username"`
			Roles    []string `json:"roles"`
			Disabled bool     `json:"disabled"`
		} `json:"users"`
		NextCursor string `json:"next_cursor"`
	}
	if err := json.Unmarshal(r.body, &page); err != nil || len(page.Users) != 2 || page.NextCursor == "" {
		t.Fatalf("first page = %s (%v); want 2 users and a cursor", r.body, err)
	}
	r = e.do(http.MethodGet, "/admin/users?limit=2&cursor="+page.NextCursor, nil, admin)
	if err := json.Unmarshal(r.body, &page); err != nil || len(page.Users) != 1 || page.NextCursor != "" || page.Users[0].Username != "bob" {
		t.Fatalf("second page = %s; want only bob and no cursor", r.body)
	}

	// Disabling revokes the user's sessions.
	bob := bearerHeader(e.login("bob", "bobs password!")["access_token"])
	r = e.do(http.MethodPatch, "/admin/users/"+bobID, map[string]any{"disabled": true}, admin)
	if r.status != 200 || r.json(t)["disabled"] != true {
		t.Fatalf("PATCH disabled = %d %s", r.status, r.body)
	}
	if r := e.do(http.MethodGet, "/protected_resource", nil, bob); r.status != 401 {
		t.Errorf("disabled user's token = %d; want 401", r.status)
	}
	if r := e.do(http.MethodPost, "/get_token", map[string]string{"username": "bob", "password": "bobs password!"}, nil); r.status != 401 {
		t.Errorf("disabled user login = %d; want 401", r.status)
	}
	if r := e.do(http.MethodPatch, "/admin/users/"+bobID, map[string]any{"disabled": false, "roles": []string{}}, admin); r.status != 200 {
		t.Fatalf("re-enable = %d %s", r.status, r.body)
	}
	e.login("bob", "bobs password!")

	if r := e.do(http.MethodDelete, "/admin/users/"+bobID+"/sessions", nil, admin); r.status != 204 {
		t.Errorf("DELETE sessions = %d", r.status)
	}
	if r := e.do(http.MethodDelete, "/admin/users/"+bobID, nil, admin); r.status != 204 {
		t.Errorf("DELETE user = %d %s", r.status, r.body)
	}
	if r := e.do(http.MethodDelete, "/admin/users/"+bobID, nil, admin); r.status != 404 {
		t.Errorf("DELETE missing user = %d; want 404", r.status)
	}
	if r := e.do(http.MethodPatch, "/admin/users/nope", map[string]any{"disabled": true}, admin); r.status != 404 {
		t.Errorf("PATCH missing user = %d; want 404", r.status)
	}

	// Clients.
	r = e.do(http.MethodPost, "/admin/clients", map[string]any{"name": "reports", "scopes": []string{"reports:read"}}, admin)
	if r.status != 201 || r.json(t)["client_secret"] == "" || r.json(t)["client_id"] == "" {
		t.Fatalf("POST /admin/clients = %d %s", r.status, r.body)
	}
	id := r.json(t)["client_id"].(string)
	r = e.do(http.MethodGet, "/admin/clients", nil, admin)
	if r.status != 200 || !strings.Contains(string(r.body), id) || strings.Contains(string(r.body), "client_secret") {
		t.Fatalf("GET /admin/clients = %d %s; want a list without secrets", r.status, r.body)
	}
	if r := e.do(http.MethodDelete, "/admin/clients/"+id, nil, admin); r.status != 204 {
		t.Errorf("DELETE client = %d", r.status)
	}
}

func TestAdminEdgeCases(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, map[string]string{"GATEHOUSE_SIGNING_ALG": "HS256", "GATEHOUSE_JWT_SECRET": strings.Repeat("s", 32)})
	admin := bearerHeader(e.adminToken())
	if r := e.do(http.MethodPost, "/admin/keys/rotate", nil, admin); r.status != 400 || r.json(t)["error"] != "invalid_request" {
		t.Errorf("rotate under HS256 = %d %s; want 400 invalid_request", r.status, r.body)
	}
	if r := e.do(http.MethodDelete, "/admin/users/no-such-user/sessions", nil, admin); r.status != 404 {
		t.Errorf("revoke sessions of an unknown user = %d %s; want 404", r.status, r.body)
	}
	if r := e.do(http.MethodGet, "/.well-known/jwks.json", nil, nil); strings.TrimSpace(string(r.body)) != `{"keys":[]}` {
		t.Errorf("JWKS under HS256 = %s; want no keys", r.body)
	}
}
