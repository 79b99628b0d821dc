package storagetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/domain"
	"github.com/gatehouse-auth/gatehouse/internal/testkit"
)

// eventID returns the n-th event id of a test: UUIDv7-shaped and in n
// order, like the ids the use cases make.
func eventID(n int) string { return fmt.Sprintf("01900000-0000-7000-8000-%012d", n) }

// newEvent returns a minimal event fixture: the n-th id, a system actor.
func newEvent(n int, typ domain.EventType, userID string, when time.Time) domain.Event {
	return domain.Event{ID: eventID(n), Time: when, Type: typ, UserID: userID, Actor: domain.Actor{Type: domain.ActorSystem}}
}

// mustAppend appends events and fails t on an error.
func mustAppend(t *testing.T, s Stores, events ...domain.Event) {
	t.Helper()
	testkit.WantErr(t, "AppendEvents", s.AppendEvents(ctx(t), events), nil)
}

// listEvents runs ListEvents and fails t on an error.
func listEvents(t *testing.T, s Stores, q domain.EventQuery) []domain.Event {
	t.Helper()
	got, err := s.ListEvents(ctx(t), q)
	testkit.WantErr(t, fmt.Sprintf("ListEvents(%+v)", q), err, nil)
	return got
}

// eventIDs returns the ids of events, in order.
func eventIDs(events []domain.Event) []string {
	ids := make([]string, len(events))
	for i, e := range events {
		ids[i] = e.ID
	}
	return ids
}

// wantEventIDs fails t unless the store holds exactly the events with ids
// (in any order given): what a call wrote, or that it wrote nothing.
func wantEventIDs(t *testing.T, s Stores, after string, ids ...string) {
	t.Helper()
	want := slices.Clone(ids)
	slices.Sort(want)
	slices.Reverse(want)
	got := eventIDs(listEvents(t, s, domain.EventQuery{Limit: 1000}))
	if !slices.Equal(got, want) {
		t.Errorf("after %s: events %v; want %v", after, got, want)
	}
}

