package main

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/gatehouse-auth/gatehouse/adapter/guard"
	"github.com/gatehouse-auth/gatehouse/internal/testkit"
)

// countingTransport counts the requests it carries.
type countingTransport struct {
	next http.RoundTripper
	n    atomic.Int64
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.next.RoundTrip(r)
}

// TestGuardAcceptsAPIKeys: a resource server with the guard and client
// credentials accepts keys, asks Gatehouse once per key per cache
// lifetime (on the guard's own clock), and refuses a deleted key once the
// cached answer's lifetime is over.
func TestGuardAcceptsAPIKeys(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, map[string]string{"GATEHOUSE_USER_SCOPES": "reports:read"})
	e.signUp("alice", "alice password 1")
	tok := e.login("alice", "alice password 1")["access_token"]
	k := e.newAPIKey(tok, map[string]any{"name": "ci", "scope": "reports:read"})
	key := k["key"].(string)
	c, secret, err := e.app.clients.Create(t.Context(), "reports service", nil)
	if err != nil {
		t.Fatal(err)
	}

	calls := &countingTransport{next: http.DefaultTransport}
	// The guard's cache runs on its own clock, so a slow machine cannot
	// expire an answer between two uses.
	const ttl = time.Minute
	clock := testkit.NewClock(time.Now())
	keys, err := guard.NewKeyIntrospector(e.srv.URL+"/oauth/introspect", c.ID, secret, "gth", &http.Client{Transport: calls, Timeout: 5 * time.Second}, ttl, clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	rs := echo.New()
	rs.GET("/reports", func(c echo.Context) error {
		return c.String(http.StatusOK, guard.Claims(c).Username)
	}, guard.New(guard.Config{Verifier: e.app.verify, Keys: keys}), guard.RequireScope("reports:read"))
	srv := httptest.NewServer(rs)
	t.Cleanup(srv.Close)

	get := func(h map[string]string) int {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/reports", nil)
		for k, v := range h {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, h := range []map[string]string{{"X-API-Key": key}, {"Authorization": "Bearer " + key}, {"Authorization": key}} {
		if got := get(h); got != 200 {
			t.Fatalf("GET /reports with the key %v = %d; want 200", h, got)
		}
	}
	if n := calls.n.Load(); n != 1 {
		t.Errorf("three uses of one key made %d introspection calls; want 1", n)
	}
	bad := mistyped(key)
	if got := get(map[string]string{"X-API-Key": bad}); got != 401 {
		t.Errorf("bad checksum = %d; want 401", got)
	}
	if n := calls.n.Load(); n != 1 {
		t.Errorf("a bad checksum was introspected (%d calls)", n)
	}

	if r := e.do(http.MethodDelete, "/me/api-keys/"+k["id"].(string), nil, bearerHeader(tok)); r.status != 204 {
		t.Fatalf("DELETE key = %d", r.status)
	}
	if got := get(map[string]string{"X-API-Key": key}); got != 200 {
		t.Errorf("deleted key within the cache lifetime = %d; want 200 (the cached answer)", got)
	}
	clock.Advance(ttl)
	if got := get(map[string]string{"X-API-Key": key}); got != 401 {
		t.Errorf("deleted key once the cache lifetime is over = %d; want 401", got)
	}
	if n := calls.n.Load(); n != 2 {
		t.Errorf("introspection calls = %d; want 2 (one per cache lifetime)", n)
	}
}
