package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/labstack/echo/v4"

	"github.com/gatehouse-auth/gatehouse/adapter/rest"
	"github.com/gatehouse-auth/gatehouse/api"
)

// echoParam matches an Echo path parameter (":id").
var echoParam = regexp.MustCompile(`:([A-Za-z0-9_]+)`)

// TestOpenAPIDescribesEveryRoute proves neither side can drift: every route
// registered in Echo is documented with the same method and path, and every
// documented operation is registered.
func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	t.Parallel()
	doc := loadSpec(t)
	cfg := testConfig(t, map[string]string{"GATEHOUSE_DB": "memory:"})
	a, err := build(context.Background(), cfg, io.Discard, buildOptions{hash: testParams})
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	t.Cleanup(func() { a.close() })
	// Every optional route on: metrics and this document.
	e := rest.New(a.httpDeps(), rest.Options{
		Issuer:  cfg.Issuer,
		Metrics: http.NotFoundHandler(),
		OpenAPI: api.Spec(),
	}, a.log)

	registered := map[string]bool{}
	for _, r := range e.Routes() {
		if r.Method == echo.RouteNotFound {
			continue // the admin group's catch-all, so its middleware runs on 404s
		}
		if strings.Contains(r.Path, "*") {
			t.Errorf("route %s %s has a wildcard, which OpenAPI cannot describe", r.Method, r.Path)
		}
		registered[r.Method+" "+echoParam.ReplaceAllString(r.Path, "{$1}")] = true
	}
	documented := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			documented[method+" "+path] = true
		}
	}
	for _, r := range sortedKeys(registered) {
		if !documented[r] {
			t.Errorf("route %s is served but not in api/openapi.yaml", r)
		}
	}
	for _, d := range sortedKeys(documented) {
		if !registered[d] {
			t.Errorf("api/openapi.yaml documents %s, which the server does not register", d)
		}
	}
	if len(registered) < 20 {
		t.Errorf("only %d routes registered; want every route of DESIGN.md", len(registered))
	}
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func TestOpenAPIServed(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, nil)
	r := e.do(http.MethodGet, "/openapi.yaml", nil, nil)
	if r.status != http.StatusOK {
		t.Fatalf("GET /openapi.yaml = %d %s; want 200", r.status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/yaml" {
		t.Errorf("Content-Type = %q; want application/yaml", ct)
	}
	if !bytes.Equal(r.body, api.Spec()) {
		t.Errorf("GET /openapi.yaml served %d bytes that differ from api.Spec() (%d bytes)", len(r.body), len(api.Spec()))
	}
	if _, err := openapi3.NewLoader().LoadFromData(r.body); err != nil {
		t.Errorf("served document does not load: %v", err)
	}
}

