package usecase

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/domain"
	"github.com/gatehouse-auth/gatehouse/internal/testkit"
)

// hookOutbox is an Outbox of a map that keeps claims as the port says.
type hookOutbox struct {
	mu       sync.Mutex
	rows     map[string]*hookRow
	results  []domain.DeliveryResult
	claims   []domain.DeliveryClaim
	finishes atomic.Int64
}

type hookRow struct {
	job        domain.DeliveryJob // Delivery is the row's current state
	claim      string
	claimUntil time.Time
}

func newHookOutbox() *hookOutbox { return &hookOutbox{rows: map[string]*hookRow{}} }

// add puts a pending delivery of an event at eventTime, due at once.
func (o *hookOutbox) add(id string, eventTime time.Time) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.rows[id] = &hookRow{job: domain.DeliveryJob{
		Delivery: domain.Delivery{ID: id, WebhookID: "hook-" + id, EventID: "ev-" + id, EventTime: eventTime,
			Status: domain.DeliveryPending, NextAttemptAt: eventTime},
		URL:    "https://receiver.example/" + id + "/pathcredential",
		Secret: "whsec_c2VjcmV0LWtleS1vZi10aGUtd2ViaG9vay0xMjM0NTY=",
		Event:  domain.Event{ID: "ev-" + id, Time: eventTime, Type: domain.EventLoginSucceeded},
	}}
}

func (o *hookOutbox) row(id string) domain.Delivery {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.rows[id].job.Delivery
}

func (o *hookOutbox) ClaimDeliveries(_ context.Context, c domain.DeliveryClaim) ([]domain.DeliveryJob, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.claims = append(o.claims, c)
	var due []*hookRow
	for _, r := range o.rows {
		d := r.job.Delivery
		if d.Status == domain.DeliveryPending && !d.NextAttemptAt.After(c.Now) && (r.claim == "" || !c.Now.Before(r.claimUntil)) {
			due = append(due, r)
		}
	}
	slices.SortFunc(due, func(a, b *hookRow) int {
		return a.job.Delivery.NextAttemptAt.Compare(b.job.Delivery.NextAttemptAt)
	})
	var jobs []domain.DeliveryJob
	for _, r := range due[:min(len(due), c.Limit)] {
		r.claim, r.claimUntil = c.Token, c.Now.Add(c.Lease)
		j := r.job
		j.Claim = c.Token
		jobs = append(jobs, j)
	}
	return jobs, nil
}

func (o *hookOutbox) FinishDelivery(_ context.Context, res domain.DeliveryResult) error {
	o.finishes.Add(1)
	o.mu.Lock()
	defer o.mu.Unlock()
	r, ok := o.rows[res.DeliveryID]
	if !ok {
		return domain.ErrNotFound
	}
	if r.claim != res.Claim {
		return domain.ErrConflict
	}
	o.results = append(o.results, res)
	d := &r.job.Delivery
	d.Attempts++
	d.Status, d.LastStatusCode, d.LastError, d.NextAttemptAt, d.UpdatedAt = res.Status, res.StatusCode, res.Error, res.NextAttemptAt, res.At
	r.claim, r.claimUntil = "", time.Time{}
	return nil
}

func (o *hookOutbox) OutboxStats(context.Context) (domain.OutboxStats, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	var s domain.OutboxStats
	for _, r := range o.rows {
		if d := r.job.Delivery; d.Status == domain.DeliveryPending {
			s.Pending++
			if s.OldestPending.IsZero() || d.EventTime.Before(s.OldestPending) {
				s.OldestPending = d.EventTime
			}
		}
	}
	return s, nil
}

// hookSender answers each Send with reply.
type hookSender struct {
	calls atomic.Int64
	reply func(job domain.DeliveryJob, call int) (int, error)
}

func (s *hookSender) Send(_ context.Context, job domain.DeliveryJob) (int, error) {
	return s.reply(job, int(s.calls.Add(1)))
}

