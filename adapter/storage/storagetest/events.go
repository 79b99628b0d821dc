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

// testChangeEvents runs every state-changing method with an event and
// checks that the event, and its delivery, were written.
func testChangeEvents(newStores factory) func(*testing.T) {
	return func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		mustCreateWebhook(t, s, newWebhook("w0001", at(-time.Hour)))
		n := 0
		ev := func(typ domain.EventType, userID string) []domain.Event {
			n++
			return []domain.Event{newEvent(n, typ, userID, at(time.Duration(n)*time.Minute))}
		}
		var want []string
		step := func(what string, events []domain.Event, err error) {
			t.Helper()
			testkit.WantErr(t, what, err, nil)
			want = append(want, events[0].ID)
			wantEventIDs(t, s, what, want...)
		}

		u := &domain.User{ID: "u0001", Username: "alice", PasswordHash: "h", Stamp: 1, CreatedAt: at(0), UpdatedAt: at(0)}
		e := ev(domain.EventUserCreated, "u0001")
		step("CreateUser", e, s.CreateUser(ctx(t), u, e))
		e = ev(domain.EventPasswordChanged, "u0001")
		_, _, err := s.ChangeUser(ctx(t), domain.UserChange{UserID: "u0001", PasswordHash: "h2", EndSessions: true, At: at(time.Hour), FeedExpires: at(2 * time.Hour), Events: e})
		step("ChangeUser", e, err)
		_, _, err = s.ChangeUser(ctx(t), domain.UserChange{UserID: "u0001", At: at(time.Hour)})
		testkit.WantErr(t, "ChangeUser(no events)", err, nil)
		wantEventIDs(t, s, "ChangeUser(no events)", want...)
		mustCreateUser(t, s, "u0002", "bob")
		mustCreateSession(t, s, "u0002", "s0002")
		e = ev(domain.EventSessionRevoked, "u0002")
		_, err = s.RevokeSessions(ctx(t), domain.SessionRevocation{SessionID: "s0002", At: at(time.Hour), FeedExpires: at(2 * time.Hour), Events: e})
		step("RevokeSessions", e, err)
		e = ev(domain.EventAPIKeyCreated, "u0002")
		step("CreateAPIKey", e, s.CreateAPIKey(ctx(t), newKey("u0002", "k0001", at(time.Hour)), 10, e))
		e = ev(domain.EventAPIKeyRevoked, "u0002")
		_, err = s.RevokeAPIKey(ctx(t), domain.APIKeyRevocation{ID: "k0001", At: at(2 * time.Hour), FeedExpires: at(3 * time.Hour), Events: e})
		step("RevokeAPIKey", e, err)
		c := &domain.Client{ID: "c0001", Name: "billing", SecretHash: hash("c"), CreatedAt: at(0)}
		e = ev(domain.EventClientCreated, "")
		step("CreateClient", e, s.CreateClient(ctx(t), c, e))
		e = ev(domain.EventClientDeleted, "")
		step("DeleteClient", e, s.DeleteClient(ctx(t), "c0001", e))
		e = ev(domain.EventSigningKeyRotated, "")
		step("RotateKey", e, s.RotateKey(ctx(t), &domain.SigningKey{ID: "kid1", Algorithm: "EdDSA", Private: []byte("p"), CreatedAt: at(0)}, e))
		e = ev(domain.EventUserDeleted, "u0002")
		_, err = s.DeleteUser(ctx(t), domain.UserDeletion{ID: "u0002", At: at(3 * time.Hour), FeedExpires: at(4 * time.Hour), Events: e})
		step("DeleteUser", e, err)

		// The deleted user's events stay, their own and earlier ones.
		got := eventIDs(listEvents(t, s, domain.EventQuery{UserID: "u0002", Limit: 100}))
		if wantBob := []string{eventID(9), eventID(5), eventID(4), eventID(3)}; !slices.Equal(got, wantBob) {
			t.Errorf("events of the deleted user = %v; want %v", got, wantBob)
		}
		if got := deliveredEvents(t, s, "w0001"); !slices.Equal(got, want) {
			t.Errorf("deliveries: events %v; want one per event written, %v", got, want)
		}
	}
}

