package usecase

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/gatehouse-auth/gatehouse/domain"
)

// DefaultEventRetention is GATEHOUSE_EVENT_RETENTION's default: events
// older than this are pruned.
const DefaultEventRetention = 2160 * time.Hour

// Page sizes of the event lists (GET /me/events, GET /admin/events).
const (
	eventPageDefault = 100
	eventPageMax     = 500
)

// eventPruneEvery is how often events past their retention are deleted.
const eventPruneEvery = time.Hour

// Events reads the auth events, newest first (GET /me/events, GET
// /admin/events, "gatehouse events"), and prunes those past their
// retention.
type Events struct {
	store     domain.EventStore
	retention time.Duration
	now       func() time.Time
	log       *slog.Logger
}

// NewEvents returns an Events keeping events for retention (0 or less is
// DefaultEventRetention). log (nil discards) gets the prune's failures.
func NewEvents(store domain.EventStore, retention time.Duration, now func() time.Time, log *slog.Logger) *Events {
	if retention <= 0 {
		retention = DefaultEventRetention
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Events{store: store, retention: retention, now: now, log: log}
}

// EventPage is one page of events, newest first, and the cursor of the
// next one ("" at the end).
type EventPage struct {
	Events     []domain.Event
	NextCursor string
}

// EventListInput selects the events of an admin's list; zero fields select
// everything.
type EventListInput struct {
	// Types keeps events of these types (names as DESIGN.md lists them).
	Types []string
	// UserID keeps the events of one user.
	UserID string
	// Since and Until keep events with Since <= Time < Until.
	Since, Until time.Time
	// Cursor is the NextCursor of the previous page.
	Cursor string
	// Limit is the page size: 0 is 100, at most 500.
	Limit int
}

// Mine returns a page of the events of the caller c's own user. Only a
// user's token from a login may read them: a client token, an API key and
// a token exchanged from one are domain.ErrForbidden.
func (e *Events) Mine(ctx context.Context, c *domain.Claims, cursor string, limit int) (*EventPage, error) {
	if !c.FromLogin() {
		return nil, domain.ErrForbidden
	}
	return e.List(ctx, EventListInput{UserID: c.Subject, Cursor: cursor, Limit: limit})
}

// List returns a page of the events selected by in. An unknown type, a
// limit outside 1..500 or Since after Until is a *domain.ValidationError
// (invalid_request).
func (e *Events) List(ctx context.Context, in EventListInput) (*EventPage, error) {
	limit, err := pageLimit(in.Limit, eventPageDefault, eventPageMax)
	if err != nil {
		return nil, err
	}
	types := make([]domain.EventType, 0, len(in.Types))
	for _, s := range in.Types {
		t, err := domain.ParseEventType(s)
		if err != nil {
			return nil, err
		}
		types = append(types, t)
	}
	if !in.Since.IsZero() && !in.Until.IsZero() && in.Since.After(in.Until) {
		return nil, &domain.ValidationError{Code: domain.CodeInvalidRequest, Message: "since must not be after until"}
	}
	events, err := e.store.ListEvents(ctx, domain.EventQuery{
		Types: types, UserID: in.UserID, Since: in.Since, Until: in.Until, Before: in.Cursor, Limit: limit + 1,
	})
	if err != nil {
		return nil, fmt.Errorf("list events: %w", err)
	}
	page := &EventPage{Events: events}
	if len(events) > limit {
		page.Events = events[:limit]
		page.NextCursor = events[limit-1].ID
	}
	return page, nil
}

// Jobs is the periodic work of the event log: deleting the events past
// their retention, every hour.
func (e *Events) Jobs() []Job {
	return []Job{{Name: "auth event prune", Every: eventPruneEvery, Run: func(ctx context.Context) {
		if _, err := e.Prune(ctx); err != nil {
			e.log.WarnContext(ctx, "auth event prune failed", "err", err)
		}
	}}}
}

// Prune deletes the events older than the retention and returns how many
// went.
func (e *Events) Prune(ctx context.Context) (int64, error) {
	n, err := e.store.PruneEvents(ctx, e.now().Add(-e.retention))
	if err != nil {
		return n, fmt.Errorf("prune events: %w", err)
	}
	return n, nil
}