var hookT0 = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// hookDispatcher returns a Dispatcher over a fresh outbox with a clock at
// hookT0, a debug log and recorded metrics.
func hookDispatcher(reply func(domain.DeliveryJob, int) (int, error)) (*Dispatcher, *hookOutbox, *testkit.Clock, *recorder, *testkit.LogBuffer) {
	out, clock, metrics, logs := newHookOutbox(), testkit.NewClock(hookT0), newRecorder(), &testkit.LogBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	d := NewDispatcher(out, &hookSender{reply: reply}, nil, clock.Now, log, metrics, Traced)
	return d, out, clock, metrics, logs
}

func TestDispatcherRetrySchedule(t *testing.T) {
	t.Parallel()
	d, out, clock, metrics, _ := hookDispatcher(func(domain.DeliveryJob, int) (int, error) { return 503, nil })
	out.add("a", hookT0)

	wantDelays := []time.Duration{5 * time.Second, 10 * time.Second, 20 * time.Second, 40 * time.Second, 80 * time.Second}
	for i, want := range wantDelays {
		if n, err := d.RunOnce(t.Context()); n != 1 || err != nil {
			t.Fatalf("attempt %d: RunOnce = %d, %v; want 1, nil", i+1, n, err)
		}
		got := out.row("a")
		if got.Status != domain.DeliveryPending || got.Attempts != i+1 || got.LastStatusCode != 503 || got.LastError == "" {
			t.Fatalf("after attempt %d: %+v; want pending, %d attempts, status 503 and an error", i+1, got, i+1)
		}
		if delay := got.NextAttemptAt.Sub(clock.Now()); delay != want {
			t.Errorf("after attempt %d: next attempt in %s; want %s", i+1, delay, want)
		}
		// Not due before its time.
		clock.Set(got.NextAttemptAt.Add(-time.Millisecond))
		if n, err := d.RunOnce(t.Context()); n != 0 || err != nil {
			t.Fatalf("RunOnce before the next attempt = %d, %v; want 0, nil", n, err)
		}
		clock.Set(got.NextAttemptAt)
	}
	if got := metrics.count("delivery:" + WebhookRetry); got != len(wantDelays) {
		t.Errorf("retry outcomes = %d; want %d", got, len(wantDelays))
	}
}

func TestDispatcherGivesUpAfterRetryWindow(t *testing.T) {
	t.Parallel()
	d, out, clock, metrics, logs := hookDispatcher(func(domain.DeliveryJob, int) (int, error) {
		return 0, errors.New("dial tcp 203.0.113.7:443: connect: connection refused")
	})
	out.add("a", hookT0)
	attempts := 0
	for out.row("a").Status == domain.DeliveryPending {
		if attempts++; attempts > 40 {
			t.Fatal("still pending after 40 attempts")
		}
		if n, err := d.RunOnce(t.Context()); n != 1 || err != nil {
			t.Fatalf("attempt %d: RunOnce = %d, %v; want 1, nil", attempts, n, err)
		}
		if next := out.row("a").NextAttemptAt; !next.IsZero() {
			if next.After(hookT0.Add(domain.WebhookRetryFor)) {
				t.Fatalf("attempt %d scheduled a retry at %v, past the 24 h window", attempts, next)
			}
			clock.Set(next)
		}
	}
	// Attempts at 0 s, 5 s, 15 s, ..., 5*(2^14-1) s = 22.75 h; the next
	// would come 22.75 h later, past the window.
	got := out.row("a")
	if got.Status != domain.DeliveryFailed || got.Attempts != 15 || got.LastError == "" {
		t.Errorf("final delivery %+v; want failed after 15 attempts, with the last error", got)
	}
	if metrics.count("delivery:"+WebhookFailed) != 1 || metrics.count("delivery:"+WebhookRetry) != 14 {
		t.Errorf("outcomes %v; want 14 retry and 1 failed", metrics)
	}
	if !strings.Contains(logs.String(), "given up") {
		t.Errorf("no log line says the delivery was given up:\n%s", logs)
	}
	if n, _ := d.RunOnce(t.Context()); n != 0 {
		t.Errorf("a failed delivery was claimed again")
	}
}