// testNoChangeEvents checks that a change that fails or changes nothing
// writes none of its events.
func testNoChangeEvents(newStores factory) func(*testing.T) {
	return func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		mustCreateWebhook(t, s, newWebhook("w0001", at(-time.Hour)))
		mustCreateUser(t, s, "u0001", "alice")
		mustCreateSession(t, s, "u0001", "s0001")
		mustCreateKey(t, s, newKey("u0001", "k0001", at(0)))
		mustRevoke(t, s, domain.SessionRevocation{SessionID: "s0001", At: at(time.Hour), FeedExpires: at(2 * time.Hour)}, "s0001")
		_, err := s.RevokeAPIKey(ctx(t), domain.APIKeyRevocation{ID: "k0001", At: at(time.Hour), FeedExpires: at(2 * time.Hour)})
		testkit.WantErr(t, "RevokeAPIKey", err, nil)
		ev := func(n int) []domain.Event {
			return []domain.Event{newEvent(n, domain.EventUserUpdated, "u0001", at(time.Hour))}
		}

		dup := &domain.User{ID: "u0002", Username: "alice", PasswordHash: "h", CreatedAt: at(0), UpdatedAt: at(0)}
		testkit.WantErr(t, "CreateUser(taken username)", s.CreateUser(ctx(t), dup, ev(1)), domain.ErrUsernameTaken)
		_, _, err = s.ChangeUser(ctx(t), domain.UserChange{UserID: "u0001", IfStamp: 99, PasswordHash: "h2", EndSessions: true, At: at(time.Hour), Events: ev(2)})
		testkit.WantErr(t, "ChangeUser(stale IfStamp)", err, domain.ErrConflict)
		_, _, err = s.ChangeUser(ctx(t), domain.UserChange{UserID: "nobody", At: at(time.Hour), Events: ev(3)})
		testkit.WantErr(t, "ChangeUser(unknown user)", err, domain.ErrNotFound)
		ids, err := s.RevokeSessions(ctx(t), domain.SessionRevocation{SessionID: "s0001", At: at(2 * time.Hour), FeedExpires: at(3 * time.Hour), Events: ev(4)})
		if err != nil || len(ids) != 0 {
			t.Errorf("RevokeSessions(revoked session) = %v, %v; want none, nil", ids, err)
		}
		revoked, err := s.RevokeAPIKey(ctx(t), domain.APIKeyRevocation{ID: "k0001", At: at(2 * time.Hour), FeedExpires: at(3 * time.Hour), Events: ev(5)})
		if err != nil || revoked {
			t.Errorf("RevokeAPIKey(twice) = %v, %v; want false, nil", revoked, err)
		}
		_, err = s.RevokeAPIKey(ctx(t), domain.APIKeyRevocation{ID: "k9999", At: at(2 * time.Hour), Events: ev(6)})
		testkit.WantErr(t, "RevokeAPIKey(unknown)", err, domain.ErrNotFound)
		mustCreateKey(t, s, newKey("u0001", "k0002", at(0)))
		testkit.WantErr(t, "CreateAPIKey(at the limit)", s.CreateAPIKey(ctx(t), newKey("u0001", "k0003", at(0)), 1, ev(7)), domain.ErrTooManyAPIKeys)
		testkit.WantErr(t, "DeleteClient(unknown)", s.DeleteClient(ctx(t), "c9999", ev(8)), domain.ErrNotFound)
		_, err = s.DeleteUser(ctx(t), domain.UserDeletion{ID: "nobody", At: at(time.Hour), Events: ev(9)})
		testkit.WantErr(t, "DeleteUser(unknown)", err, domain.ErrNotFound)
		testkit.WantErr(t, "CreateClient(taken id)", s.CreateClient(ctx(t), &domain.Client{ID: "c0001", SecretHash: hash("c"), CreatedAt: at(0)}, nil), nil)
		testkit.WantErr(t, "CreateClient(taken id)", s.CreateClient(ctx(t), &domain.Client{ID: "c0001", SecretHash: hash("c"), CreatedAt: at(0)}, ev(10)), domain.ErrConflict)

		wantEventIDs(t, s, "refused and empty changes")
		st, err := s.OutboxStats(ctx(t))
		if err != nil || st.Pending != 0 {
			t.Errorf("OutboxStats = %+v, %v; want nothing pending", st, err)
		}
	}
}

