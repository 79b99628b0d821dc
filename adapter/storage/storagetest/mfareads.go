package storagetest

import (
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/domain"
	"github.com/gatehouse-auth/gatehouse/internal/testkit"
)

// testMFAReads checks that what MFA adds to users and sessions comes back
// from every read of them, the hand-written grant queries included.
func testMFAReads(t *testing.T, newStores factory) {
	t.Run("MFAEnabled in every read of a user", func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		alice, _ := mustEnableMFA(t, s, mustCreateUser(t, s, "u0001", "alice"))
		bob := mustCreateUser(t, s, "u0002", "bob")
		sess, tok := newSession("u0001", "s0001", 2)
		testkit.WantErr(t, "CreateSession", s.CreateSession(ctx(t), sess, tok), nil)
		mustCreateKey(t, s, newKey("u0001", "k0001", at(time.Hour)))

		byID, err := s.UserByID(ctx(t), "u0001")
		testkit.WantErr(t, "UserByID", err, nil)
		byName, err := s.UserByUsername(ctx(t), "alice")
		testkit.WantErr(t, "UserByUsername", err, nil)
		list, err := s.ListUsers(ctx(t), "", 0)
		testkit.WantErr(t, "ListUsers", err, nil)
		grant := mustGrant(t, s, "s0001/0")
		key, err := s.APIKeyGrant(ctx(t), hash("key/k0001"))
		testkit.WantErr(t, "APIKeyGrant", err, nil)
		if d := mismatch(list, []domain.User{*alice, *bob}); d != "" {
			t.Errorf("ListUsers (-want +got):\n%s", d)
		}
		for name, got := range map[string]*domain.User{"UserByID": byID, "UserByUsername": byName,
			"RefreshGrant": &grant.User, "APIKeyGrant": &key.User} {
			if d := mismatch(got, alice); d != "" {
				t.Errorf("%s (-want +got):\n%s", name, d)
			}
		}
	})

	t.Run("AMR and ACR in every read of a session", func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		mustCreateUser(t, s, "u0001", "alice")
		sess, tok := newSession("u0001", "s0001", 1)
		sess.AMR, sess.ACR = []string{domain.AMRPassword, domain.AMROTP}, domain.ACRAAL2
		testkit.WantErr(t, "CreateSession", s.CreateSession(ctx(t), sess, tok), nil)
		bare, bareTok := newSession("u0001", "s0002", 1) // no AMR, no ACR
		testkit.WantErr(t, "CreateSession(bare)", s.CreateSession(ctx(t), bare, bareTok), nil)

		got, err := s.SessionByID(ctx(t), "s0001")
		testkit.WantErr(t, "SessionByID", err, nil)
		if d := mismatch(got, sess); d != "" {
			t.Errorf("SessionByID (-want +got):\n%s", d)
		}
		if d := mismatch(&mustGrant(t, s, "s0001/0").Session, sess); d != "" {
			t.Errorf("RefreshGrant session (-want +got):\n%s", d)
		}
		if d := mismatch(&mustGrant(t, s, "s0002/0").Session, bare); d != "" {
			t.Errorf("RefreshGrant bare session (-want +got):\n%s", d)
		}
		list, err := s.ListSessions(ctx(t), "u0001", at(time.Minute))
		testkit.WantErr(t, "ListSessions", err, nil)
		want := []domain.Session{*bare, *sess} // same CreatedAt: ID descending
		if d := mismatch(list, want); d != "" {
			t.Errorf("ListSessions (-want +got):\n%s", d)
		}
	})
}