func TestDispatcherRetryWindowEdge(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		attempts int           // before this one
		at       time.Duration // after the event
		want     domain.DeliveryStatus
	}{
		{"first attempt a day late", 0, 24 * time.Hour, domain.DeliveryFailed},
		{"retry lands exactly at 24 h", 0, 24*time.Hour - 5*time.Second, domain.DeliveryPending},
		{"retry lands just past 24 h", 1, 24*time.Hour - 9*time.Second, domain.DeliveryFailed},
		{"long delay still inside", 10, time.Hour, domain.DeliveryPending},
		{"huge attempt count", 1000, time.Minute, domain.DeliveryFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d, out, clock, _, _ := hookDispatcher(func(domain.DeliveryJob, int) (int, error) { return 500, nil })
			out.add("a", hookT0)
			out.rows["a"].job.Delivery.Attempts = tt.attempts
			clock.Set(hookT0.Add(tt.at))
			if _, err := d.RunOnce(t.Context()); err != nil {
				t.Fatalf("RunOnce: %v", err)
			}
			if got := out.row("a"); got.Status != tt.want {
				t.Errorf("status %q (next %v); want %q", got.Status, got.NextAttemptAt, tt.want)
			}
		})
	}
}

func TestDispatcherReceiverRecovers(t *testing.T) {
	t.Parallel()
	d, out, clock, metrics, _ := hookDispatcher(func(_ domain.DeliveryJob, call int) (int, error) {
		switch call {
		case 1:
			return 0, errors.New("no answer within 10s")
		case 2:
			return 302, nil // a redirect is not a delivery
		case 3:
			return 500, nil
		}
		return 204, nil
	})
	out.add("a", hookT0)
	for i := 0; out.row("a").Status == domain.DeliveryPending; i++ {
		if i > 10 {
			t.Fatal("never delivered")
		}
		if _, err := d.RunOnce(t.Context()); err != nil {
			t.Fatalf("RunOnce: %v", err)
		}
		clock.Set(out.row("a").NextAttemptAt)
	}
	got := out.row("a")
	if got.Status != domain.DeliveryDelivered || got.Attempts != 4 || got.LastStatusCode != 204 || got.LastError != "" {
		t.Errorf("delivery %+v; want delivered on attempt 4 with 204 and no error", got)
	}
	if metrics.count("delivery:"+WebhookRetry) != 3 || metrics.count("delivery:"+WebhookDelivered) != 1 {
		t.Errorf("outcomes %v; want 3 retry and 1 delivered", metrics)
	}
	if codes := []int{out.results[0].StatusCode, out.results[1].StatusCode, out.results[2].StatusCode}; !slices.Equal(codes, []int{0, 302, 500}) {
		t.Errorf("recorded codes %v; want [0 302 500]", codes)
	}
}

func TestDispatcherLostClaim(t *testing.T) {
	t.Parallel()
	var (
		out   *hookOutbox
		clock *testkit.Clock
	)
	d, out, clock, metrics, logs := hookDispatcher(func(domain.DeliveryJob, int) (int, error) {
		// The attempt outlives the lease and another replica claims it.
		later := clock.Now().Add(2 * time.Minute)
		clock.Set(later)
		if jobs, _ := out.ClaimDeliveries(context.Background(), domain.DeliveryClaim{Now: later, Lease: time.Minute, Limit: 10, Token: "other"}); len(jobs) != 1 {
			t.Error("the other replica could not claim the lapsed delivery")
		}
		return 200, nil
	})
	out.add("a", hookT0)
	if n, err := d.RunOnce(t.Context()); n != 1 || err != nil {
		t.Fatalf("RunOnce = %d, %v; want 1, nil (a lost claim is no error)", n, err)
	}
	if got := out.row("a"); got.Attempts != 0 || got.Status != domain.DeliveryPending {
		t.Errorf("delivery %+v; want untouched by the loser", got)
	}
	if metrics.count("delivery:"+WebhookLostClaim) != 1 || metrics.count("delivery:"+WebhookDelivered) != 0 {
		t.Errorf("outcomes %v; want lost_claim only", metrics)
	}
	if s := logs.String(); !strings.Contains(s, `"level":"DEBUG"`) || strings.Contains(s, `"level":"WARN"`) || strings.Contains(s, `"level":"ERROR"`) {
		t.Errorf("logs %s; want the lost claim at debug, nothing louder", s)
	}
}

