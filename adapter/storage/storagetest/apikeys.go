package storagetest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/domain"
	"github.com/gatehouse-auth/gatehouse/internal/testkit"
)

// newKey returns a key fixture of userID named id, created at created and
// expiring a year later, whose hash is hash("key/"+id).
func newKey(userID, id string, created time.Time) *domain.APIKey {
	return &domain.APIKey{
		ID:        id,
		UserID:    userID,
		Name:      "ci " + id,
		Hint:      "gth_" + id,
		Scope:     []string{"reports:read"},
		Hash:      hash("key/" + id),
		CreatedAt: created,
		ExpiresAt: created.Add(365 * 24 * time.Hour),
	}
}

func mustCreateKey(t *testing.T, s Stores, k *domain.APIKey) {
	t.Helper()
	testkit.WantErr(t, fmt.Sprintf("CreateAPIKey(%q)", k.ID), s.CreateAPIKey(ctx(t), k, domain.MaxLiveAPIKeys, nil), nil)
}

// keyFeed returns the revocation ids in the feed (live at base).
func keyFeed(t *testing.T, s Stores) []string {
	t.Helper()
	return feedSessions(mustFeed(t, s, 0, at(0), 0))
}

func testAPIKeys(t *testing.T, newStores factory) {
	testPruneAPIKeys(t, newStores)
	t.Run("round trip", func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		u := mustCreateUser(t, s, "u0001", "alice")
		k := newKey("u0001", "k0001", elsewhere(at(time.Minute)))
		k.LastUsedAt = at(2 * time.Minute)
		k.RevokedAt = at(3 * time.Minute)
		covers(t, k)
		mustCreateKey(t, s, k)
		k2 := newKey("u0001", "k0002", at(time.Hour))
		k2.Scope = nil
		mustCreateKey(t, s, k2)

		got, err := s.APIKeyByID(ctx(t), "k0001")
		testkit.WantErr(t, "APIKeyByID", err, nil)
		if d := mismatch(got, k); d != "" {
			t.Errorf("APIKeyByID (-want +got):\n%s", d)
		}
		g, err := s.APIKeyGrant(ctx(t), hash("key/k0002"))
		testkit.WantErr(t, "APIKeyGrant", err, nil)
		if d := mismatch(g, &domain.APIKeyGrant{Key: *k2, User: *u}); d != "" {
			t.Errorf("APIKeyGrant (-want +got):\n%s", d)
		}
		list, err := s.ListAPIKeys(ctx(t), "u0001")
		testkit.WantErr(t, "ListAPIKeys", err, nil)
		if d := mismatch(list, []domain.APIKey{*k2, *k}); d != "" {
			t.Errorf("ListAPIKeys: newest first (-want +got):\n%s", d)
		}
		list, err = s.ListAPIKeys(ctx(t), "nobody")
		testkit.WantErr(t, "ListAPIKeys(nobody)", err, nil)
		if len(list) != 0 {
			t.Errorf("ListAPIKeys(nobody) = %v; want none", list)
		}
		_, err = s.APIKeyGrant(ctx(t), hash("key/none"))
		testkit.WantErr(t, "APIKeyGrant(unknown)", err, domain.ErrNotFound)
		_, err = s.APIKeyByID(ctx(t), "none")
		testkit.WantErr(t, "APIKeyByID(unknown)", err, domain.ErrNotFound)
	})

	t.Run("create refuses a missing or disabled user and a taken hash", func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		mustCreateUser(t, s, "u0001", "alice")
		mustCreateUser(t, s, "u0002", "bob")
		testkit.WantErr(t, "CreateAPIKey(no user)", s.CreateAPIKey(ctx(t), newKey("nobody", "k0001", at(0)), 100, nil), domain.ErrNotFound)
		mustCreateKey(t, s, newKey("u0001", "k0001", at(0)))
		dup := newKey("u0001", "k0002", at(0))
		dup.Hash = hash("key/k0001")
		testkit.WantErr(t, "CreateAPIKey(taken hash)", s.CreateAPIKey(ctx(t), dup, 100, nil), domain.ErrConflict)
		yes := true
		change(t, s, domain.UserChange{UserID: "u0002", Disabled: &yes, At: at(time.Hour)}, nil)
		testkit.WantErr(t, "CreateAPIKey(disabled user)", s.CreateAPIKey(ctx(t), newKey("u0002", "k0003", at(2*time.Hour)), 100, nil), domain.ErrConflict)
	})

	t.Run("at most max live keys; revoked and expired ones do not count", func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		mustCreateUser(t, s, "u0001", "alice")
		mustCreateUser(t, s, "u0002", "bob")
		for i := range 3 {
			testkit.WantErr(t, "CreateAPIKey", s.CreateAPIKey(ctx(t), newKey("u0001", fmt.Sprintf("k%04d", i), at(0)), 3, nil), nil)
		}
		testkit.WantErr(t, "CreateAPIKey(4th)", s.CreateAPIKey(ctx(t), newKey("u0001", "k0010", at(0)), 3, nil), domain.ErrTooManyAPIKeys)
		testkit.WantErr(t, "CreateAPIKey(other user)", s.CreateAPIKey(ctx(t), newKey("u0002", "k0011", at(0)), 3, nil), nil)
		_, err := s.RevokeAPIKey(ctx(t), domain.APIKeyRevocation{ID: "k0000", At: at(time.Minute), FeedExpires: at(time.Hour)})
		testkit.WantErr(t, "RevokeAPIKey", err, nil)
		testkit.WantErr(t, "CreateAPIKey(after a revocation)", s.CreateAPIKey(ctx(t), newKey("u0001", "k0012", at(2*time.Minute)), 3, nil), nil)
		short := newKey("u0001", "k0013", at(3*time.Minute))
		testkit.WantErr(t, "CreateAPIKey(full)", s.CreateAPIKey(ctx(t), short, 3, nil), domain.ErrTooManyAPIKeys)
		// A year later every key has expired.
		testkit.WantErr(t, "CreateAPIKey(after expiry)", s.CreateAPIKey(ctx(t), newKey("u0001", "k0014", at(400*24*time.Hour)), 3, nil), nil)
	})

	t.Run("of 101 concurrent creations exactly 100 win", func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		mustCreateUser(t, s, "u0001", "alice")
		var won, full atomic.Int32
		var wg sync.WaitGroup
		for i := range domain.MaxLiveAPIKeys + 1 {
			wg.Go(func() {
				err := s.CreateAPIKey(ctx(t), newKey("u0001", fmt.Sprintf("k%04d", i), at(0)), domain.MaxLiveAPIKeys, nil)
				switch {
				case err == nil:
					won.Add(1)
				case errors.Is(err, domain.ErrTooManyAPIKeys):
					full.Add(1)
				default:
					t.Errorf("CreateAPIKey(k%04d) = %v; want nil or ErrTooManyAPIKeys", i, err)
				}
			})
		}
		wg.Wait()
		if won.Load() != domain.MaxLiveAPIKeys || full.Load() != 1 {
			t.Fatalf("101 concurrent creations: %d won, %d full; want 100 and 1", won.Load(), full.Load())
		}
		list, err := s.ListAPIKeys(ctx(t), "u0001")
		testkit.WantErr(t, "ListAPIKeys", err, nil)
		if len(list) != domain.MaxLiveAPIKeys {
			t.Fatalf("stored %d keys; want 100", len(list))
		}
	})

	t.Run("revoke by id feeds the key once; another user's is not found", func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		mustCreateUser(t, s, "u0001", "alice")
		mustCreateUser(t, s, "u0002", "bob")
		k := newKey("u0001", "k0001", at(0))
		mustCreateKey(t, s, k)
		_, err := s.RevokeAPIKey(ctx(t), domain.APIKeyRevocation{ID: "k0001", UserID: "u0002", At: at(time.Hour), FeedExpires: at(2 * time.Hour)})
		testkit.WantErr(t, "RevokeAPIKey(other user's)", err, domain.ErrNotFound)
		_, err = s.RevokeAPIKey(ctx(t), domain.APIKeyRevocation{ID: "none", At: at(time.Hour), FeedExpires: at(2 * time.Hour)})
		testkit.WantErr(t, "RevokeAPIKey(unknown)", err, domain.ErrNotFound)

		revoked, err := s.RevokeAPIKey(ctx(t), domain.APIKeyRevocation{ID: "k0001", UserID: "u0001", At: elsewhere(at(time.Hour)), FeedExpires: at(2 * time.Hour)})
		testkit.WantErr(t, "RevokeAPIKey", err, nil)
		got, _ := s.APIKeyByID(ctx(t), "k0001")
		k.RevokedAt = at(time.Hour)
		if d := mismatch(got, k); d != "" || !revoked {
			t.Errorf("RevokeAPIKey = %v (-want +got):\n%s", revoked, d)
		}
		revoked, err = s.RevokeAPIKey(ctx(t), domain.APIKeyRevocation{ID: "k0001", At: at(3 * time.Hour), FeedExpires: at(4 * time.Hour)})
		testkit.WantErr(t, "RevokeAPIKey(again)", err, nil)
		if again, _ := s.APIKeyByID(ctx(t), "k0001"); revoked || !again.RevokedAt.Equal(at(time.Hour)) {
			t.Errorf("second revocation = %v, moved RevokedAt to %v", revoked, again.RevokedAt)
		}
		feed := mustFeed(t, s, 0, at(0), 0)
		want := []domain.Revocation{{SessionID: "key:k0001", UserID: "u0001", At: at(time.Hour), Expires: at(2 * time.Hour)}}
		if d := mismatch(feed, want, storeAssignedSeq()); d != "" {
			t.Errorf("feed after revoking a key twice (-want +got):\n%s", d)
		}
		if ok, err := s.TouchAPIKey(ctx(t), "k0001", at(5*time.Hour), time.Minute); err != nil || ok {
			t.Errorf("TouchAPIKey(revoked) = %v, %v; want false, nil", ok, err)
		}
	})

	t.Run("touch writes at most once per interval", func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		mustCreateUser(t, s, "u0001", "alice")
		mustCreateKey(t, s, newKey("u0001", "k0001", at(0)))
		for _, tt := range []struct {
			at   time.Time
			want bool
		}{
			{elsewhere(at(time.Hour)), true},
			{at(time.Hour + 30*time.Second), false},
			{at(time.Hour + time.Minute), true},
			{at(time.Hour + time.Minute + time.Second), false},
			{at(2 * time.Hour), true},
		} {
			ok, err := s.TouchAPIKey(ctx(t), "k0001", tt.at, time.Minute)
			if err != nil || ok != tt.want {
				t.Errorf("TouchAPIKey(%v) = %v, %v; want %v", tt.at, ok, err, tt.want)
			}
		}
		got, err := s.APIKeyByID(ctx(t), "k0001")
		testkit.WantErr(t, "APIKeyByID", err, nil)
		if !got.LastUsedAt.Equal(at(2 * time.Hour)) {
			t.Errorf("LastUsedAt = %v; want %v", got.LastUsedAt, at(2*time.Hour))
		}
		if ok, err := s.TouchAPIKey(ctx(t), "none", at(3*time.Hour), time.Minute); err != nil || ok {
			t.Errorf("TouchAPIKey(unknown) = %v, %v; want false, nil", ok, err)
		}
	})

	t.Run("disabling revokes keys in the same change; a password change does not", func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		mustCreateUser(t, s, "u0001", "alice")
		mustCreateUser(t, s, "u0002", "bob")
		mustCreateSession(t, s, "u0001", "s0001")
		mustCreateKey(t, s, newKey("u0001", "k0001", at(0)))
		mustCreateKey(t, s, newKey("u0001", "k0002", at(0)))
		mustCreateKey(t, s, newKey("u0002", "k0003", at(0)))

		_, ids, err := s.ChangeUser(ctx(t), domain.UserChange{UserID: "u0001", PasswordHash: "$2a$10$new", EndSessions: true, At: at(time.Hour), FeedExpires: at(2 * time.Hour)})
		testkit.WantErr(t, "ChangeUser(password)", err, nil)
		if !slices.Equal(ids, []string{"s0001"}) {
			t.Errorf("ChangeUser(password) revoked %q; want the session only", ids)
		}
		if k, _ := s.APIKeyByID(ctx(t), "k0001"); k == nil || k.Revoked() {
			t.Fatalf("a password change revoked key k0001: %+v", k)
		}

		yes := true
		_, ids, err = s.ChangeUser(ctx(t), domain.UserChange{UserID: "u0001", Disabled: &yes, EndSessions: true, RevokeAPIKeys: true, At: at(3 * time.Hour), FeedExpires: at(4 * time.Hour)})
		testkit.WantErr(t, "ChangeUser(disable)", err, nil)
		slices.Sort(ids)
		if !slices.Equal(ids, []string{"key:k0001", "key:k0002"}) {
			t.Errorf("ChangeUser(disable) revoked %q; want both keys of the user", ids)
		}
		for _, id := range []string{"k0001", "k0002"} {
			if k, _ := s.APIKeyByID(ctx(t), id); k == nil || !k.RevokedAt.Equal(at(3*time.Hour)) {
				t.Errorf("key %s after disable: %+v; want revoked at %v", id, k, at(3*time.Hour))
			}
		}
		if k, _ := s.APIKeyByID(ctx(t), "k0003"); k == nil || k.Revoked() {
			t.Errorf("another user's key was revoked: %+v", k)
		}
		feed := keyFeed(t, s)
		slices.Sort(feed)
		if !slices.Equal(feed, []string{"key:k0001", "key:k0002", "s0001"}) {
			t.Errorf("feed = %q; want both keys and the session", feed)
		}
	})

	t.Run("deleting a user revokes and removes its keys", func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		mustCreateUser(t, s, "u0001", "alice")
		mustCreateSession(t, s, "u0001", "s0001")
		mustCreateKey(t, s, newKey("u0001", "k0001", at(0)))
		revoked := newKey("u0001", "k0002", at(0))
		mustCreateKey(t, s, revoked)
		_, err := s.RevokeAPIKey(ctx(t), domain.APIKeyRevocation{ID: "k0002", At: at(time.Minute), FeedExpires: at(time.Hour)})
		testkit.WantErr(t, "RevokeAPIKey", err, nil)

		ids, err := s.DeleteUser(ctx(t), domain.UserDeletion{ID: "u0001", At: at(time.Hour), FeedExpires: at(2 * time.Hour)})
		testkit.WantErr(t, "DeleteUser", err, nil)
		slices.Sort(ids)
		if !slices.Equal(ids, []string{"key:k0001", "s0001"}) {
			t.Errorf("DeleteUser revoked %q; want the live key and the session", ids)
		}
		_, err = s.APIKeyGrant(ctx(t), hash("key/k0001"))
		testkit.WantErr(t, "APIKeyGrant(deleted user)", err, domain.ErrNotFound)
		list, err := s.ListAPIKeys(ctx(t), "u0001")
		testkit.WantErr(t, "ListAPIKeys", err, nil)
		if len(list) != 0 {
			t.Errorf("keys of a deleted user: %v", list)
		}
		// The user's name may be taken again; the old keys stay gone.
		mustCreateUser(t, s, "u0002", "alice")
		mustCreateKey(t, s, newKey("u0002", "k0003", at(2*time.Hour)))
	})

	t.Run("revoke racing use: every read after the revocation sees it", func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		mustCreateUser(t, s, "u0001", "alice")
		mustCreateKey(t, s, newKey("u0001", "k0001", at(0)))
		var done atomic.Bool
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Go(func() {
				for n := 0; ; n++ {
					after := done.Load()
					g, err := s.APIKeyGrant(ctx(t), hash("key/k0001"))
					if err != nil {
						t.Errorf("APIKeyGrant = %v", err)
						return
					}
					if after && !g.Key.Revoked() {
						t.Errorf("a read started after RevokeAPIKey returned sees the key live")
						return
					}
					if _, err := s.TouchAPIKey(ctx(t), "k0001", at(time.Duration(i*1000+n)*time.Minute), time.Minute); err != nil {
						t.Errorf("TouchAPIKey = %v", err)
						return
					}
					if after {
						return
					}
				}
			})
		}
		var rwg sync.WaitGroup
		var wins atomic.Int32
		for range 4 {
			rwg.Go(func() {
				revoked, err := s.RevokeAPIKey(ctx(t), domain.APIKeyRevocation{ID: "k0001", At: at(time.Hour), FeedExpires: at(2 * time.Hour)})
				testkit.WantErr(t, "RevokeAPIKey", err, nil)
				if revoked {
					wins.Add(1)
				}
			})
		}
		rwg.Wait()
		if wins.Load() != 1 {
			t.Errorf("%d of 4 concurrent revocations report revoking; want 1", wins.Load())
		}
		done.Store(true)
		wg.Wait()
		k, err := s.APIKeyByID(ctx(t), "k0001")
		testkit.WantErr(t, "APIKeyByID", err, nil)
		if !k.RevokedAt.Equal(at(time.Hour)) {
			t.Errorf("RevokedAt = %v after racing touches; want %v", k.RevokedAt, at(time.Hour))
		}
		if feed := keyFeed(t, s); !slices.Equal(feed, []string{"key:k0001"}) {
			t.Errorf("feed = %q; want the key once", feed)
		}
	})
}