func testEvents(t *testing.T, newStores factory) {
	t.Run("round trip", func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		until := elsewhere(at(time.Hour))
		full := domain.Event{
			ID:        eventID(1),
			Time:      elsewhere(at(time.Second)),
			Type:      domain.EventLoginThrottled,
			UserID:    "u0001",
			Actor:     domain.Actor{Type: domain.ActorAdmin, ID: "u0009"},
			IP:        "2001:db8::7",
			UserAgent: "Mozilla/5.0 storagetest ünïcode",
			RequestID: "req-1",
			SessionID: "s0001",
			Details: domain.EventDetails{
				Username: "alice", Reason: "invalid_credentials", Grant: "password", Count: 3, Until: &until,
				Scope: "openid profile", Roles: []string{"admin", "ops"}, PreviousRoles: []string{"ops"},
				KeyID: "k0001", KeyName: "ci", ClientID: "c0001", ClientName: "billing", Kid: "kid-1", Alg: "EdDSA",
				Method: "totp",
			},
		}
		covers(t, &full)
		covers(t, &full.Details)
		covers(t, &full.Actor)
		bare := domain.Event{ID: eventID(2), Time: at(2 * time.Second), Type: domain.EventSigningKeyRotated}
		mustAppend(t, s, full, bare)
		full.Details.Roles[0] = "mutated after append"
		full.Details.Roles[0] = "admin"

		got := listEvents(t, s, domain.EventQuery{Limit: 10})
		if d := mismatch(got, []domain.Event{bare, full}); d != "" {
			t.Errorf("ListEvents: newest first (-want +got):\n%s", d)
		}
		got[1].Details.Roles[0] = "mutated after list"
		if d := mismatch(listEvents(t, s, domain.EventQuery{Limit: 1, Before: eventID(2)}), []domain.Event{full}); d != "" {
			t.Errorf("ListEvents after the caller changed a result (-want +got):\n%s", d)
		}
	})

	t.Run("filters, cursor and limit", func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		types := []domain.EventType{domain.EventLoginSucceeded, domain.EventLoginFailed, domain.EventSessionRevoked}
		users := []string{"u0001", "u0002", ""}
		var all []domain.Event
		for i := range 40 {
			// Users cycle faster than types, so every pairing occurs.
			all = append(all, newEvent(i+1, types[i%3], users[(i/3)%3], elsewhere(at(time.Duration(i)*time.Minute))))
		}
		mustAppend(t, s, all[:25]...)
		mustAppend(t, s, all[25:]...)
		cases := []domain.EventQuery{
			{Limit: 100},
			{Limit: 7},
			{Limit: 5, Before: eventID(31)},
			{Limit: 100, Before: eventID(1)},
			{Limit: 100, Types: []domain.EventType{domain.EventLoginFailed}},
			{Limit: 3, Types: []domain.EventType{domain.EventLoginFailed}, Before: eventID(20)},
			{Limit: 100, Types: []domain.EventType{domain.EventLoginFailed, domain.EventSessionRevoked}},
			{Limit: 100, Types: []domain.EventType{domain.EventMFAFailed}},
			{Limit: 100, UserID: "u0002"},
			{Limit: 4, UserID: "u0001", Before: eventID(30)},
			{Limit: 100, UserID: "nobody"},
			{Limit: 100, Since: at(10 * time.Minute)},
			{Limit: 100, Until: elsewhere(at(10 * time.Minute))},
			{Limit: 100, Since: at(5 * time.Minute), Until: at(15*time.Minute + time.Microsecond)},
			{Limit: 2, UserID: "u0001", Types: []domain.EventType{domain.EventLoginSucceeded}, Since: at(2 * time.Minute), Until: at(35 * time.Minute), Before: eventID(36)},
		}
		for _, q := range cases {
			var want []domain.Event
			for i := len(all) - 1; i >= 0 && len(want) < q.Limit; i-- {
				e := all[i]
				if (len(q.Types) == 0 || slices.Contains(q.Types, e.Type)) && (q.UserID == "" || e.UserID == q.UserID) &&
					(q.Since.IsZero() || !e.Time.Before(q.Since)) && (q.Until.IsZero() || e.Time.Before(q.Until)) &&
					(q.Before == "" || e.ID < q.Before) {
					want = append(want, e)
				}
			}
			if d := mismatch(listEvents(t, s, q), want); d != "" {
				t.Errorf("ListEvents(%+v) (-want +got):\n%s", q, d)
			}
		}
	})

	t.Run("a batch with a taken id writes nothing", func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		mustAppend(t, s, newEvent(1, domain.EventLoginFailed, "", at(0)))
		err := s.AppendEvents(ctx(t), []domain.Event{newEvent(2, domain.EventLoginFailed, "", at(0)), newEvent(1, domain.EventLoginFailed, "", at(0))})
		testkit.WantErr(t, "AppendEvents(taken id)", err, domain.ErrConflict)
		wantEventIDs(t, s, "a refused batch", eventID(1))
	})

	t.Run("prune", func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		mustCreateWebhook(t, s, newWebhook("w0001", at(-time.Hour)))
		var events []domain.Event
		for i := range 10 {
			events = append(events, newEvent(i+1, domain.EventLoginFailed, "", at(time.Duration(i)*time.Hour)))
		}
		mustAppend(t, s, events...)
		n, err := s.PruneEvents(ctx(t), elsewhere(at(4*time.Hour)))
		testkit.WantErr(t, "PruneEvents", err, nil)
		if n != 4 {
			t.Errorf("PruneEvents = %d; want 4 (times before the cut, not at it)", n)
		}
		wantEventIDs(t, s, "PruneEvents", eventIDs(events[4:])...)
		if got := deliveredEvents(t, s, "w0001"); !slices.Equal(got, eventIDs(events[4:])) {
			t.Errorf("deliveries after PruneEvents: events %v; want %v (the pruned events' deliveries go with them)", got, eventIDs(events[4:]))
		}
		n, err = s.PruneEvents(ctx(t), at(4*time.Hour))
		if err != nil || n != 0 {
			t.Errorf("PruneEvents(again) = %d, %v; want 0, nil", n, err)
		}
	})

	t.Run("state changes write their events", testChangeEvents(newStores))
	t.Run("refused or empty changes write none", testNoChangeEvents(newStores))
	t.Run("an event that cannot be written undoes its change", testEventRollback(newStores))
}

// deliveredEvents returns the event ids of the webhook's deliveries,
// oldest event first.
func deliveredEvents(t *testing.T, s Stores, webhookID string) []string {
	t.Helper()
	ds, err := s.ListDeliveries(ctx(t), webhookID, 0)
	testkit.WantErr(t, "ListDeliveries", err, nil)
	ids := make([]string, len(ds))
	for i, d := range ds {
		ids[len(ds)-1-i] = d.EventID
	}
	return ids
}
