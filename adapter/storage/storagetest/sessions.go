package storagetest

import (
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/domain"
	"github.com/gatehouse-auth/gatehouse/internal/testkit"
)

func testSessions(t *testing.T, newStores factory) {
	t.Run("create, get session and first refresh token", func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		mustCreateUser(t, s, "u0001", "alice")
		want := &domain.Session{
			ID:         "s0001",
			UserID:     "u0001",
			UserStamp:  1,
			Scope:      []string{"openid", "email"},
			CreatedAt:  elsewhere(at(time.Minute)),
			ExpiresAt:  at(720 * time.Hour),
			RotatedAt:  at(time.Minute),
			LastUsedAt: elsewhere(at(time.Minute)),
			IP:         "2001:db8::1",
			UserAgent:  "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) ünïcode",
			AMR:        []string{domain.AMRPassword, domain.AMROTP},
			ACR:        domain.ACRAAL2,
		}
		covers(t, want, "Generation", "SealedSuccessor", "RevokedAt") // rotation and revocation tests
		first := domain.RefreshToken{Hash: hash("first"), SessionID: "s0001", CreatedAt: at(time.Minute)}
		testkit.WantErr(t, "CreateSession", s.CreateSession(ctx(t), want, first), nil)

		got, err := s.SessionByID(ctx(t), "s0001")
		testkit.WantErr(t, "SessionByID", err, nil)
		if d := mismatch(got, want); d != "" {
			t.Errorf("SessionByID (-want +got):\n%s", d)
		}
		if got.Revoked() {
			t.Errorf("new session Revoked() = true; want false")
		}
		tok, err := s.RefreshTokenByHash(ctx(t), hash("first"))
		testkit.WantErr(t, "RefreshTokenByHash", err, nil)
		if d := mismatch(tok, &first); d != "" {
			t.Errorf("RefreshTokenByHash (-want +got):\n%s", d)
		}
	})

	t.Run("list live sessions of a user, newest first", func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		mustCreateUser(t, s, "u0001", "alice")
		mustCreateUser(t, s, "u0002", "bob")
		create := func(id, user string, created, expires time.Duration) *domain.Session {
			t.Helper()
			sess := &domain.Session{
				ID: id, UserID: user, UserStamp: 1, Scope: []string{"openid"},
				CreatedAt: elsewhere(at(created)), ExpiresAt: at(expires), RotatedAt: at(created), LastUsedAt: at(created),
				IP: "192.0.2." + id[len(id)-1:], UserAgent: "agent " + id,
			}
			first := domain.RefreshToken{Hash: hash(id + "/0"), SessionID: id, CreatedAt: at(created)}
			testkit.WantErr(t, "CreateSession("+id+")", s.CreateSession(ctx(t), sess, first), nil)
			return sess
		}
		old := create("s0001", "u0001", time.Minute, 48*time.Hour)
		newer := create("s0002", "u0001", time.Hour, 48*time.Hour)
		// Same creation time as s0002: the id breaks the tie, descending.
		tie := create("s0003", "u0001", time.Hour, 48*time.Hour)
		create("s0004", "u0001", 2*time.Hour, 48*time.Hour) // revoked below
		create("s0005", "u0001", 3*time.Hour, 24*time.Hour) // expires exactly at now
		create("s0006", "u0002", 4*time.Hour, 48*time.Hour) // bob's
		mustRevoke(t, s, domain.SessionRevocation{SessionID: "s0004", At: at(5 * time.Hour), FeedExpires: at(6 * time.Hour)}, "s0004")
		rot := domain.Rotation{SessionID: "s0001", NewHash: hash("s0001/1"), SealedSuccessor: []byte("sealed"), At: elsewhere(at(10 * time.Hour))}
		testkit.WantErr(t, "RotateRefreshToken(s0001)", s.RotateRefreshToken(ctx(t), rot), nil)
		old.Generation, old.RotatedAt, old.SealedSuccessor = 1, at(10*time.Hour), []byte("sealed")
		old.LastUsedAt = old.RotatedAt

		got, err := s.ListSessions(ctx(t), "u0001", elsewhere(at(24*time.Hour)))
		testkit.WantErr(t, "ListSessions(alice)", err, nil)
		want := []domain.Session{*tie, *newer, *old}
		if d := mismatch(got, want); d != "" {
			t.Errorf("ListSessions(alice) (-want +got):\n%s", d)
		}
		got, err = s.ListSessions(ctx(t), "u0404", at(0))
		testkit.WantErr(t, "ListSessions(unknown user)", err, nil)
		if len(got) != 0 {
			t.Errorf("ListSessions(unknown user) = %d sessions; want 0", len(got))
		}
		got, err = s.ListSessions(ctx(t), "u0001", at(48*time.Hour))
		testkit.WantErr(t, "ListSessions(alice, after every end)", err, nil)
		if len(got) != 0 {
			t.Errorf("ListSessions(alice) after every session ended = %d sessions; want 0", len(got))
		}
	})

	t.Run("returned sessions are copies", func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		mustCreateUser(t, s, "u0001", "alice")
		want := mustCreateSession(t, s, "u0001", "s0001")
		rot := domain.Rotation{SessionID: "s0001", NewHash: hash("s0001/1"), SealedSuccessor: []byte("sealed"), At: at(time.Hour)}
		testkit.WantErr(t, "RotateRefreshToken", s.RotateRefreshToken(ctx(t), rot), nil)
		rot.SealedSuccessor[0] = 'X'
		rot.NewHash[0] ^= 0xff

		got, err := s.SessionByID(ctx(t), "s0001")
		testkit.WantErr(t, "SessionByID", err, nil)
		got.Scope[0] = "changed"
		got.SealedSuccessor[0] = 'Y'
		tok, err := s.RefreshTokenByHash(ctx(t), hash("s0001/1"))
		testkit.WantErr(t, "RefreshTokenByHash", err, nil)
		tok.Hash[0] ^= 0xff

		again, err := s.SessionByID(ctx(t), "s0001")
		testkit.WantErr(t, "SessionByID", err, nil)
		want.Generation, want.RotatedAt, want.SealedSuccessor = 1, at(time.Hour), []byte("sealed")
		want.LastUsedAt = want.RotatedAt
		if d := mismatch(again, want); d != "" {
			t.Errorf("store aliased a caller's slice (-want +got):\n%s", d)
		}
		if _, err := s.RefreshTokenByHash(ctx(t), hash("s0001/1")); err != nil {
			t.Errorf("RefreshTokenByHash after mutating a returned hash = %v; want nil", err)
		}
	})

	t.Run("unknown session and token are ErrNotFound", func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		_, err := s.SessionByID(ctx(t), "s0404")
		testkit.WantErr(t, "SessionByID(unknown)", err, domain.ErrNotFound)
		_, err = s.RefreshTokenByHash(ctx(t), hash("nope"))
		testkit.WantErr(t, "RefreshTokenByHash(unknown)", err, domain.ErrNotFound)
	})

	t.Run("session of unknown user is ErrNotFound", func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		sess := &domain.Session{ID: "s0001", UserID: "u0404", CreatedAt: at(0), ExpiresAt: at(time.Hour), RotatedAt: at(0)}
		first := domain.RefreshToken{Hash: hash("orphan"), SessionID: "s0001", CreatedAt: at(0)}
		testkit.WantErr(t, "CreateSession(unknown user)", s.CreateSession(ctx(t), sess, first), domain.ErrNotFound)
		_, err := s.SessionByID(ctx(t), "s0001")
		testkit.WantErr(t, "SessionByID(rejected)", err, domain.ErrNotFound)
		_, err = s.RefreshTokenByHash(ctx(t), hash("orphan"))
		testkit.WantErr(t, "RefreshTokenByHash(rejected)", err, domain.ErrNotFound)
	})

	t.Run("duplicate session id is ErrConflict", func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		mustCreateUser(t, s, "u0001", "alice")
		mustCreateSession(t, s, "u0001", "s0001")
		sess := &domain.Session{ID: "s0001", UserID: "u0001", UserStamp: 1, CreatedAt: at(0), ExpiresAt: at(time.Hour), RotatedAt: at(0)}
		first := domain.RefreshToken{Hash: hash("dup"), SessionID: "s0001", CreatedAt: at(0)}
		testkit.WantErr(t, "CreateSession(duplicate)", s.CreateSession(ctx(t), sess, first), domain.ErrConflict)
		_, err := s.RefreshTokenByHash(ctx(t), hash("dup"))
		testkit.WantErr(t, "RefreshTokenByHash(rejected)", err, domain.ErrNotFound)
	})
}