func TestDispatcherClaims(t *testing.T) {
	t.Parallel()
	d, out, _, metrics, _ := hookDispatcher(func(domain.DeliveryJob, int) (int, error) { return 200, nil })
	out.add("a", hookT0)
	d.RunOnce(t.Context())
	out.add("b", hookT0)
	d.RunOnce(t.Context())
	d.RunOnce(t.Context()) // nothing pending: no claim (a write) at all
	if len(out.claims) != 2 {
		t.Fatalf("%d claims; want 2 (one per round with a pending delivery)", len(out.claims))
	}
	c := out.claims[0]
	if c.Lease <= domain.WebhookTimeout*2 || c.Limit < 1 || c.Token == "" || !c.Now.Equal(hookT0) {
		t.Errorf("claim %+v; want a lease well over the timeout, a limit, a token and the clock's time", c)
	}
	if out.claims[1].Token == c.Token {
		t.Error("two rounds used the same claim token")
	}
	if stats := metrics.outboxStats(); len(stats) != 3 || stats[1].Pending != 0 || stats[2].Pending != 0 {
		t.Errorf("stats reported %+v; want one per round, none pending at last", stats)
	}
}

func TestDispatcherConcurrencyBound(t *testing.T) {
	t.Parallel()
	var inflight, most atomic.Int64
	release := make(chan struct{})
	d, out, _, metrics, _ := hookDispatcher(func(domain.DeliveryJob, int) (int, error) {
		n := inflight.Add(1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		<-release
		inflight.Add(-1)
		return 200, nil
	})
	for i := range dispatchBatch {
		out.add(fmt.Sprintf("d%02d", i), hookT0)
	}
	done := make(chan int)
	go func() {
		n, _ := d.RunOnce(context.Background())
		done <- n
	}()
	deadline := time.Now().Add(5 * time.Second)
	for inflight.Load() < dispatchWorkers && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond) // room for more to start, were the bound broken
	close(release)
	if n := <-done; n != dispatchBatch {
		t.Fatalf("RunOnce = %d; want %d", n, dispatchBatch)
	}
	if m := most.Load(); m != dispatchWorkers {
		t.Errorf("at most %d sends at once; want exactly %d", m, dispatchWorkers)
	}
	if got := metrics.count("delivery:" + WebhookDelivered); got != dispatchBatch {
		t.Errorf("%d delivered; want %d", got, dispatchBatch)
	}
}

func TestDispatcherJobDrainsFullBatches(t *testing.T) {
	t.Parallel()
	d, out, _, metrics, _ := hookDispatcher(func(domain.DeliveryJob, int) (int, error) { return 200, nil })
	total := 2*dispatchBatch + 3
	for i := range total {
		out.add(fmt.Sprintf("d%02d", i), hookT0)
	}
	jobs := d.Jobs(time.Second)
	if len(jobs) != 1 || jobs[0].Every != time.Second || jobs[0].Name == "" {
		t.Fatalf("Jobs(1s) = %+v; want one named job every 1s", jobs)
	}
	jobs[0].Run(t.Context())
	if got := metrics.count("delivery:" + WebhookDelivered); got != total {
		t.Errorf("one run delivered %d; want all %d", got, total)
	}
	if len(out.claims) != 3 {
		t.Errorf("%d claim rounds; want 3 (two full, one short)", len(out.claims))
	}
}

