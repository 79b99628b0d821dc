package guard_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/gatehouse-auth/gatehouse/adapter/guard"
	"github.com/gatehouse-auth/gatehouse/domain"
	"github.com/gatehouse-auth/gatehouse/internal/testkit"
)

// setStatus makes the fake feed answer every request with status (0: serve
// the feed).
func (f *fakeFeed) setStatus(status int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.status = status
}

func (f *fakeFeed) refusedCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.refused
}

// readyzApp serves the poller's Readyz at /readyz, on Echo's default error
// handler, as a resource server would.
func readyzApp(t *testing.T, p *guard.Poller) string {
	t.Helper()
	e := echo.New()
	e.GET("/readyz", p.Readyz)
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return srv.URL + "/readyz"
}

// TestRevocationPollerStaleness drives Poll with a fixed clock against a feed
// that starts answering 500: ready while the last good poll is at most the
// maximum staleness old, not ready after, ready again after a good poll.
// Readyz answers accordingly.
func TestRevocationPollerStaleness(t *testing.T) {
	t.Parallel()
	const maxStale = 10 * time.Second
	ctx := context.Background()
	feed, url := newFakeFeed(t)
	clk := testkit.NewClock(time.Now())
	p, err := guard.NewPoller(url, feedClient, feedSecret, nil, time.Second, maxStale, clk.Now, nil)
	if err != nil {
		t.Fatalf("NewRevocationPoller() error = %v", err)
	}
	readyz := readyzApp(t, p)
	const (
		readyBody = `{"status":"ready"}` + "\n"
		staleBody = `{"error":"unavailable","message":"Revocation data is stale"}` + "\n"
	)
	ready := func(step string, want bool) {
		t.Helper()
		err := p.Err()
		if (err == nil) != want || (err != nil && !errors.Is(err, domain.ErrUnavailable)) {
			t.Fatalf("%s: Err() = %v; want ready %v (and domain.ErrUnavailable when not)", step, err, want)
		}
		r := guardDo(t, readyz, http.MethodGet, "")
		wantStatus, wantBody := http.StatusOK, readyBody
		if !want {
			wantStatus, wantBody = http.StatusServiceUnavailable, staleBody
		}
		if r.status != wantStatus || r.body != wantBody {
			t.Fatalf("%s: GET /readyz = %d %q; want %d %q", step, r.status, r.body, wantStatus, wantBody)
		}
	}

	ready("before the first poll", false)
	if err := p.Poll(ctx); err != nil {
		t.Fatalf("Poll() error = %v", err)
	}
	ready("after a good poll", true)

	feed.setStatus(http.StatusInternalServerError)
	for _, step := range []time.Duration{time.Second, 4 * time.Second, 5 * time.Second} {
		clk.Advance(step)
		if err := p.Poll(ctx); err == nil {
			t.Fatal("Poll() against a feed answering 500 = nil; want an error")
		}
		ready("failing, within the maximum staleness", true)
	}
	clk.Advance(time.Nanosecond)
	ready("failing, just past the maximum staleness", false)

	feed.setStatus(0)
	if err := p.Poll(ctx); err != nil {
		t.Fatalf("Poll() after the outage error = %v", err)
	}
	ready("after the feed recovered", true)
}

// TestRevocationPollerRunGoesStale runs the poller against a feed that
// starts answering 500: it becomes not ready within a generous bound,
// logs the staleness once, and is ready again once the feed recovers.
func TestRevocationPollerRunGoesStale(t *testing.T) {
	t.Parallel()
	feed, url := newFakeFeed(t)
	logs := &testkit.LogBuffer{}
	p, err := guard.NewPoller(url, feedClient, feedSecret, nil,
		50*time.Millisecond, 200*time.Millisecond, nil, slog.New(slog.NewJSONHandler(logs, nil)))
	if err != nil {
		t.Fatalf("NewRevocationPoller() error = %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); p.Run(ctx) }()
	defer func() { cancel(); <-done }()

	testkit.Eventually(t, "the first poll succeeded", 10*time.Second, func() bool { return p.Err() == nil })
	feed.setStatus(http.StatusInternalServerError)
	testkit.Eventually(t, "the poller is not ready", 10*time.Second, func() bool { return p.Err() != nil })
	seen := feed.refusedCount()
	testkit.Eventually(t, "three more polls failed", 10*time.Second, func() bool { return feed.refusedCount() >= seen+3 })
	feed.setStatus(0)
	testkit.Eventually(t, "the poller is ready again", 10*time.Second, func() bool { return p.Err() == nil })
	testkit.Eventually(t, "the recovery is logged", 10*time.Second, func() bool { return strings.Contains(logs.String(), "recovered") })

	// The warning is at most once: none when the first failure is already
	// past the maximum staleness (a slow machine).
	out := logs.String()
	for _, want := range []string{`"level":"ERROR"`, "revoked set is stale", `"level":"INFO","msg":"revocation feed poll recovered"`} {
		if n := strings.Count(out, want); n != 1 {
			t.Errorf("log has %q %d times; want once. Log:\n%s", want, n, out)
		}
	}
	if n := strings.Count(out, `"level":"WARN"`); n > 1 {
		t.Errorf("log has %d warnings; want at most one. Log:\n%s", n, out)
	}
	if strings.Contains(out, feedSecret) {
		t.Errorf("log contains the client secret: %s", out)
	}
}

func TestNewRevocationPollerRefusesStalenessBelowInterval(t *testing.T) {
	t.Parallel()
	const url = "https://gatehouse.test/oauth/revocations"
	if _, err := guard.NewPoller(url, "id", "secret", nil, 5*time.Second, time.Second, nil, nil); err == nil {
		t.Error("NewRevocationPoller(every 5s, max staleness 1s) error = nil; want an error")
	}
	if _, err := guard.NewPoller(url, "id", "secret", nil, 5*time.Second, 5*time.Second, nil, nil); err != nil {
		t.Errorf("NewRevocationPoller(every 5s, max staleness 5s) error = %v; want nil", err)
	}
}

// TestRevocationPollerRunGivesUpOnAHangingFeed: with an HTTP client that
// has no timeout, a feed that never answers is given up on after the
// maximum staleness, so the poller still goes stale and says so.
func TestRevocationPollerRunGivesUpOnAHangingFeed(t *testing.T) {
	t.Parallel()
	feed := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}))
	t.Cleanup(feed.Close)
	logs := &testkit.LogBuffer{}
	p, err := guard.NewPoller(feed.URL+"/oauth/revocations", feedClient, feedSecret, &http.Client{},
		20*time.Millisecond, 100*time.Millisecond, nil, slog.New(slog.NewJSONHandler(logs, nil)))
	if err != nil {
		t.Fatalf("NewRevocationPoller() error = %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); p.Run(ctx) }()
	defer func() { cancel(); <-done }()
	testkit.Eventually(t, "the stale error is logged", 10*time.Second, func() bool { return strings.Contains(logs.String(), "revoked set is stale") })
	if p.Err() == nil {
		t.Error("Err() with a hanging feed = nil; want an error")
	}
}
