package metrics_test

import (
	"bufio"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/adapter/metrics"
)

// scrape fetches the exposition text through the real HTTP handler.
func scrape(t *testing.T, m *metrics.Metrics) string {
	t.Helper()
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL)
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics = %d, %v", resp.StatusCode, err)
	}
	return string(body)
}

// value returns the sample named series (name plus its label set, exactly as
// exposed) and whether it is present.
func value(body, series string) (float64, bool) {
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), series+" ")
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(rest, 64)
		return v, err == nil
	}
	return 0, false
}

func TestCountersAndGauges(t *testing.T) {
	t.Parallel()
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	m := metrics.New(metrics.Sources{
		HashQueueDepth:     func() int { return 7 },
		RevokedSessions:    func() int { return 3 },
		LastRevocationSync: func() time.Time { return now.Add(-1500 * time.Millisecond) },
		VerifyCacheLen:     func() int { return 42 },
		Now:                func() time.Time { return now },
	})
	m.Observe("/get_token", 200, 30*time.Millisecond)
	m.Observe("/get_token", 200, 10*time.Millisecond)
	m.Observe("/get_token", 429, time.Millisecond)
	m.Observe("/oauth/token", 500, time.Millisecond)
	m.Observe("/get_token", 503, time.Millisecond)
	m.Observe("", 404, time.Millisecond)
	m.LoginResult("invalid_credentials")
	m.TokenIssued("client_credentials")
	m.TokenIssued("client_credentials")
	m.RefreshReuse()
	m.VerifyFailed("expired")
	body := scrape(t, m)

	tests := []struct {
		series string
		want   float64
	}{
		{`gatehouse_http_requests_total{route="/get_token",status="200"}`, 2},
		{`gatehouse_http_requests_total{route="/get_token",status="429"}`, 1},
		{`gatehouse_http_requests_total{route="unmatched",status="404"}`, 1},
		{`gatehouse_http_request_duration_seconds_count{route="/get_token",status="200"}`, 2},
		{`gatehouse_http_request_duration_seconds_sum{route="/get_token",status="200"}`, 0.04},
		{`gatehouse_http_request_duration_seconds_bucket{route="/get_token",status="200",le="0.025"}`, 1},
		{`gatehouse_server_errors_total{route="/oauth/token",status="500"}`, 1},
		{`gatehouse_server_errors_total{route="/get_token",status="503"}`, 1},
		{`gatehouse_throttled_requests_total`, 1},
		{`gatehouse_logins_total{outcome="invalid_credentials"}`, 1},
		{`gatehouse_logins_total{outcome="success"}`, 0},
		{`gatehouse_tokens_issued_total{grant="client_credentials"}`, 2},
		{`gatehouse_tokens_issued_total{grant="password"}`, 0},
		{`gatehouse_refresh_token_reuse_total`, 1},
		{`gatehouse_token_verify_failures_total{reason="expired"}`, 1},
		{`gatehouse_token_verify_failures_total{reason="revoked"}`, 0},
		{`gatehouse_password_hash_queue_depth`, 7},
		{`gatehouse_revoked_sessions`, 3},
		{`gatehouse_revocation_sync_lag_seconds`, 1.5},
		{`gatehouse_token_cache_entries`, 42},
	}
	for _, tt := range tests {
		got, ok := value(body, tt.series)
		if !ok || math.Abs(got-tt.want) > 1e-9 {
			t.Errorf("%s = %v (present %v); want %v", tt.series, got, ok, tt.want)
		}
	}
	for _, s := range []string{"go_goroutines", "process_resident_memory_bytes"} {
		if !strings.Contains(body, "\n"+s+" ") {
			t.Errorf("scrape lacks the runtime series %s", s)
		}
	}
}

func TestOptionalGaugesAndFirstSync(t *testing.T) {
	t.Parallel()
	m := metrics.New(metrics.Sources{LastRevocationSync: func() time.Time { return time.Time{} }})
	body := scrape(t, m)
	if v, ok := value(body, "gatehouse_revocation_sync_lag_seconds"); !ok || !math.IsInf(v, 1) {
		t.Errorf("sync lag before the first sync = %v (present %v); want +Inf", v, ok)
	}
	for _, s := range []string{"gatehouse_password_hash_queue_depth", "gatehouse_token_cache_entries", "gatehouse_revoked_sessions"} {
		if strings.Contains(body, s) {
			t.Errorf("scrape has %s without a source", s)
		}
	}
}

// Each Metrics has its own registry: two in one process do not collide
// (MustRegister would panic on a shared one) and do not see each other.
func TestRegistriesAreSeparate(t *testing.T) {
	t.Parallel()
	a, b := metrics.New(metrics.Sources{}), metrics.New(metrics.Sources{})
	a.RefreshReuse()
	if v, _ := value(scrape(t, b), "gatehouse_refresh_token_reuse_total"); v != 0 {
		t.Errorf("second registry reuse count = %v; want 0", v)
	}
	if a.Registry() == b.Registry() {
		t.Error("two Metrics share a registry")
	}
}
