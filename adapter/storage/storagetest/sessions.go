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
			ID:        "s0001",
			UserID:    "u0001",
			UserStamp: 1,
			Scope:     []string{"openid", "email"},
			CreatedAt: elsewhere(at(time.Minute)),
			ExpiresAt: at(720 * time.Hour),
			RotatedAt: at(time.Minute),
		}
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
