package storagetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/domain"
	"github.com/gatehouse-auth/gatehouse/internal/testkit"
)

func testRotation(t *testing.T, newStores factory) {
	t.Run("rotate moves to the next generation", func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		mustCreateUser(t, s, "u0001", "alice")
		want := mustCreateSession(t, s, "u0001", "s0001")

		rot := domain.Rotation{SessionID: "s0001", FromGeneration: 0, NewHash: hash("s0001/1"), SealedSuccessor: []byte("sealed-1"), At: elsewhere(at(time.Hour))}
		testkit.WantErr(t, "RotateRefreshToken(0->1)", s.RotateRefreshToken(ctx(t), rot), nil)
		want.Generation, want.RotatedAt, want.SealedSuccessor = 1, at(time.Hour), []byte("sealed-1")
		want.LastUsedAt = want.RotatedAt
		covers(t, want, "RevokedAt") // round-tripped by the refresh grant tests
		got, err := s.SessionByID(ctx(t), "s0001")
		testkit.WantErr(t, "SessionByID", err, nil)
		if d := mismatch(got, want); d != "" {
			t.Errorf("after rotation (-want +got):\n%s", d)
		}
		tok, err := s.RefreshTokenByHash(ctx(t), hash("s0001/1"))
		testkit.WantErr(t, "RefreshTokenByHash(new)", err, nil)
		wantTok := &domain.RefreshToken{Hash: hash("s0001/1"), SessionID: "s0001", Generation: 1, CreatedAt: at(time.Hour)}
		covers(t, wantTok)
		if d := mismatch(tok, wantTok); d != "" {
			t.Errorf("new token (-want +got):\n%s", d)
		}
		old, err := s.RefreshTokenByHash(ctx(t), hash("s0001/0"))
		testkit.WantErr(t, "RefreshTokenByHash(old)", err, nil)
		if old.Generation != 0 || old.SessionID != "s0001" {
			t.Errorf("old token = generation %d of %q; want generation 0 of s0001", old.Generation, old.SessionID)
		}

		rot = domain.Rotation{SessionID: "s0001", FromGeneration: 1, NewHash: hash("s0001/2"), SealedSuccessor: []byte("sealed-2"), At: at(2 * time.Hour)}
		testkit.WantErr(t, "RotateRefreshToken(1->2)", s.RotateRefreshToken(ctx(t), rot), nil)
		tok, err = s.RefreshTokenByHash(ctx(t), hash("s0001/2"))
		testkit.WantErr(t, "RefreshTokenByHash(second)", err, nil)
		if tok.Generation != 2 {
			t.Errorf("second rotation token generation = %d; want 2", tok.Generation)
		}
	})

	t.Run("stale or future generation is ErrConflict", func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		mustCreateUser(t, s, "u0001", "alice")
		mustCreateSession(t, s, "u0001", "s0001")
		rot := domain.Rotation{SessionID: "s0001", FromGeneration: 0, NewHash: hash("win"), SealedSuccessor: []byte("w"), At: at(time.Hour)}
		testkit.WantErr(t, "RotateRefreshToken(first)", s.RotateRefreshToken(ctx(t), rot), nil)
		for _, from := range []int64{0, 2} {
			stale := domain.Rotation{SessionID: "s0001", FromGeneration: from, NewHash: hash(fmt.Sprint("lose", from)), SealedSuccessor: []byte("l"), At: at(2 * time.Hour)}
			testkit.WantErr(t, fmt.Sprintf("RotateRefreshToken(from %d)", from), s.RotateRefreshToken(ctx(t), stale), domain.ErrConflict)
			_, err := s.RefreshTokenByHash(ctx(t), stale.NewHash)
			testkit.WantErr(t, "RefreshTokenByHash(losing hash)", err, domain.ErrNotFound)
		}
		got, err := s.SessionByID(ctx(t), "s0001")
		testkit.WantErr(t, "SessionByID", err, nil)
		if got.Generation != 1 || string(got.SealedSuccessor) != "w" || !got.RotatedAt.Equal(at(time.Hour)) {
			t.Errorf("losing rotation changed the session: %+v", got)
		}
	})

	t.Run("revoked session is ErrConflict", func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		mustCreateUser(t, s, "u0001", "alice")
		mustCreateSession(t, s, "u0001", "s0001")
		_, err := s.RevokeSessions(ctx(t), domain.SessionRevocation{SessionID: "s0001", At: at(time.Hour), FeedExpires: at(2 * time.Hour)})
		testkit.WantErr(t, "RevokeSessions", err, nil)
		rot := domain.Rotation{SessionID: "s0001", FromGeneration: 0, NewHash: hash("after-revoke"), At: at(2 * time.Hour)}
		testkit.WantErr(t, "RotateRefreshToken(revoked)", s.RotateRefreshToken(ctx(t), rot), domain.ErrConflict)
		_, err = s.RefreshTokenByHash(ctx(t), hash("after-revoke"))
		testkit.WantErr(t, "RefreshTokenByHash(rejected)", err, domain.ErrNotFound)
	})

	t.Run("unknown session is ErrNotFound", func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		rot := domain.Rotation{SessionID: "s0404", FromGeneration: 0, NewHash: hash("x"), At: at(0)}
		testkit.WantErr(t, "RotateRefreshToken(unknown)", s.RotateRefreshToken(ctx(t), rot), domain.ErrNotFound)
	})

	t.Run("concurrent rotations: exactly one wins", func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		mustCreateUser(t, s, "u0001", "alice")
		mustCreateSession(t, s, "u0001", "s0001")
		const from = 3
		for g := range int64(from) {
			rot := domain.Rotation{SessionID: "s0001", FromGeneration: g, NewHash: hash(fmt.Sprint("warm", g)), At: at(time.Minute)}
			testkit.WantErr(t, "RotateRefreshToken(warm-up)", s.RotateRefreshToken(ctx(t), rot), nil)
		}

		const n = 100
		errs := make([]error, n)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				<-start
				rot := domain.Rotation{
					SessionID:       "s0001",
					FromGeneration:  from,
					NewHash:         hash(fmt.Sprint("race", i)),
					SealedSuccessor: fmt.Appendf(nil, "sealed-%d", i),
					At:              at(time.Hour),
				}
				errs[i] = s.RotateRefreshToken(ctx(t), rot)
			})
		}
		close(start)
		wg.Wait()

		winner, conflicts := -1, 0
		for i, err := range errs {
			switch {
			case err == nil && winner >= 0:
				t.Fatalf("rotations %d and %d both succeeded", winner, i)
			case err == nil:
				winner = i
			case errors.Is(err, domain.ErrConflict):
				conflicts++
			default:
				t.Fatalf("rotation %d = %v; want nil or ErrConflict", i, err)
			}
		}
		if winner < 0 || conflicts != n-1 {
			t.Fatalf("concurrent rotations: winner %d, %d conflicts; want one winner and %d conflicts", winner, conflicts, n-1)
		}
		got, err := s.SessionByID(ctx(t), "s0001")
		testkit.WantErr(t, "SessionByID", err, nil)
		if got.Generation != from+1 || string(got.SealedSuccessor) != fmt.Sprintf("sealed-%d", winner) {
			t.Fatalf("after race: generation %d, sealed %q; want %d, %q", got.Generation, got.SealedSuccessor, from+1, fmt.Sprintf("sealed-%d", winner))
		}
		for i := range n {
			_, err := s.RefreshTokenByHash(ctx(t), hash(fmt.Sprint("race", i)))
			if i == winner {
				testkit.WantErr(t, "RefreshTokenByHash(winner)", err, nil)
			} else {
				testkit.WantErr(t, fmt.Sprintf("RefreshTokenByHash(loser %d)", i), err, domain.ErrNotFound)
			}
		}
	})
}
