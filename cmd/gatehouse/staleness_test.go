package main

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/infrastructure/database"
	"github.com/gatehouse-auth/gatehouse/internal/testkit"
)

// renameTable renames a table of the SQLite database at dsn through a
// connection of its own, under the running server.
func renameTable(t *testing.T, dsn, from, to string) {
	t.Helper()
	db, err := database.Open(context.Background(), dsn, database.Options{})
	if err != nil {
		t.Fatalf("open %s: %v", dsn, err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		t.Fatalf("database handle: %v", err)
	}
	defer sqlDB.Close()
	if err := db.Exec("ALTER TABLE " + from + " RENAME TO " + to).Error; err != nil {
		t.Fatalf("rename %s to %s: %v", from, to, err)
	}
}

// TestStaleRevocationsFailReadiness runs a real server (SQLite, metrics on,
// the sync loop serve starts) whose store stops answering revocation reads
// while everything else, Ping included, keeps working. Past the maximum
// staleness /readyz answers 503 with the standard error body, the
// revocation_stale gauge is 1 and one error line says so, however many
// syncs fail; once reads work again all three recover.
func TestStaleRevocationsFailReadiness(t *testing.T) {
	t.Parallel()
	e := newMetricsEnv(t, map[string]string{
		"GATEHOUSE_REVOCATION_SYNC":          "100ms",
		"GATEHOUSE_REVOCATION_MAX_STALENESS": "300ms",
	})
	t.Cleanup(func() {
		if err := e.app.close(); err != nil {
			t.Errorf("close store: %v", err)
		}
	})
	// Every answer below is also checked against api/openapi.yaml.
	client := e.srv.Client()
	client.Transport = newSpecChecker(t, client.Transport, t.Errorf)

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { e.app.revoked.Run(ctx, e.app.cfg.RevocationSync) })
	t.Cleanup(func() { cancel(); wg.Wait() }) // before the store closes

	gauge := func(series string) float64 {
		t.Helper()
		r := e.do(http.MethodGet, "/metrics", nil, nil)
		v, ok := sample(string(r.body), series)
		if r.status != http.StatusOK || !ok {
			t.Fatalf("GET /metrics = %d, %s present %v; want 200 with it", r.status, series, ok)
		}
		return v
	}
	readyz := func() response { return e.do(http.MethodGet, "/readyz", nil, nil) }

	// Eventually, not at once: a slow machine may let the set go stale
	// between syncs; it must recover by itself.
	testkit.Eventually(t, "/readyz answers 200 with a fresh set", 10*time.Second, func() bool { return readyz().status == http.StatusOK })
	testkit.Eventually(t, "gatehouse_revocation_stale is 0 with a fresh set", 10*time.Second, func() bool { return gauge("gatehouse_revocation_stale") == 0 })

	renameTable(t, e.app.cfg.DB, "revocations", "revocations_away")
	testkit.Eventually(t, "/readyz answers 503", 10*time.Second, func() bool { return readyz().status == http.StatusServiceUnavailable })
	r := readyz()
	if b := r.json(t); r.status != http.StatusServiceUnavailable || b["error"] != "unavailable" || b["message"] != "Revocation data is stale" {
		t.Errorf("GET /readyz with a stale set = %d %s; want 503 unavailable, Revocation data is stale", r.status, r.body)
	}
	if r := e.do(http.MethodGet, "/healthz", nil, nil); r.status != http.StatusOK {
		t.Errorf("GET /healthz with a stale set = %d; want 200 (the process is alive)", r.status)
	}
	if v := gauge("gatehouse_revocation_stale"); v != 1 {
		t.Errorf("gatehouse_revocation_stale with a stale set = %v; want 1", v)
	}
	// Let several more syncs fail (the lag grows by 100 ms per sync).
	testkit.Eventually(t, "the sync lag passes 1s", 10*time.Second, func() bool { return gauge("gatehouse_revocation_sync_lag_seconds") > 1 })
	// One error for the staleness, however many syncs failed; at most one
	// warning before it (none when the first failure was already past the
	// maximum staleness, as on a slow machine).
	logs := e.log.String()
	if n := strings.Count(logs, `"level":"ERROR","msg":"revocation sync failed and the revoked set is stale`); n != 1 {
		t.Errorf("log has the stale error %d times during the outage; want once. Log:\n%s", n, logs)
	}
	if n := strings.Count(logs, `"level":"WARN","msg":"revocation sync failed; retrying"`); n > 1 {
		t.Errorf("log has the failure warning %d times during the outage; want at most once. Log:\n%s", n, logs)
	}

	renameTable(t, e.app.cfg.DB, "revocations_away", "revocations")
	testkit.Eventually(t, "/readyz answers 200 again", 10*time.Second, func() bool { return readyz().status == http.StatusOK })
	if v := gauge("gatehouse_revocation_stale"); v != 0 {
		t.Errorf("gatehouse_revocation_stale after recovery = %v; want 0", v)
	}
	if n := strings.Count(e.log.String(), `"level":"INFO","msg":"revocation sync recovered"`); n != 1 {
		t.Errorf("log has the recovery %d times; want once. Log:\n%s", n, e.log.String())
	}
}
