package storagetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/domain"
	"github.com/gatehouse-auth/gatehouse/internal/testkit"
)

func testUsers(t *testing.T, newStores factory) {
	t.Run("create and get by id and username", func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		want := &domain.User{
			ID:           "u0001",
			Username:     "alice@example.com",
			PasswordHash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA",
			Roles:        []string{domain.RoleAdmin, "ops"},
			MFAEnabled:   true,
			Stamp:        7,
			CreatedAt:    elsewhere(at(0)),
			UpdatedAt:    at(time.Second),
		}
		covers(t, want, "Disabled") // round-tripped by "a change writes only its own fields"
		testkit.WantErr(t, "CreateUser", s.CreateUser(ctx(t), want, nil), nil)
		got, err := s.UserByID(ctx(t), want.ID)
		testkit.WantErr(t, "UserByID", err, nil)
		if d := mismatch(got, want); d != "" {
			t.Errorf("UserByID(%q) (-want +got):\n%s", want.ID, d)
		}
		got, err = s.UserByUsername(ctx(t), want.Username)
		testkit.WantErr(t, "UserByUsername", err, nil)
		if d := mismatch(got, want); d != "" {
			t.Errorf("UserByUsername(%q) (-want +got):\n%s", want.Username, d)
		}
	})

	t.Run("unknown user is ErrNotFound", func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		mustCreateUser(t, s, "u0001", "alice")
		_, err := s.UserByID(ctx(t), "u0002")
		testkit.WantErr(t, `UserByID("u0002")`, err, domain.ErrNotFound)
		_, err = s.UserByUsername(ctx(t), "bob")
		testkit.WantErr(t, `UserByUsername("bob")`, err, domain.ErrNotFound)
		// Lookups are exact on the normalised form the caller stored.
		_, err = s.UserByUsername(ctx(t), "ALICE")
		testkit.WantErr(t, `UserByUsername("ALICE")`, err, domain.ErrNotFound)
	})

	t.Run("duplicate username is ErrUsernameTaken, duplicate id ErrConflict", func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		mustCreateUser(t, s, "u0001", "alice")
		dup := &domain.User{ID: "u0002", Username: "alice", PasswordHash: "x", CreatedAt: at(0), UpdatedAt: at(0)}
		testkit.WantErr(t, "CreateUser(duplicate)", s.CreateUser(ctx(t), dup, nil), domain.ErrUsernameTaken)
		_, err := s.UserByID(ctx(t), "u0002")
		testkit.WantErr(t, "UserByID(rejected duplicate)", err, domain.ErrNotFound)

		sameID := &domain.User{ID: "u0001", Username: "bob", PasswordHash: "x", CreatedAt: at(0), UpdatedAt: at(0)}
		testkit.WantErr(t, "CreateUser(duplicate id)", s.CreateUser(ctx(t), sameID, nil), domain.ErrConflict)
		_, err = s.UserByUsername(ctx(t), "bob")
		testkit.WantErr(t, "UserByUsername(rejected duplicate id)", err, domain.ErrNotFound)
	})

	t.Run("concurrent creates of one username: one wins", func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		const n = 10
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				u := &domain.User{ID: fmt.Sprintf("u%04d", i), Username: "carol", PasswordHash: "x", CreatedAt: at(0), UpdatedAt: at(0)}
				errs[i] = s.CreateUser(ctx(t), u, nil)
			})
		}
		wg.Wait()
		won := 0
		for i, err := range errs {
			if err == nil {
				won++
				continue
			}
			testkit.WantErr(t, fmt.Sprintf("CreateUser #%d", i), err, domain.ErrUsernameTaken)
		}
		if won != 1 {
			t.Fatalf("%d concurrent CreateUser calls succeeded; want 1", won)
		}
	})

	t.Run("stored values are not aliased", func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		u := &domain.User{ID: "u0001", Username: "alice", PasswordHash: "x", Roles: []string{"a", "b"}, CreatedAt: at(0), UpdatedAt: at(0)}
		testkit.WantErr(t, "CreateUser", s.CreateUser(ctx(t), u, nil), nil)
		u.Roles[0] = "changed"
		got, err := s.UserByID(ctx(t), "u0001")
		testkit.WantErr(t, "UserByID", err, nil)
		got.Roles[1] = "changed too"
		again, err := s.UserByID(ctx(t), "u0001")
		testkit.WantErr(t, "UserByID", err, nil)
		if d := mismatch(again, &domain.User{ID: "u0001", Username: "alice", PasswordHash: "x", Roles: []string{"a", "b"}, CreatedAt: at(0), UpdatedAt: at(0)}); d != "" {
			t.Errorf("store kept a caller's slice (-want +got):\n%s", d)
		}
	})

	t.Run("delete removes the user and its sessions", func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		mustCreateUser(t, s, "u0001", "alice")
		mustCreateUser(t, s, "u0002", "bob")
		mustCreateSession(t, s, "u0001", "s0001")
		mustCreateSession(t, s, "u0001", "s0002")
		mustCreateSession(t, s, "u0002", "s0003")
		rot := domain.Rotation{SessionID: "s0001", FromGeneration: 0, NewHash: hash("s0001/1"), SealedSuccessor: []byte("sealed"), At: at(time.Hour)}
		testkit.WantErr(t, "RotateRefreshToken", s.RotateRefreshToken(ctx(t), rot), nil)

		mustRevoke(t, s, domain.SessionRevocation{SessionID: "s0002", At: at(time.Hour), FeedExpires: at(2 * time.Hour)}, "s0002")
		revoked, err := s.DeleteUser(ctx(t), domain.UserDeletion{ID: "u0001", At: elsewhere(at(2 * time.Hour)), FeedExpires: at(3 * time.Hour)})
		testkit.WantErr(t, "DeleteUser", err, nil)
		if fmt.Sprint(revoked) != "[s0001]" {
			t.Errorf("DeleteUser revoked %v; want [s0001], its one live session", revoked)
		}
		feed, err := s.RevocationsSince(ctx(t), 0, at(0), 0)
		testkit.WantErr(t, "RevocationsSince", err, nil)
		if len(feed) != 2 || feed[1].SessionID != "s0001" || feed[1].UserID != "u0001" || !feed[1].At.Equal(at(2*time.Hour)) || !feed[1].Expires.Equal(at(3*time.Hour)) {
			t.Errorf("feed after DeleteUser = %+v; want s0002's entry, then s0001 at +2h expiring +3h", feed)
		}
		_, err = s.UserByID(ctx(t), "u0001")
		testkit.WantErr(t, "UserByID(deleted)", err, domain.ErrNotFound)
		_, err = s.UserByUsername(ctx(t), "alice")
		testkit.WantErr(t, "UserByUsername(deleted)", err, domain.ErrNotFound)
		for _, id := range []string{"s0001", "s0002"} {
			_, err = s.SessionByID(ctx(t), id)
			testkit.WantErr(t, fmt.Sprintf("SessionByID(%q) of deleted user", id), err, domain.ErrNotFound)
		}
		for _, name := range []string{"s0001/0", "s0001/1", "s0002/0"} {
			_, err = s.RefreshTokenByHash(ctx(t), hash(name))
			testkit.WantErr(t, fmt.Sprintf("RefreshTokenByHash(%s) of deleted user", name), err, domain.ErrNotFound)
		}
		if _, err := s.SessionByID(ctx(t), "s0003"); err != nil {
			t.Fatalf("SessionByID of another user = %v; want nil", err)
		}
		if _, err := s.RefreshTokenByHash(ctx(t), hash("s0003/0")); err != nil {
			t.Fatalf("RefreshTokenByHash of another user = %v; want nil", err)
		}
		_, err = s.DeleteUser(ctx(t), domain.UserDeletion{ID: "u0001", At: at(4 * time.Hour), FeedExpires: at(5 * time.Hour)})
		testkit.WantErr(t, "DeleteUser(again)", err, domain.ErrNotFound)
		// The username is free again.
		mustCreateUser(t, s, "u0003", "alice")
	})

	t.Run("list pages through users in id order", func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		for _, i := range []int{5, 2, 7, 1, 4, 6, 3} {
			mustCreateUser(t, s, fmt.Sprintf("u%04d", i), fmt.Sprintf("user%d", i))
		}
		var pages [][]string
		after := ""
		for range 5 {
			page, err := s.ListUsers(ctx(t), after, 3)
			testkit.WantErr(t, fmt.Sprintf("ListUsers(%q, 3)", after), err, nil)
			var ids []string
			for _, u := range page {
				ids = append(ids, u.ID)
				if u.Username == "" || u.CreatedAt.IsZero() {
					t.Errorf("ListUsers returned incomplete user %+v", u)
				}
			}
			pages = append(pages, ids)
			if len(page) == 0 {
				break
			}
			after = page[len(page)-1].ID
		}
		got := fmt.Sprint(pages)
		want := "[[u0001 u0002 u0003] [u0004 u0005 u0006] [u0007] []]"
		if got != want {
			t.Fatalf("ListUsers pages = %s; want %s", got, want)
		}
		page, err := s.ListUsers(ctx(t), "u0003x", 2)
		testkit.WantErr(t, "ListUsers(between ids)", err, nil)
		if len(page) != 2 || page[0].ID != "u0004" || page[1].ID != "u0005" {
			t.Fatalf("ListUsers(%q, 2) = %v; want u0004, u0005", "u0003x", page)
		}
	})
}
