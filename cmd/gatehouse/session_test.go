package main

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/adapter/rest"
	"github.com/gatehouse-auth/gatehouse/internal/testkit"
)

func TestLogoutScopes(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, nil)
	e.signUp("alice", "correct horse battery")
	login := func() string { return e.login("alice", "correct horse battery")["access_token"].(string) }
	ok := func(tok string) bool {
		return e.do(http.MethodGet, "/protected_resource", nil, bearerHeader(tok)).status == 200
	}

	a, b, c := login(), login(), login()
	if r := e.do(http.MethodPost, "/logout", nil, bearerHeader(a)); r.status != 204 {
		t.Fatalf("POST /logout = %d %s; want 204", r.status, r.body)
	}
	if ok(a) || !ok(b) || !ok(c) {
		t.Fatalf("after local logout: a=%v b=%v c=%v; want false true true", ok(a), ok(b), ok(c))
	}
	if r := e.do(http.MethodPost, "/logout?scope=others", nil, bearerHeader(b)); r.status != 204 {
		t.Fatalf("POST /logout?scope=others = %d %s", r.status, r.body)
	}
	if !ok(b) || ok(c) {
		t.Fatalf("after logout others: b=%v c=%v; want true false", ok(b), ok(c))
	}
	d := login()
	if r := e.do(http.MethodPost, "/logout?scope=global", nil, bearerHeader(d)); r.status != 204 {
		t.Fatalf("POST /logout?scope=global = %d %s", r.status, r.body)
	}
	if ok(b) || ok(d) {
		t.Fatalf("after global logout: b=%v d=%v; want false false", ok(b), ok(d))
	}
	if r := e.do(http.MethodPost, "/logout?scope=everything", nil, bearerHeader(login())); r.status != 400 {
		t.Errorf("POST /logout?scope=everything = %d; want 400", r.status)
	}
}

func TestChangePassword(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, nil)
	e.signUp("alice", "correct horse battery")
	mine := e.login("alice", "correct horse battery")["access_token"]
	other := e.login("alice", "correct horse battery")["access_token"]

	body := map[string]string{"current_password": "wrong wrong wrong", "new_password": "a brand new secret"}
	if r := e.do(http.MethodPost, "/me/password", body, bearerHeader(mine)); r.status != 401 {
		t.Fatalf("change with wrong current password = %d %s; want 401", r.status, r.body)
	}
	body["current_password"] = "correct horse battery"
	if r := e.do(http.MethodPost, "/me/password", body, bearerHeader(mine)); r.status != 204 {
		t.Fatalf("change password = %d %s; want 204", r.status, r.body)
	}
	if r := e.do(http.MethodGet, "/me", nil, bearerHeader(mine)); r.status != 200 {
		t.Errorf("caller's own session after password change = %d; want 200", r.status)
	}
	if r := e.do(http.MethodGet, "/me", nil, bearerHeader(other)); r.status != 401 {
		t.Errorf("other session after password change = %d; want 401", r.status)
	}
	e.login("alice", "a brand new secret")
}

