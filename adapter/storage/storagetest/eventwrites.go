package storagetest

import (
	"slices"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/domain"
	"github.com/gatehouse-auth/gatehouse/internal/testkit"
)

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
