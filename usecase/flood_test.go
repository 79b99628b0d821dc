package usecase

import (
	"errors"
	"log/slog"
	"testing"

	"github.com/gatehouse-auth/gatehouse/domain"
)

// saturatedHasher is a fakeHasher whose queue reports itself full.
type saturatedHasher struct{ *fakeHasher }

func (saturatedHasher) Saturated() bool { return true }

// TestLoginShedsFloodBeforeStoreWork: with the hash queue full, Login
// answers ErrOverloaded without reading the store (the user store here
// fails every read) and without hashing.
func TestLoginShedsFloodBeforeStoreWork(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	h := saturatedHasher{&fakeHasher{}}
	login := NewLogin(outageUsers{e.store}, e.store, h, e.tokens, e.throttle, nil, e.policy, e.clock.Now, slog.New(slog.DiscardHandler), nil, nil, nil)
	_, err := login.Login(e.ctx, LoginInput{Username: "alice", Password: "whatever it is", IP: "192.0.2.1"})
	if !errors.Is(err, domain.ErrOverloaded) {
		t.Fatalf("Login with a saturated hasher = %v; want ErrOverloaded (and no store read)", err)
	}
	if h.verifies != 0 {
		t.Errorf("Verify called %d times; want 0", h.verifies)
	}
}
