package usecase

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/domain"
	"github.com/gatehouse-auth/gatehouse/internal/testkit"
)

// newTestEventLog returns an EventLog on a fake store and a test clock,
// reporting to a recorder and logging to a buffer.
func newTestEventLog() (*EventLog, *fakeEventStore, *testkit.Clock, *recorder, *testkit.LogBuffer) {
	st, clk, rec, buf := &fakeEventStore{}, newClock(), newRecorder(), &testkit.LogBuffer{}
	return NewEventLog(st, clk.Now, slog.New(slog.NewJSONHandler(buf, nil)), rec), st, clk, rec, buf
}

// loginFailed is a login.failed event at the clock's time.
func loginFailed(clk *testkit.Clock, name string) domain.Event {
	ev := newEvent(context.Background(), clk.Now(), domain.EventLoginFailed, "", domain.Actor{})
	ev.Details.Username = name
	return ev
}

// throttledAttempt is a throttled attempt of name from ip at the clock's
// time.
func throttledAttempt(clk *testkit.Clock, name, ip string) domain.Event {
	ev := newEvent(WithOrigin(context.Background(), Origin{IP: ip}), clk.Now(), domain.EventLoginThrottled, "", domain.Actor{})
	ev.Details.Username = name
	return ev
}

func TestEventLogWritesWithinASecond(t *testing.T) {
	t.Parallel()
	l, st, clk, rec, _ := newTestEventLog()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { l.Run(ctx); close(done) }()

	l.Record(loginFailed(clk, "alice"))
	start := time.Now()
	testkit.Eventually(t, "the event is written", 3*time.Second, func() bool { return len(st.all()) == 1 })
	if waited := time.Since(start); waited > 1500*time.Millisecond {
		t.Errorf("event written after %v; want within about 1 s", waited)
	}
	l.Record(loginFailed(clk, "bob"))
	l.Record(loginFailed(clk, "carol"))
	// The log counts a batch just after the store took it: wait for both.
	testkit.Eventually(t, "the next events are written and counted", 3*time.Second, func() bool {
		return len(st.all()) == 3 && rec.count("event:login.failed") >= 3
	})
	if n := rec.count("event:login.failed"); n != 3 {
		t.Errorf("EventsWritten(login.failed) = %d; want 3", n)
	}

	// Shutdown writes what is left, an open throttled summary included.
	l.Record(loginFailed(clk, "dave"))
	l.Throttled(throttledAttempt(clk, "erin", "192.0.2.1"), clk.Now().Add(time.Hour))
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
	all := st.all()
	if len(all) != 5 || all[3].Details.Username != "dave" || all[4].Type != domain.EventLoginThrottled {
		t.Errorf("events after shutdown = %+v; want dave's failure and erin's throttled attempt too", all)
	}
}

func TestEventLogFlushKeepsOrderAndBatches(t *testing.T) {
	t.Parallel()
	l, st, clk, _, _ := newTestEventLog()
	for i := range eventBatchMax + 10 {
		l.Record(loginFailed(clk, fmt.Sprint(i)))
	}
	testkit.WantErr(t, "Flush", l.Flush(t.Context()), nil)
	if len(st.batches) != 2 || len(st.batches[0]) != eventBatchMax {
		t.Errorf("batches of %d events: %d; want %d then 10", eventBatchMax+10, len(st.batches), eventBatchMax)
	}
	for i, ev := range st.all() {
		if ev.Details.Username != fmt.Sprint(i) {
			t.Fatalf("event %d is %q; want the recording order", i, ev.Details.Username)
		}
	}
	testkit.WantErr(t, "Flush(empty)", l.Flush(t.Context()), nil)
	if st.calls != 2 {
		t.Errorf("AppendEvents calls = %d; want no call for an empty buffer", st.calls)
	}
	var nilLog *EventLog
	nilLog.Record(loginFailed(clk, "x"))
	nilLog.Throttled(loginFailed(clk, "x"), clk.Now())
	testkit.WantErr(t, "nil EventLog Flush", nilLog.Flush(t.Context()), nil)
}

