package main

import (
	"bufio"
	"context"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/adapter/rest"
	"github.com/gatehouse-auth/gatehouse/domain"
	"github.com/gatehouse-auth/gatehouse/internal/testkit"
)

// newMetricsEnv is newTestEnv with metrics wired exactly as serve wires them.
// It does not close the store on its own: the test may close it early.
func newMetricsEnv(t *testing.T, overrides map[string]string) *testEnv {
	t.Helper()
	cfg := testConfig(t, overrides)
	logs := &testkit.LogBuffer{}
	a, err := build(context.Background(), cfg, logs, buildOptions{hash: testParams})
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	if err := a.revoked.Sync(context.Background()); err != nil {
		t.Fatalf("initial revocation sync: %v", err)
	}
	deps := a.httpDeps()
	opts := rest.Options{Issuer: cfg.Issuer}
	instrument(a, &opts)
	srv := httptest.NewServer(rest.New(deps, opts, a.log))
	t.Cleanup(srv.Close)
	return &testEnv{t: t, app: a, srv: srv, log: logs}
}

// sample returns the value of series (name and labels as exposed) in a
// Prometheus text scrape, and whether it is there.
func sample(body, series string) (float64, bool) {
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), series+" "); ok {
			v, err := strconv.ParseFloat(rest, 64)
			return v, err == nil
		}
	}
	return 0, false
}

