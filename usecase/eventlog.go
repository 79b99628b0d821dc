package usecase

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/gatehouse-auth/gatehouse/domain"
)

// EventRecorder takes the auth events that record no state change of their
// own (login events), to be written soon rather than in a transaction.
// Implementations must not block: they run on the login path.
type EventRecorder interface {
	// Record takes one event.
	Record(e domain.Event)
	// Throttled takes one throttled attempt, e (login.throttled), whose
	// backoff period ends at until: the attempts of one (user or attempted
	// username, address) within one period become one event.
	Throttled(e domain.Event, until time.Time)
}

// EventLog limits. Past them events are dropped (and counted), never
// waited for: a login flood must not fill memory or slow logins down.
const (
	// eventBufferMax bounds the events waiting to be written.
	eventBufferMax = 100_000
	// throttleSummaryMax bounds the open login.throttled summaries.
	throttleSummaryMax = 10_000
	// eventBatchMax bounds the events written in one transaction.
	eventBatchMax = 1_000
	// eventFlushEvery is how often buffered events are written: an event
	// is in the store at most about this long after it happened.
	eventFlushEvery = time.Second
	// eventFinalFlush bounds the last flush, when Run's context has ended.
	eventFinalFlush = 5 * time.Second
)

// EventLog buffers login events and writes them in batches
// (store.AppendEvents), at most about a second after they happen and on
// Flush and shutdown. Throttled attempts are summarised: the first one of a
// (user or attempted username, address) opens a backoff period, later ones
// within it only count, and one login.throttled event with the count and
// the period's end is written when the period is over (or at the last
// flush). A failed write keeps its events for the next flush, within the
// buffer's bound. It is safe for concurrent use; a nil *EventLog records
// nothing.
type EventLog struct {
	store   domain.EventAppender
	now     func() time.Time
	log     *slog.Logger
	metrics Metrics

	flushMu sync.Mutex // one flush at a time, so batches keep their order

	mu        sync.Mutex
	buf       []domain.Event
	throttled map[throttleKey]*domain.Event
	warned    bool // a drop was logged since the buffer last emptied
	failing   bool // the last write failed (logged once until one succeeds)
}

// throttleKey is who was throttled: the user id or, when unknown, the
// attempted username, and the address.
type throttleKey struct {
	who, ip string
}

var _ EventRecorder = (*EventLog)(nil)

// NewEventLog returns an EventLog writing to store; log (nil discards)
// gets drops and write failures, metrics (nil: none) the events written
// and dropped. Run writes the buffered events periodically.
func NewEventLog(store domain.EventAppender, now func() time.Time, log *slog.Logger, metrics Metrics) *EventLog {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &EventLog{store: store, now: now, log: log, metrics: orNoMetrics(metrics), throttled: map[throttleKey]*domain.Event{}}
}

// Record buffers e, or drops it when the buffer is full.
func (l *EventLog) Record(e domain.Event) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.add(e)
}

// add buffers e or counts it dropped. l.mu must be held.
func (l *EventLog) add(e domain.Event) {
	if len(l.buf) >= eventBufferMax {
		l.dropped(1, "auth event buffer full; events dropped")
		return
	}
	l.buf = append(l.buf, e)
}

// dropped counts n dropped events and logs the first drop since the
// buffer last emptied. l.mu must be held.
func (l *EventLog) dropped(n int, msg string) {
	l.metrics.EventsDropped(n)
	if !l.warned {
		l.warned = true
		l.log.Warn(msg, "dropped", n)
	}
}

// Throttled counts one throttled attempt into the summary of its backoff
// period, opening the period (which ends at until) if none is open. A
// period that has ended is buffered as its login.throttled event first.
func (l *EventLog) Throttled(e domain.Event, until time.Time) {
	if l == nil {
		return
	}
	key := throttleKey{who: e.UserID, ip: e.IP}
	if key.who == "" {
		key.who = "username:" + e.Details.Username
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if open, ok := l.throttled[key]; ok {
		if e.Time.Before(*open.Details.Until) {
			open.Details.Count++
			return
		}
		delete(l.throttled, key)
		l.add(*open)
	}
	if len(l.throttled) >= throttleSummaryMax {
		l.dropped(1, "too many throttled logins to summarise; events dropped")
		return
	}
	until = until.UTC().Truncate(time.Microsecond)
	e.Details.Count, e.Details.Until = 1, &until
	l.throttled[key] = &e
}

// Run writes the buffered events every second until ctx ends, then writes
// what is left, throttled summaries included, within a few seconds, and
// returns.
func (l *EventLog) Run(ctx context.Context) {
	NewScheduler(Job{Name: "auth events", Every: eventFlushEvery, Run: func(ctx context.Context) {
		l.flush(ctx, false) // failures are logged by flush
	}}).Run(ctx)
	final, cancel := context.WithTimeout(context.WithoutCancel(ctx), eventFinalFlush)
	defer cancel()
	if err := l.Flush(final); err != nil {
		l.log.Error("auth events lost at shutdown", "err", err)
	}
}

// Flush writes every buffered event and every open throttled summary (its
// count so far) now. It returns the store's error; the events it could not
// write stay buffered.
func (l *EventLog) Flush(ctx context.Context) error {
	if l == nil {
		return nil
	}
	return l.flush(ctx, true)
}

// flush moves the throttled summaries whose period has ended (all of them
// with all) into the buffer and writes the buffer in batches.
func (l *EventLog) flush(ctx context.Context, all bool) error {
	l.flushMu.Lock()
	defer l.flushMu.Unlock()
	l.mu.Lock()
	now := l.now()
	for key, e := range l.throttled {
		if all || !now.Before(*e.Details.Until) {
			delete(l.throttled, key)
			l.add(*e)
		}
	}
	pending := l.buf
	l.buf = nil
	l.mu.Unlock()

	for len(pending) > 0 {
		batch := pending[:min(len(pending), eventBatchMax)]
		if err := l.store.AppendEvents(ctx, batch); err != nil {
			l.keep(pending)
			return fmt.Errorf("append auth events: %w", err)
		}
		countWritten(l.metrics, batch)
		pending = pending[len(batch):]
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.failing {
		l.failing = false
		l.log.Info("auth events written again")
	}
	if len(l.buf) == 0 {
		l.warned = false
	}
	return nil
}

// keep puts events that could not be written back in front of the buffer
// for the next flush, dropping the oldest beyond the buffer's bound.
func (l *EventLog) keep(events []domain.Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.failing {
		l.failing = true
		l.log.Warn("auth events not written; retrying", "pending", len(events)+len(l.buf))
	}
	merged := append(events[:len(events):len(events)], l.buf...)
	if over := len(merged) - eventBufferMax; over > 0 {
		merged = merged[over:]
		l.dropped(over, "auth events not written and the buffer is full; events dropped")
	}
	l.buf = merged
}
