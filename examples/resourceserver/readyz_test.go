package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/testkit"
)

// TestReadyzFollowsTheFeed puts a switch between the example and a real
// Gatehouse that makes the revocation feed answer 500: past
// --revocation-max-staleness the example's /readyz answers 503, tokens are
// still checked against what the set holds (readiness drains the service;
// verification does not refuse everything), and /readyz recovers with the
// feed.
func TestReadyzFollowsTheFeed(t *testing.T) {
	t.Parallel()
	gh := newGatehouse(t)
	id, secret := gh.client(t, "resource-server")
	target, err := url.Parse(gh.url)
	if err != nil {
		t.Fatal(err)
	}
	var feedDown atomic.Bool
	proxy := httputil.NewSingleHostReverseProxy(target)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if feedDown.Load() && r.URL.Path == "/oauth/revocations" {
			http.Error(w, "feed down", http.StatusInternalServerError)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)

	cfg := gh.rsConfig(id, secret) // polls every 50 ms
	cfg.Gatehouse = front.URL
	cfg.MaxStale = 200 * time.Millisecond
	rs := startRS(t, cfg)
	gh.user(t, "alice")
	tok := gh.login(t, "alice")

	const (
		ready = `{"status":"ready"}`
		stale = `{"error":"unavailable","message":"Revocation data is stale"}`
	)
	waitReadyz := func(what string, status int, body string) {
		t.Helper()
		testkit.Await(t, 10*time.Second, func() error {
			if r := get(t, rs+"/readyz", ""); r.status != status || r.body != body {
				return fmt.Errorf("%s: GET /readyz = %d %s; want %d %s", what, r.status, r.body, status, body)
			}
			return nil
		})
	}

	waitReadyz("feed up", http.StatusOK, ready)
	wantStaleMetric(t, rs, "feed up", "0")
	feedDown.Store(true)
	waitReadyz("feed answering 500", http.StatusServiceUnavailable, stale)
	wantStaleMetric(t, rs, "feed answering 500", "1")
	wantReply(t, "GET /hello while stale", get(t, rs+"/hello", "Bearer "+tok), 200, "", "")
	feedDown.Store(false)
	waitReadyz("feed back", http.StatusOK, ready)
	wantStaleMetric(t, rs, "feed back", "0")
}

// wantStaleMetric fails t unless GET /metrics of the example at rs
// reports gatehouse_guard_revocation_stale as want, with the lag beside
// it.
func wantStaleMetric(t *testing.T, rs, what, want string) {
	t.Helper()
	r := get(t, rs+"/metrics", "")
	line := "\ngatehouse_guard_revocation_stale " + want + "\n"
	if r.status != http.StatusOK || !strings.Contains(r.body, line) || !strings.Contains(r.body, "\ngatehouse_guard_revocation_sync_lag_seconds ") {
		t.Fatalf("%s: GET /metrics = %d\n%s\nwant gatehouse_guard_revocation_stale %s and the sync lag", what, r.status, r.body, want)
	}
}

func TestParseConfigMaxStaleness(t *testing.T) {
	t.Parallel()
	env := map[string]string{"GATEHOUSE_CLIENT_ID": "c-1", "GATEHOUSE_CLIENT_SECRET": "s-1"}
	getenv := func(k string) string { return env[k] }
	cfg, err := parseConfig(nil, getenv)
	if err != nil || cfg.MaxStale != 30*time.Second {
		t.Fatalf("parseConfig() = %v, max staleness %v; want 30s by default", err, cfg.MaxStale)
	}
	cfg, err = parseConfig([]string{"--revocation-max-staleness", "1m"}, getenv)
	if err != nil || cfg.MaxStale != time.Minute {
		t.Fatalf("parseConfig(--revocation-max-staleness 1m) = %v, %v; want 1m", err, cfg.MaxStale)
	}
	cfg.Poll = 2 * time.Minute
	if _, err := newServer(cfg, nil); err == nil {
		t.Fatal("newServer(max staleness below the poll interval) error = nil; want an error")
	}
}