func TestDispatcherShutdownLeavesClaim(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	d, out, _, metrics, _ := hookDispatcher(func(domain.DeliveryJob, int) (int, error) {
		cancel()
		return 0, context.Canceled
	})
	out.add("a", hookT0)
	d.RunOnce(ctx)
	if got := out.row("a"); got.Attempts != 0 || got.Status != domain.DeliveryPending {
		t.Errorf("delivery %+v; want no attempt recorded for an interrupted send", got)
	}
	if metrics.String() != "" {
		t.Errorf("outcomes %v; want none", metrics)
	}
}

func TestDispatcherDeliveredDespiteShutdown(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	d, out, _, _, _ := hookDispatcher(func(domain.DeliveryJob, int) (int, error) {
		cancel()
		return 200, nil
	})
	out.add("a", hookT0)
	d.RunOnce(ctx)
	if got := out.row("a"); got.Status != domain.DeliveryDelivered {
		t.Errorf("delivery %+v; want delivered recorded though shutdown began", got)
	}
}

func TestDispatcherLogsNoSecret(t *testing.T) {
	t.Parallel()
	var secret, url string
	d, out, clock, _, logs := hookDispatcher(func(job domain.DeliveryJob, call int) (int, error) {
		secret, url = job.Secret, job.URL
		if call < 3 {
			// A careless sender: its error repeats the secret and the URL.
			return 0, fmt.Errorf("post %s with key %s: boom", job.URL, job.Secret)
		}
		return 200, nil
	})
	out.add("a", hookT0)
	for range 3 {
		if _, err := d.RunOnce(t.Context()); err != nil {
			t.Fatalf("RunOnce: %v", err)
		}
		clock.Set(out.row("a").NextAttemptAt)
	}
	s := logs.String()
	key := strings.TrimPrefix(secret, domain.WebhookSecretPrefix)
	for _, leak := range []string{key, "pathcredential"} {
		if strings.Contains(s, leak) {
			t.Errorf("logs contain %q:\n%s", leak, s)
		}
	}
	for _, r := range out.results {
		if strings.Contains(r.Error, key) || strings.Contains(r.Error, url) {
			t.Errorf("recorded error %q carries the secret or the URL", r.Error)
		}
	}
	if !strings.Contains(s, "hook-a") || !strings.Contains(s, "ev-a") {
		t.Errorf("logs name neither the webhook nor the event:\n%s", s)
	}
	if strings.Contains(s, "signature") {
		t.Errorf("logs mention a signature:\n%s", s)
	}
}

func TestDispatcherStoreErrors(t *testing.T) {
	t.Parallel()
	boom := errors.New("database is down")
	d := NewDispatcher(hookFailingOutbox{err: boom}, &hookSender{reply: func(domain.DeliveryJob, int) (int, error) { return 200, nil }}, nil, time.Now, nil, nil, nil)
	if _, err := d.RunOnce(t.Context()); !errors.Is(err, boom) {
		t.Errorf("RunOnce with a failing claim = %v; want it wrapped", err)
	}
}

// hookFailingOutbox fails every call.
type hookFailingOutbox struct{ err error }

func (o hookFailingOutbox) ClaimDeliveries(context.Context, domain.DeliveryClaim) ([]domain.DeliveryJob, error) {
	return nil, o.err
}
func (o hookFailingOutbox) FinishDelivery(context.Context, domain.DeliveryResult) error { return o.err }
func (o hookFailingOutbox) OutboxStats(context.Context) (domain.OutboxStats, error) {
	return domain.OutboxStats{}, o.err
}

func TestWebhookRetryDelay(t *testing.T) {
	t.Parallel()
	for attempts, want := range map[int]time.Duration{1: 5 * time.Second, 2: 10 * time.Second, 3: 20 * time.Second, 4: 40 * time.Second, 11: 5120 * time.Second} {
		if got := webhookRetryDelay(attempts); got != want {
			t.Errorf("webhookRetryDelay(%d) = %s; want %s", attempts, got, want)
		}
	}
	if got := webhookRetryDelay(1 << 30); got <= domain.WebhookRetryFor || got > 4*domain.WebhookRetryFor {
		t.Errorf("webhookRetryDelay(huge) = %s; want just past the retry window, no overflow", got)
	}
}