// TestRevocationAcrossReplicas runs two servers on one SQLite file: a
// logout on one is refused by the other within the sync interval.
func TestRevocationAcrossReplicas(t *testing.T) {
	t.Parallel()
	e1 := newTestEnv(t, map[string]string{"GATEHOUSE_REVOCATION_SYNC": "100ms"})
	cfg := e1.app.cfg
	a2, err := build(context.Background(), cfg, &testkit.LogBuffer{}, buildOptions{hash: testParams})
	if err != nil {
		t.Fatalf("second replica: %v", err)
	}
	defer a2.close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go a2.revoked.Run(ctx, cfg.RevocationSync)
	srv2 := newServer(t, a2)

	e1.signUp("alice", "correct horse battery")
	tok := e1.login("alice", "correct horse battery")["access_token"]
	get := func() int {
		req, _ := http.NewRequest(http.MethodGet, srv2+"/protected_resource", nil)
		req.Header.Set("Authorization", "Bearer "+tok.(string))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if s := get(); s != 200 {
		t.Fatalf("token from replica 1 on replica 2 = %d; want 200", s)
	}
	if r := e1.do(http.MethodPost, "/logout", nil, bearerHeader(tok)); r.status != 204 {
		t.Fatalf("logout = %d", r.status)
	}
	if r := e1.do(http.MethodGet, "/protected_resource", nil, bearerHeader(tok)); r.status != 401 {
		t.Fatalf("revoking replica still accepts the token: %d", r.status)
	}
	testkit.Eventually(t, "replica 2 refuses the revoked token (sync interval 100 ms)", 5*time.Second, func() bool { return get() == 401 })
}

func newServer(t *testing.T, a *app) string {
	t.Helper()
	srv := httptestServer(rest.New(a.httpDeps(), rest.Options{Issuer: a.cfg.Issuer}, a.log))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestRevocationFeed(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, nil)
	c, secret, err := e.app.clients.Create(context.Background(), "resource-server", nil)
	if err != nil {
		t.Fatal(err)
	}
	auth := map[string]string{"Authorization": basic(c.ID, secret)}
	e.signUp("alice", "correct horse battery")
	tok := e.login("alice", "correct horse battery")["access_token"].(string)
	if r := e.do(http.MethodGet, "/oauth/revocations", nil, nil); r.status != 401 {
		t.Fatalf("feed without client credentials = %d; want 401", r.status)
	}
	r := e.do(http.MethodGet, "/oauth/revocations", nil, auth)
	if r.status != 200 || r.json(t)["next_cursor"] != "0" {
		t.Fatalf("empty feed = %d %s; want 200 with cursor 0", r.status, r.body)
	}
	if r := e.do(http.MethodPost, "/logout", nil, bearerHeader(tok)); r.status != 204 {
		t.Fatal("logout failed")
	}
	r = e.do(http.MethodGet, "/oauth/revocations?since=0", nil, auth)
	var feed struct {
		Revocations []struct {
			SID string `json:"sid"`
			Sub string `json:"sub"`
		} `json:"revocations"`
		NextCursor string `json:"next_cursor"`
	}
	if err := json.Unmarshal(r.body, &feed); err != nil || len(feed.Revocations) != 1 {
		t.Fatalf("feed after logout = %s; want one entry", r.body)
	}
	if !strings.Contains(decodePayload(t, tok), feed.Revocations[0].SID) {
		t.Errorf("feed sid %s is not the token's session", feed.Revocations[0].SID)
	}
	r = e.do(http.MethodGet, "/oauth/revocations?since="+feed.NextCursor, nil, auth)
	if err := json.Unmarshal(r.body, &feed); err != nil || len(feed.Revocations) != 0 {
		t.Errorf("feed since the last cursor = %s; want no entries", r.body)
	}
	if r := e.do(http.MethodGet, "/oauth/revocations?since=abc", nil, auth); r.status != 400 {
		t.Errorf("bad cursor = %d; want 400", r.status)
	}
}

// TestChangePasswordIsThrottled: a stolen access token must not allow
// unlimited guesses of the current password.
func TestChangePasswordIsThrottled(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, nil)
	e.signUp("alice", "correct horse battery")
	tok := bearerHeader(e.login("alice", "correct horse battery")["access_token"])
	body := map[string]string{"current_password": "guess guess guess", "new_password": "a brand new secret"}
	for i := range 5 {
		if r := e.do(http.MethodPost, "/me/password", body, tok); r.status != 401 {
			t.Fatalf("guess %d = %d %s; want 401", i+1, r.status, r.body)
		}
	}
	body["current_password"] = "correct horse battery"
	r := e.do(http.MethodPost, "/me/password", body, tok)
	if r.status != 429 || r.header.Get("Retry-After") == "" {
		t.Fatalf("sixth attempt (right password) = %d %s; want 429 with Retry-After", r.status, r.body)
	}
}