func TestMetricsEndToEnd(t *testing.T) {
	t.Parallel()
	e := newMetricsEnv(t, nil)
	ctx := context.Background()
	var secrets []string // nothing in here may show up in a scrape

	// Password grant on both routes; a wrong password; a throttled user.
	e.signUp("alice", "correct horse battery")
	secrets = append(secrets, "correct horse battery")
	first := e.login("alice", "correct horse battery")
	r := e.form("/oauth/token", "grant_type=password&username=alice&password="+url.QueryEscape("correct horse battery"), nil)
	if r.status != http.StatusOK {
		t.Fatalf("password grant = %d %s", r.status, r.body)
	}
	if r := e.do(http.MethodPost, "/get_token", map[string]string{"username": "alice", "password": "wrong password!"}, nil); r.status != http.StatusUnauthorized {
		t.Fatalf("wrong password = %d %s; want 401", r.status, r.body)
	}
	for range 5 {
		e.do(http.MethodPost, "/get_token", map[string]string{"username": "mallory", "password": "guess guess"}, nil)
	}
	if r := e.do(http.MethodPost, "/get_token", map[string]string{"username": "mallory", "password": "guess guess"}, nil); r.status != http.StatusTooManyRequests {
		t.Fatalf("sixth failure = %d %s; want 429", r.status, r.body)
	}

	// Refresh twice, then present the first refresh token again: reuse.
	refresh := func(tok any) response {
		return e.form("/oauth/token", "grant_type=refresh_token&refresh_token="+url.QueryEscape(tok.(string)), nil)
	}
	r1 := refresh(first["refresh_token"])
	if r1.status != http.StatusOK {
		t.Fatalf("refresh = %d %s", r1.status, r1.body)
	}
	second := r1.json(t)
	if r := refresh(second["refresh_token"]); r.status != http.StatusOK {
		t.Fatalf("second refresh = %d %s", r.status, r.body)
	}
	if r := refresh(first["refresh_token"]); r.status != http.StatusBadRequest {
		t.Fatalf("reused refresh token = %d %s; want 400", r.status, r.body)
	}
	secrets = append(secrets, first["refresh_token"].(string), second["refresh_token"].(string),
		first["access_token"].(string), second["access_token"].(string))

	// Client credentials.
	client, secret, err := e.app.clients.Create(ctx, "billing", nil)
	if err != nil {
		t.Fatalf("create client: %v", err)
	}
	secrets = append(secrets, secret)
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte(client.ID+":"+secret))
	cc := e.form("/oauth/token", "grant_type=client_credentials", map[string]string{"Authorization": basic})
	if cc.status != http.StatusOK {
		t.Fatalf("client_credentials = %d %s", cc.status, cc.body)
	}
	secrets = append(secrets, cc.json(t)["access_token"].(string))

	// Verification: good, missing, invalid, revoked (the reuse killed the
	// session), expired.
	fresh := e.login("alice", "correct horse battery")["access_token"]
	secrets = append(secrets, fresh.(string))
	if r := e.do(http.MethodGet, "/protected_resource", nil, bearerHeader(fresh)); r.status != http.StatusOK {
		t.Fatalf("protected with a good token = %d %s", r.status, r.body)
	}
	now := time.Now()
	expired := e.issue(t, domain.Claims{Subject: "u1", Username: "alice", IssuedAt: now.Add(-2 * time.Hour), ExpiresAt: now.Add(-time.Hour)})
	secrets = append(secrets, expired)
	for _, h := range []map[string]string{nil, {"Authorization": "Bearer not.a.token"}, bearerHeader(second["access_token"]), bearerHeader(expired)} {
		if r := e.do(http.MethodGet, "/protected_resource", nil, h); r.status != http.StatusUnauthorized {
			t.Fatalf("protected with %v = %d %s; want 401", h, r.status, r.body)
		}
	}

	// A store failure: close the database under the running server.
	if err := e.app.close(); err != nil {
		t.Fatalf("close store: %v", err)
	}
	// An outage the store recognises is 503 unavailable, anything else 500.
	down := e.do(http.MethodPost, "/get_token", map[string]string{"username": "alice", "password": "correct horse battery"}, nil)
	outcome := map[int]string{http.StatusServiceUnavailable: "unavailable", http.StatusInternalServerError: "error"}[down.status]
	if outcome == "" {
		t.Fatalf("login with the store closed = %d %s; want 503 or 500", down.status, down.body)
	}

	scrape := e.do(http.MethodGet, "/metrics", nil, nil)
	if scrape.status != http.StatusOK {
		t.Fatalf("GET /metrics = %d %s", scrape.status, scrape.body)
	}
	body := string(scrape.body)
	atLeast := []struct {
		series string
		min    float64
	}{
		{`gatehouse_http_requests_total{route="/get_token",status="200"}`, 2},
		{`gatehouse_http_requests_total{route="/protected_resource",status="401"}`, 4},
		{`gatehouse_http_request_duration_seconds_count{route="/oauth/token",status="200"}`, 4},
		{`gatehouse_logins_total{outcome="success"}`, 3},
		{`gatehouse_logins_total{outcome="invalid_credentials"}`, 6},
		{`gatehouse_logins_total{outcome="throttled"}`, 1},
		{`gatehouse_logins_total{outcome="` + outcome + `"}`, 1},
		{`gatehouse_server_errors_total{route="/get_token",status="` + strconv.Itoa(down.status) + `"}`, 1},
		{`gatehouse_throttled_requests_total`, 1},
		{`gatehouse_tokens_issued_total{grant="password"}`, 3},
		{`gatehouse_tokens_issued_total{grant="refresh_token"}`, 2},
		{`gatehouse_tokens_issued_total{grant="client_credentials"}`, 1},
		{`gatehouse_refresh_token_reuse_total`, 1},
		{`gatehouse_token_verify_failures_total{reason="missing"}`, 1},
		{`gatehouse_token_verify_failures_total{reason="invalid"}`, 1},
		{`gatehouse_token_verify_failures_total{reason="revoked"}`, 1},
		{`gatehouse_token_verify_failures_total{reason="expired"}`, 1},
		{`gatehouse_revoked_sessions`, 1},
		{`gatehouse_token_cache_entries`, 1},
		{`gatehouse_password_hash_queue_depth`, 0},
		{`gatehouse_revocation_sync_lag_seconds`, 0},
		{`process_resident_memory_bytes`, 1},
	}
	for _, tt := range atLeast {
		if got, ok := sample(body, tt.series); !ok || got < tt.min {
			t.Errorf("%s = %v (present %v); want >= %v", tt.series, got, ok, tt.min)
		}
	}
	if lag, _ := sample(body, "gatehouse_revocation_sync_lag_seconds"); lag > 3600 {
		t.Errorf("revocation sync lag = %v s; want the time since the initial sync", lag)
	}
	secrets = append(secrets, client.ID)
	for _, s := range secrets {
		if strings.Contains(body, s) {
			t.Errorf("the scrape contains a secret, token or client id: %.12s…", s)
		}
	}
	for _, name := range []string{"alice", "mallory"} {
		if strings.Contains(body, name) {
			t.Errorf("the scrape contains the username %q", name)
		}
	}
}