func TestEventLogSummarisesThrottledAttempts(t *testing.T) {
	t.Parallel()
	l, st, clk, _, _ := newTestEventLog()
	start := clk.Now()
	until := start.Add(time.Minute)
	for i := range 50 {
		// Later attempts are told shorter waits; the period stays the first's.
		l.Throttled(throttledAttempt(clk, "alice", "192.0.2.1"), until.Add(-time.Duration(i)*time.Second))
		clk.Advance(time.Second / 2)
	}
	l.Throttled(throttledAttempt(clk, "alice", "192.0.2.2"), clk.Now().Add(time.Minute)) // another address
	l.Throttled(throttledAttempt(clk, "bob", "192.0.2.1"), clk.Now().Add(time.Minute))   // another name
	testkit.WantErr(t, "periodic flush", l.flush(t.Context(), false), nil)
	if got := st.all(); len(got) != 0 {
		t.Fatalf("events written before the period ended: %+v", got)
	}

	clk.Set(until)
	l.Throttled(throttledAttempt(clk, "alice", "192.0.2.1"), clk.Now().Add(2*time.Minute)) // opens a new period
	testkit.WantErr(t, "periodic flush", l.flush(t.Context(), false), nil)
	got := st.all()
	if len(got) != 1 {
		t.Fatalf("events at the end of the period = %+v; want alice's one summary", got)
	}
	ev := got[0]
	if ev.Type != domain.EventLoginThrottled || ev.Details.Count != 50 || ev.Details.Until == nil || !ev.Details.Until.Equal(until) ||
		!ev.Time.Equal(start) || ev.IP != "192.0.2.1" || ev.Details.Username != "alice" {
		t.Errorf("summary = %+v (until %v); want 50 attempts of alice from 192.0.2.1 from %v until %v", ev, ev.Details.Until, start, until)
	}

	// Shutdown writes the open periods with their counts so far.
	testkit.WantErr(t, "Flush", l.Flush(t.Context()), nil)
	got = st.all()[1:]
	if len(got) != 3 {
		t.Fatalf("events at shutdown = %+v; want the three open summaries", got)
	}
	for _, ev := range got {
		if ev.Details.Count != 1 {
			t.Errorf("open summary %s/%s count = %d; want 1", ev.Details.Username, ev.IP, ev.Details.Count)
		}
	}
}

func TestEventLogCaps(t *testing.T) {
	t.Parallel()
	l, st, clk, rec, logs := newTestEventLog()
	ev := loginFailed(clk, "alice")
	for range eventBufferMax + 7 {
		l.Record(ev)
	}
	for i := range throttleSummaryMax + 3 {
		l.Throttled(throttledAttempt(clk, fmt.Sprint(i), "192.0.2.1"), clk.Now().Add(time.Minute))
	}
	if n := rec.count("dropped"); n != 10 {
		t.Errorf("EventsDropped = %d; want 10 (7 past the buffer, 3 past the summaries)", n)
	}
	if n := len(logs.JSONLines(t)); n != 1 {
		t.Errorf("drops logged %d times; want once:\n%s", n, logs.String())
	}

	// The store fails: everything is kept for the next flush, within the
	// bound (the ended summaries no longer fit).
	st.setFail(errOutage)
	clk.Advance(time.Minute)
	err := l.Flush(t.Context())
	testkit.WantErr(t, "Flush(outage)", err, errOutage)
	if n := rec.count("dropped"); n != 10+throttleSummaryMax {
		t.Errorf("EventsDropped after a failed flush = %d; want %d", n, 10+throttleSummaryMax)
	}
	st.setFail(nil)
	testkit.WantErr(t, "Flush", l.Flush(t.Context()), nil)
	if n := len(st.all()); n != eventBufferMax {
		t.Errorf("events written after the outage = %d; want %d", n, eventBufferMax)
	}
	if n := rec.count("event:login.failed"); n != eventBufferMax {
		t.Errorf("EventsWritten = %d; want %d", n, eventBufferMax)
	}
}

func TestEventLogRetriesAfterStoreError(t *testing.T) {
	t.Parallel()
	l, st, clk, rec, logs := newTestEventLog()
	st.setFail(errOutage)
	l.Record(loginFailed(clk, "alice"))
	if err := l.Flush(t.Context()); !errors.Is(err, errOutage) {
		t.Fatalf("Flush(outage) = %v; want the outage", err)
	}
	l.Record(loginFailed(clk, "bob"))
	if err := l.Flush(t.Context()); !errors.Is(err, errOutage) {
		t.Fatalf("Flush(outage) = %v; want the outage", err)
	}
	st.setFail(nil)
	testkit.WantErr(t, "Flush", l.Flush(t.Context()), nil)
	got := st.all()
	if len(got) != 2 || got[0].Details.Username != "alice" || got[1].Details.Username != "bob" {
		t.Errorf("events after the outage = %+v; want alice's then bob's", got)
	}
	if rec.count("dropped") != 0 || rec.count("event:login.failed") != 2 {
		t.Errorf("metrics = %s; want 2 written, none dropped", rec)
	}
	if n := strings.Count(logs.String(), "not written"); n != 1 {
		t.Errorf("write failures logged %d times; want once per outage:\n%s", n, logs.String())
	}
}

func TestLoginThroughEventLog(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	st := &fakeEventStore{}
	log := NewEventLog(st, e.clock.Now, nil, nil)
	e.loginEvents = nil
	login := NewLogin(e.rec, e.rec, e.hasher, e.tokens, e.throttle, nil, e.policy, e.clock.Now, nil, nil, log, nil)
	e.addUser("alice", "alice's password")
	for range 55 {
		login.Login(e.ctx, LoginInput{Username: "alice", Password: "wrong", IP: testIP})
	}
	testkit.WantErr(t, "Flush", log.Flush(t.Context()), nil)
	var failed, throttled int
	for _, ev := range st.all() {
		switch ev.Type {
		case domain.EventLoginFailed:
			failed++
		case domain.EventLoginThrottled:
			throttled++
			if ev.Details.Count != 50 {
				t.Errorf("login.throttled count = %d; want 50", ev.Details.Count)
			}
		}
	}
	if failed != 5 || throttled != 1 {
		t.Errorf("55 wrong logins wrote %d login.failed and %d login.throttled; want 5 and 1", failed, throttled)
	}
}