// TestSpecCheckerCatchesDrift proves the validating transport is not a
// no-op: a server whose answers break the document gets every one reported.
func TestSpecCheckerCatchesDrift(t *testing.T) {
	t.Parallel()
	mux := http.NewServeMux()
	reply := func(status int, body string) http.HandlerFunc {
		return func(w http.ResponseWriter, _ *http.Request) {
			if body != "" {
				w.Header().Set("Content-Type", "application/json")
			}
			w.WriteHeader(status)
			io.WriteString(w, body)
		}
	}
	mux.HandleFunc("GET /healthz", reply(200, `{"status":"ok"}`))
	mux.HandleFunc("GET /readyz", reply(200, `{"status":"ok","extra":1}`))
	mux.HandleFunc("GET /me", reply(418, `{"error":"teapot","message":"short and stout"}`))
	mux.HandleFunc("POST /oauth/revoke", reply(200, `{"revoked":true}`))
	mux.HandleFunc("POST /get_token", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"access_token":"a","token_type":"Bearer","expires_in":900}`) // no token, no Cache-Control
	})
	mux.HandleFunc("GET /protected_resource", reply(401, `{"error":"unauthorized","message":"Token is missing"}`)) // no WWW-Authenticate
	mux.HandleFunc("GET /admin/users", reply(200, `{"users":[{"id":"1","username":"Bob","roles":[],"disabled":false,"created_at":"2026-01-01T00:00:00Z"}],"next_cursor":""}`))
	mux.HandleFunc("GET /no/such/route", reply(200, `{}`))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	var mu sync.Mutex
	var reports []string
	checker := newSpecChecker(t, srv.Client().Transport, func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		reports = append(reports, fmt.Sprintf(format, args...))
	})
	client := &http.Client{Transport: checker}
	tests := []struct {
		method, path string
		wantReport   bool
	}{
		{"GET", "/healthz", false},
		{"GET", "/readyz", true},             // property the schema forbids
		{"GET", "/me", true},                 // undocumented status
		{"POST", "/oauth/revoke", true},      // body on a body-less response
		{"POST", "/get_token", true},         // missing required field and header
		{"GET", "/protected_resource", true}, // 401 without WWW-Authenticate
		{"GET", "/admin/users", true},        // username not normalised
		{"GET", "/no/such/route", true},      // unknown path answered 200
	}
	for _, tt := range tests {
		mu.Lock()
		before := len(reports)
		mu.Unlock()
		req, err := http.NewRequest(tt.method, srv.URL+tt.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", tt.method, tt.path, err)
		}
		resp.Body.Close()
		mu.Lock()
		got := reports[before:]
		mu.Unlock()
		if (len(got) > 0) != tt.wantReport {
			t.Errorf("%s %s: reports %q; want a report: %v", tt.method, tt.path, got, tt.wantReport)
		}
	}
}

// TestSpecLessTravelledAnswers drives the answers the other tests rarely
// reach (the revocation feed, admin and account errors, throttling,
// outages, wrong methods), so the validating transport checks them against
// api/openapi.yaml too. It asserts the statuses itself.
func TestSpecLessTravelledAnswers(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, nil)
	admin := bearerHeader(e.adminToken())
	e.signUp("alice", "correct horse battery")
	aliceLogin := e.login("alice", "correct horse battery")
	alice := bearerHeader(aliceLogin["access_token"])
	cl, secret, err := e.app.clients.Create(context.Background(), "feed reader", []string{"reports:read"})
	if err != nil {
		t.Fatalf("create client: %v", err)
	}
	client := map[string]string{"Authorization": basic(cl.ID, secret)}
	expect := func(what string, r response, status int) {
		t.Helper()
		if r.status != status {
			t.Errorf("%s = %d %s; want %d", what, r.status, r.body, status)
		}
	}

	// The revocation feed.
	expect("anonymous feed", e.do(http.MethodGet, "/oauth/revocations", nil, nil), 401)
	expect("feed for a non-admin user", e.do(http.MethodGet, "/oauth/revocations", nil, alice), 403)
	expect("feed with a bad cursor", e.do(http.MethodGet, "/oauth/revocations?since=abc", nil, client), 400)
	doomed := e.login("alice", "correct horse battery")["access_token"]
	expect("logout", e.do(http.MethodPost, "/logout", nil, bearerHeader(doomed)), 204)
	r := e.do(http.MethodGet, "/oauth/revocations", nil, client)
	expect("client feed", r, 200)
	var feed struct {
		Revocations []map[string]any `json:"revocations"`
		NextCursor  string           `json:"next_cursor"`
	}
	if err := json.Unmarshal(r.body, &feed); err != nil || len(feed.Revocations) == 0 || feed.NextCursor == "0" {
		t.Fatalf("feed after a logout = %s (%v); want an entry and an advanced cursor", r.body, err)
	}
	r = e.do(http.MethodGet, "/oauth/revocations?limit=5&since="+feed.NextCursor, nil, admin)
	expect("admin feed from the cursor", r, 200)
	if !strings.Contains(string(r.body), `"revocations":[]`) {
		t.Errorf("feed from the latest cursor = %s; want no entries", r.body)
	}

	// Introspection by an admin, of a refresh token; refused to others.
	r = e.form("/oauth/introspect", "token="+aliceLogin["refresh_token"].(string), admin)
	expect("admin introspects a refresh token", r, 200)
	if b := r.json(t); b["active"] != true || b["token_type"] != "refresh_token" {
		t.Errorf("introspect refresh token = %s; want active refresh_token", r.body)
	}
	expect("non-admin introspects", e.form("/oauth/introspect", "token=x", alice), 403)
	expect("introspect without a token", e.form("/oauth/introspect", "", client), 400)

	// A machine client's token has no account.
	r = e.form("/oauth/token", "grant_type=client_credentials", client)
	expect("client credentials by Basic", r, 200)
	expect("GET /me as a client", e.do(http.MethodGet, "/me", nil, bearerHeader(r.json(t)["access_token"])), 403)

	// Account and admin input errors.
	expect("password change without fields", e.do(http.MethodPost, "/me/password", map[string]string{}, alice), 400)
	expect("password change to a weak one", e.do(http.MethodPost, "/me/password",
		map[string]string{"current_password": "correct horse battery", "new_password": "password"}, alice), 422)
	expect("admin creates a taken name", e.do(http.MethodPost, "/admin/users",
		map[string]any{"username": "ALICE", "password": "another fine one"}, admin), 409)
	expect("admin creates a weak password", e.do(http.MethodPost, "/admin/users",
		map[string]any{"username": "carol", "password": "short"}, admin), 422)
	expect("admin creates a bad role", e.do(http.MethodPost, "/admin/users",
		map[string]any{"username": "carol", "password": "another fine one", "roles": []string{"Not A Role"}}, admin), 400)
	expect("admin lists with limit 0", e.do(http.MethodGet, "/admin/users?limit=0", nil, admin), 400)
	expect("admin patches with bad JSON", e.do(http.MethodPatch, "/admin/users/x", "{", admin), 400)
	expect("admin creates a nameless client", e.do(http.MethodPost, "/admin/clients", map[string]any{}, admin), 400)
	expect("admin deletes a missing client", e.do(http.MethodDelete, "/admin/clients/nope", nil, admin), 404)
	expect("non-admin rotates a key", e.do(http.MethodPost, "/admin/keys/rotate", nil, alice), 403)

	// Wrong method on a known path.
	expect("POST /healthz", e.do(http.MethodPost, "/healthz", nil, nil), 405)

	// Throttling: five failures for (alice, this address), then 429 on
	// both login routes, correct password or not.
	for range 5 {
		expect("wrong password", e.do(http.MethodPost, "/get_token", map[string]string{"username": "alice", "password": "wrong wrong wrong"}, nil), 401)
	}
	r = e.do(http.MethodPost, "/get_token", map[string]string{"username": "alice", "password": "correct horse battery"}, nil)
	expect("sixth attempt", r, 429)
	r = e.form("/oauth/token", "grant_type=password&username=alice&password=correct+horse+battery", nil)
	expect("sixth attempt by password grant", r, 429)

	// An outage: the store goes away under the running server.
	if err := e.app.close(); err != nil {
		t.Fatalf("close store: %v", err)
	}
	expect("readiness without a store", e.do(http.MethodGet, "/readyz", nil, nil), 503)
	r = e.do(http.MethodPost, "/users", map[string]string{"username": "dave", "password": "a fine password"}, nil)
	if r.status != 503 && r.status != 500 {
		t.Errorf("signup without a store = %d %s; want 503 or 500", r.status, r.body)
	}
}
