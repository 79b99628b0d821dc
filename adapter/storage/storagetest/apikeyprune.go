package storagetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/domain"
	"github.com/gatehouse-auth/gatehouse/internal/testkit"
)

// mustPruneKeys prunes the keys expired or revoked by before and checks
// the count.
func mustPruneKeys(t *testing.T, s Stores, before time.Time, want int64) {
	t.Helper()
	n, err := s.PruneAPIKeys(ctx(t), before)
	testkit.WantErr(t, fmt.Sprintf("PruneAPIKeys(%v)", before), err, nil)
	if n != want {
		t.Fatalf("PruneAPIKeys(%v) = %d; want %d", before, n, want)
	}
}

// keyIDs returns the ids of keys in order.
func keyIDs(keys []domain.APIKey) []string {
	ids := make([]string, len(keys))
	for i, k := range keys {
		ids[i] = k.ID
	}
	return ids
}

func testPruneAPIKeys(t *testing.T, newStores factory) {
	t.Run("prune removes keys expired or revoked by the cutoff, keeps the others and the feed", func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		mustCreateUser(t, s, "u0001", "alice")
		cutoff := elsewhere(at(10 * time.Hour))
		keys := []struct {
			id              string
			expires, revoke time.Duration // revoke 0: never
			pruned          bool
		}{
			{"k0001", 100 * time.Hour, 0, false},              // live
			{"k0002", 5 * time.Hour, 0, true},                 // expired well before
			{"k0003", 10 * time.Hour, 0, true},                // expired at the cutoff
			{"k0004", 11 * time.Hour, 0, false},               // expired after it
			{"k0005", 100 * time.Hour, 5 * time.Hour, true},   // revoked before
			{"k0006", 100 * time.Hour, 11 * time.Hour, false}, // revoked after
		}
		var kept []string
		for i, k := range keys {
			key := newKey("u0001", k.id, at(time.Duration(i)*time.Second))
			key.ExpiresAt = at(k.expires)
			mustCreateKey(t, s, key)
			if k.revoke != 0 {
				_, err := s.RevokeAPIKey(ctx(t), domain.APIKeyRevocation{ID: k.id, At: at(k.revoke), FeedExpires: at(1000 * time.Hour)})
				testkit.WantErr(t, "RevokeAPIKey("+k.id+")", err, nil)
			}
			if !k.pruned {
				kept = append(kept, k.id)
			}
		}
		mustPruneKeys(t, s, cutoff, 3)

		for _, k := range keys {
			_, err := s.APIKeyByID(ctx(t), k.id)
			_, gerr := s.APIKeyGrant(ctx(t), hash("key/"+k.id))
			switch {
			case k.pruned:
				testkit.WantErr(t, "APIKeyByID("+k.id+") after prune", err, domain.ErrNotFound)
				testkit.WantErr(t, "APIKeyGrant("+k.id+") after prune", gerr, domain.ErrNotFound)
			default:
				testkit.WantErr(t, "APIKeyByID("+k.id+") after prune", err, nil)
				testkit.WantErr(t, "APIKeyGrant("+k.id+") after prune", gerr, nil)
			}
		}
		list, err := s.ListAPIKeys(ctx(t), "u0001")
		testkit.WantErr(t, "ListAPIKeys", err, nil)
		got := keyIDs(list)
		slices.Sort(got)
		if !slices.Equal(got, kept) {
			t.Errorf("ListAPIKeys after prune = %q; want %q", got, kept)
		}
		if feed := keyFeed(t, s); !slices.Equal(feed, []string{"key:k0005", "key:k0006"}) {
			t.Errorf("feed after prune = %q; want both revocations kept", feed)
		}
		mustPruneKeys(t, s, cutoff, 0)
	})

	t.Run("a prune backlog larger than one batch goes in one call", func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		mustCreateUser(t, s, "u0001", "alice")
		const n = 250
		for i := range n {
			// Each key has expired before the next is made, so the live
			// limit never stops one.
			key := newKey("u0001", fmt.Sprintf("k%04d", i), at(time.Duration(i)*time.Minute))
			key.ExpiresAt = key.CreatedAt.Add(time.Minute)
			mustCreateKey(t, s, key)
		}
		mustPruneKeys(t, s, at(n*time.Minute), n)
		if list, err := s.ListAPIKeys(ctx(t), "u0001"); err != nil || len(list) != 0 {
			t.Errorf("ListAPIKeys after pruning the backlog = %d keys, %v; want none", len(list), err)
		}
	})
}