// testEventRollback gives changes an event whose id is taken: the event
// cannot be written, so the change must fail and leave no trace, which it
// can only do when the event is in the change's transaction.
func testEventRollback(newStores factory) func(*testing.T) {
	return func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		mustAppend(t, s, newEvent(1, domain.EventLoginFailed, "", at(0)))
		taken := []domain.Event{newEvent(2, domain.EventUserUpdated, "u0001", at(time.Hour)), newEvent(1, domain.EventUserUpdated, "u0001", at(time.Hour))}
		u := mustCreateUser(t, s, "u0001", "alice")
		mustCreateSession(t, s, "u0001", "s0001")
		mustCreateKey(t, s, newKey("u0001", "k0001", at(0)))

		testkit.WantErr(t, "CreateUser", s.CreateUser(ctx(t), &domain.User{ID: "u0002", Username: "bob", PasswordHash: "h", CreatedAt: at(0), UpdatedAt: at(0)}, taken), domain.ErrConflict)
		_, err := s.UserByID(ctx(t), "u0002")
		testkit.WantErr(t, "UserByID(refused user)", err, domain.ErrNotFound)

		_, _, err = s.ChangeUser(ctx(t), domain.UserChange{UserID: "u0001", PasswordHash: "h2", EndSessions: true, RevokeAPIKeys: true, At: at(time.Hour), FeedExpires: at(2 * time.Hour), Events: taken})
		testkit.WantErr(t, "ChangeUser", err, domain.ErrConflict)
		got, err := s.UserByID(ctx(t), "u0001")
		testkit.WantErr(t, "UserByID", err, nil)
		if d := mismatch(got, u); d != "" {
			t.Errorf("user after a refused change (-want +got):\n%s", d)
		}
		_, err = s.RevokeSessions(ctx(t), domain.SessionRevocation{UserID: "u0001", At: at(time.Hour), FeedExpires: at(2 * time.Hour), Events: taken})
		testkit.WantErr(t, "RevokeSessions", err, domain.ErrConflict)
		_, err = s.RevokeAPIKey(ctx(t), domain.APIKeyRevocation{ID: "k0001", At: at(time.Hour), FeedExpires: at(2 * time.Hour), Events: taken})
		testkit.WantErr(t, "RevokeAPIKey", err, domain.ErrConflict)
		_, err = s.DeleteUser(ctx(t), domain.UserDeletion{ID: "u0001", At: at(time.Hour), FeedExpires: at(2 * time.Hour), Events: taken})
		testkit.WantErr(t, "DeleteUser", err, domain.ErrConflict)
		sess, err := s.SessionByID(ctx(t), "s0001")
		if err != nil || sess.Revoked() {
			t.Errorf("session after refused revocations: %+v, %v; want live", sess, err)
		}
		k, err := s.APIKeyByID(ctx(t), "k0001")
		if err != nil || k.Revoked() {
			t.Errorf("api key after refused revocations: %+v, %v; want live", k, err)
		}
		if feed := mustFeed(t, s, 0, at(0), 0); len(feed) != 0 {
			t.Errorf("feed after refused revocations: %v; want empty", feed)
		}
		testkit.WantErr(t, "CreateAPIKey", s.CreateAPIKey(ctx(t), newKey("u0001", "k0002", at(0)), 10, taken), domain.ErrConflict)
		_, err = s.APIKeyByID(ctx(t), "k0002")
		testkit.WantErr(t, "APIKeyByID(refused key)", err, domain.ErrNotFound)
		testkit.WantErr(t, "RotateKey", s.RotateKey(ctx(t), &domain.SigningKey{ID: "kid1", Algorithm: "EdDSA", Private: []byte("p"), CreatedAt: at(0)}, taken), domain.ErrConflict)
		if keys, err := s.ListKeys(ctx(t)); err != nil || len(keys) != 0 {
			t.Errorf("ListKeys after a refused rotation = %v, %v; want none", keys, err)
		}
		testkit.WantErr(t, "CreateClient", s.CreateClient(ctx(t), &domain.Client{ID: "c0001", SecretHash: hash("c"), CreatedAt: at(0)}, taken), domain.ErrConflict)
		_, err = s.ClientByID(ctx(t), "c0001")
		testkit.WantErr(t, "ClientByID(refused client)", err, domain.ErrNotFound)
		wantEventIDs(t, s, "refused changes", eventID(1))
	}
}
