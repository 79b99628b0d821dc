package guard_test

import (
	"context"
	"math"
	"net/http"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatehouse-auth/gatehouse/adapter/guard"
	"github.com/gatehouse-auth/gatehouse/internal/testkit"
)

// gathered reads the Poller's gauges from reg: name to value, and fails
// the test on a gathering error or a metric that is not a gauge.
func gathered(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatalf("Gather() error = %v", err)
	}
	out := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			if m.GetGauge() == nil {
				t.Fatalf("%s is not a gauge", f.GetName())
			}
			out[f.GetName()] = m.GetGauge().GetValue()
		}
	}
	return out
}

// TestPollerMetricsFollowTheFeed registers a Poller in a registry and
// drives it with a fixed clock against a feed that goes down: the stale
// gauge is 1 before the first good poll, 0 after it, stays 0 while the
// failures are within the maximum staleness, turns 1 just past it, and 0
// again once the feed is back; the lag and the size follow.
func TestPollerMetricsFollowTheFeed(t *testing.T) {
	t.Parallel()
	const maxStale = 10 * time.Second
	ctx := context.Background()
	feed, url := newFakeFeed(t)
	feed.add("s-1", time.Now().Add(time.Hour))
	feed.add("s-2", time.Now().Add(time.Hour))
	clk := testkit.NewClock(time.Now())
	p, err := guard.NewPoller(url, feedClient, feedSecret, nil, time.Second, maxStale, clk.Now, nil)
	if err != nil {
		t.Fatalf("NewPoller() error = %v", err)
	}
	reg := prometheus.NewRegistry()
	if err := reg.Register(p); err != nil {
		t.Fatalf("Register(poller) error = %v", err)
	}
	want := func(step string, stale float64, lag time.Duration, revoked float64) {
		t.Helper()
		got := gathered(t, reg)
		wantLag := lag.Seconds()
		if lag < 0 {
			wantLag = math.Inf(1)
		}
		if got[guard.MetricRevocationStale] != stale || got[guard.MetricRevocationSyncLag] != wantLag || got[guard.MetricRevokedSessions] != revoked || len(got) != 3 {
			t.Fatalf("%s: metrics = %v; want %s %v, %s %v, %s %v", step, got,
				guard.MetricRevocationStale, stale, guard.MetricRevocationSyncLag, wantLag, guard.MetricRevokedSessions, revoked)
		}
	}

	want("before the first poll", 1, -1, 0)
	if err := p.Poll(ctx); err != nil {
		t.Fatalf("Poll() error = %v", err)
	}
	want("after a good poll", 0, 0, 2)

	feed.setStatus(http.StatusInternalServerError)
	clk.Advance(maxStale)
	if err := p.Poll(ctx); err == nil {
		t.Fatal("Poll() against a feed answering 500 = nil; want an error")
	}
	want("failing, at the maximum staleness", 0, maxStale, 2)
	clk.Advance(time.Second)
	if err := p.Poll(ctx); err == nil {
		t.Fatal("Poll() against a feed answering 500 = nil; want an error")
	}
	want("failing, past the maximum staleness", 1, maxStale+time.Second, 2)

	feed.setStatus(0)
	if err := p.Poll(ctx); err != nil {
		t.Fatalf("Poll() after the outage error = %v", err)
	}
	want("after the feed recovered", 0, 0, 2)
}
