package storagetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/domain"
	"github.com/gatehouse-auth/gatehouse/internal/testkit"
)

func mustKeys(t *testing.T, s Stores, want ...domain.SigningKey) {
	t.Helper()
	got, err := s.ListKeys(ctx(t))
	testkit.WantErr(t, "ListKeys", err, nil)
	if d := mismatch(got, want); d != "" {
		t.Errorf("ListKeys (want newest first, -want +got):\n%s", d)
	}
}

func testKeys(t *testing.T, newStores factory) {
	t.Run("rotate retires the active key", func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		mustKeys(t, s)
		k1 := domain.SigningKey{ID: "k1", Algorithm: "EdDSA", Private: []byte("private-1"), CreatedAt: at(time.Hour)}
		testkit.WantErr(t, "RotateKey(k1)", s.RotateKey(ctx(t), &k1, nil), nil)
		mustKeys(t, s, k1)

		k2 := domain.SigningKey{ID: "k2", Algorithm: "ES256", Private: []byte("private-2"), CreatedAt: elsewhere(at(2 * time.Hour))}
		testkit.WantErr(t, "RotateKey(k2)", s.RotateKey(ctx(t), &k2, nil), nil)
		k1.RetiredAt = k2.CreatedAt
		covers(t, &k1)
		mustKeys(t, s, k2, k1)

		k3 := domain.SigningKey{ID: "k3", Algorithm: "EdDSA", Private: []byte("private-3"), CreatedAt: at(3 * time.Hour)}
		testkit.WantErr(t, "RotateKey(k3)", s.RotateKey(ctx(t), &k3, nil), nil)
		k2.RetiredAt = k3.CreatedAt
		mustKeys(t, s, k3, k2, k1)

		keys, err := s.ListKeys(ctx(t))
		testkit.WantErr(t, "ListKeys", err, nil)
		active := 0
		for _, k := range keys {
			if k.Active() {
				active++
			}
		}
		if active != 1 || !keys[0].Active() {
			t.Fatalf("%d active keys, newest active %v; want exactly the newest", active, keys[0].Active())
		}
		keys[0].Private[0] = 'X'
		mustKeys(t, s, k3, k2, k1)
	})

	t.Run("delete removes retired keys only", func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		var keys []domain.SigningKey
		for i := 1; i <= 3; i++ {
			k := domain.SigningKey{ID: fmt.Sprintf("k%d", i), Algorithm: "RS256", Private: []byte{byte(i)}, CreatedAt: at(time.Duration(i) * time.Hour)}
			testkit.WantErr(t, "RotateKey", s.RotateKey(ctx(t), &k, nil), nil)
			if i > 1 {
				keys[0].RetiredAt = k.CreatedAt
			}
			keys = append([]domain.SigningKey{k}, keys...)
		}
		testkit.WantErr(t, "DeleteKey(k1)", s.DeleteKey(ctx(t), "k1"), nil)
		testkit.WantErr(t, "DeleteKey(k1 again)", s.DeleteKey(ctx(t), "k1"), domain.ErrNotFound)
		testkit.WantErr(t, "DeleteKey(unknown)", s.DeleteKey(ctx(t), "k404"), domain.ErrNotFound)
		// Deleting the active key would leave nothing to sign with.
		testkit.WantErr(t, "DeleteKey(active)", s.DeleteKey(ctx(t), "k3"), domain.ErrConflict)
		mustKeys(t, s, keys[0], keys[1])
	})

	testConcurrentRotateKey(t, newStores)
}

func testConcurrentRotateKey(t *testing.T, newStores factory) {
	t.Run("concurrent rotations leave one active key", func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		const n = 10
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				k := domain.SigningKey{ID: fmt.Sprintf("k%02d", i), Algorithm: "EdDSA", Private: []byte{byte(i)}, CreatedAt: at(time.Duration(i) * time.Second)}
				if err := s.RotateKey(ctx(t), &k, nil); err != nil {
					t.Errorf("RotateKey(%s) = %v", k.ID, err)
				}
			})
		}
		wg.Wait()
		keys, err := s.ListKeys(ctx(t))
		testkit.WantErr(t, "ListKeys", err, nil)
		active := 0
		for _, k := range keys {
			if k.Active() {
				active++
			}
		}
		if len(keys) != n || active != 1 {
			t.Fatalf("after %d concurrent rotations: %d keys, %d active; want %d keys, 1 active", n, len(keys), active, n)
		}
	})
}
