package storagetest

import (
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/domain"
	"github.com/gatehouse-auth/gatehouse/internal/testkit"
)

// mustGrant reads the refresh grant of the token named name or fails t.
func mustGrant(t *testing.T, s Stores, name string) *domain.RefreshGrant {
	t.Helper()
	g, err := s.RefreshGrant(ctx(t), hash(name))
	testkit.WantErr(t, "RefreshGrant("+name+")", err, nil)
	return g
}

// grantMismatch compares a refresh grant with the token, session and user
// it should hold.
func grantMismatch(got *domain.RefreshGrant, tok *domain.RefreshToken, sess *domain.Session, u *domain.User) string {
	return mismatch(got, &domain.RefreshGrant{Token: *tok, Session: *sess, User: *u})
}

func testRefreshGrant(t *testing.T, newStores factory) {
	t.Run("token, session and user in one read", func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		u := &domain.User{
			ID:           "u0001",
			Username:     "alice",
			PasswordHash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA",
			Roles:        []string{domain.RoleAdmin, "ops"},
			MFAEnabled:   true,
			Stamp:        1,
			CreatedAt:    at(0),
			UpdatedAt:    at(time.Second),
		}
		testkit.WantErr(t, "CreateUser", s.CreateUser(ctx(t), u, nil), nil)
		mustCreateUser(t, s, "u0002", "bob")
		sess := mustCreateSession(t, s, "u0001", "s0001")
		mustCreateSession(t, s, "u0002", "s0002")

		got := mustGrant(t, s, "s0001/0")
		tok := &domain.RefreshToken{Hash: hash("s0001/0"), SessionID: "s0001", CreatedAt: at(time.Minute)}
		if d := grantMismatch(got, tok, sess, u); d != "" {
			t.Errorf("RefreshGrant (-want +got):\n%s", d)
		}
	})

	t.Run("unknown token is ErrNotFound", func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		mustCreateUser(t, s, "u0001", "alice")
		mustCreateSession(t, s, "u0001", "s0001")
		_, err := s.RefreshGrant(ctx(t), hash("nope"))
		testkit.WantErr(t, "RefreshGrant(unknown)", err, domain.ErrNotFound)
	})

	t.Run("token of a deleted user is ErrNotFound", func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		mustCreateUser(t, s, "u0001", "alice")
		mustCreateUser(t, s, "u0002", "bob")
		mustCreateSession(t, s, "u0001", "s0001")
		mustCreateSession(t, s, "u0002", "s0002")
		_, err := s.DeleteUser(ctx(t), domain.UserDeletion{ID: "u0001", At: at(time.Hour), FeedExpires: at(2 * time.Hour)})
		testkit.WantErr(t, "DeleteUser", err, nil)
		_, err = s.RefreshGrant(ctx(t), hash("s0001/0"))
		testkit.WantErr(t, "RefreshGrant(deleted user)", err, domain.ErrNotFound)
		if g := mustGrant(t, s, "s0002/0"); g.User.ID != "u0002" {
			t.Errorf("RefreshGrant(other user's token).User.ID = %q; want u0002", g.User.ID)
		}
	})

	t.Run("rotation, revocation and disabling show through", func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		u := mustCreateUser(t, s, "u0001", "alice")
		sess := mustCreateSession(t, s, "u0001", "s0001")
		rot := domain.Rotation{SessionID: "s0001", NewHash: hash("s0001/1"), SealedSuccessor: []byte("sealed-1"), At: elsewhere(at(time.Hour))}
		testkit.WantErr(t, "RotateRefreshToken", s.RotateRefreshToken(ctx(t), rot), nil)
		sess.Generation, sess.RotatedAt, sess.SealedSuccessor = 1, at(time.Hour), []byte("sealed-1")
		sess.LastUsedAt = sess.RotatedAt

		// The previous token still leads to the session, now a generation
		// ahead of it: that is how a racing client gets the successor.
		old := &domain.RefreshToken{Hash: hash("s0001/0"), SessionID: "s0001", CreatedAt: at(time.Minute)}
		if d := grantMismatch(mustGrant(t, s, "s0001/0"), old, sess, u); d != "" {
			t.Errorf("RefreshGrant(previous) after rotation (-want +got):\n%s", d)
		}
		cur := &domain.RefreshToken{Hash: hash("s0001/1"), SessionID: "s0001", Generation: 1, CreatedAt: at(time.Hour)}
		if d := grantMismatch(mustGrant(t, s, "s0001/1"), cur, sess, u); d != "" {
			t.Errorf("RefreshGrant(current) after rotation (-want +got):\n%s", d)
		}

		// Revoked sessions and disabled users are returned, not hidden.
		mustRevoke(t, s, domain.SessionRevocation{SessionID: "s0001", At: elsewhere(at(2 * time.Hour)), FeedExpires: at(3 * time.Hour)}, "s0001")
		sess.RevokedAt = at(2 * time.Hour)
		u.Disabled, u.UpdatedAt = true, at(2*time.Hour)
		_, _, err := s.ChangeUser(ctx(t), domain.UserChange{UserID: u.ID, Disabled: &u.Disabled, At: elsewhere(at(2 * time.Hour))})
		testkit.WantErr(t, "ChangeUser(disabled)", err, nil)
		if d := grantMismatch(mustGrant(t, s, "s0001/1"), cur, sess, u); d != "" {
			t.Errorf("RefreshGrant after revocation and disabling (-want +got):\n%s", d)
		}
	})

	t.Run("returned grants are copies", func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		u := mustCreateUser(t, s, "u0001", "alice")
		u.Roles = []string{"ops"}
		_, _, err := s.ChangeUser(ctx(t), domain.UserChange{UserID: u.ID, Roles: &u.Roles, At: u.UpdatedAt})
		testkit.WantErr(t, "ChangeUser(roles)", err, nil)
		sess := mustCreateSession(t, s, "u0001", "s0001")
		rot := domain.Rotation{SessionID: "s0001", NewHash: hash("s0001/1"), SealedSuccessor: []byte("sealed"), At: at(time.Hour)}
		testkit.WantErr(t, "RotateRefreshToken", s.RotateRefreshToken(ctx(t), rot), nil)
		sess.Generation, sess.RotatedAt, sess.SealedSuccessor = 1, at(time.Hour), []byte("sealed")
		sess.LastUsedAt = sess.RotatedAt

		got := mustGrant(t, s, "s0001/1")
		got.Token.Hash[0] ^= 0xff
		got.Session.Scope[0] = "changed"
		got.Session.SealedSuccessor[0] = 'X'
		got.User.Roles[0] = "changed"

		tok := &domain.RefreshToken{Hash: hash("s0001/1"), SessionID: "s0001", Generation: 1, CreatedAt: at(time.Hour)}
		if d := grantMismatch(mustGrant(t, s, "s0001/1"), tok, sess, u); d != "" {
			t.Errorf("store aliased a returned grant (-want +got):\n%s", d)
		}
	})
}
