package password

import (
	"context"
	"errors"
	"runtime"
	"testing"

	"github.com/gatehouse-auth/gatehouse/domain"
)

// TestLimiter drives the queue deterministically: the first hash is held
// inside its slot by the beforeWork hook while others arrive.
func TestLimiter(t *testing.T) {
	t.Parallel()
	h := New(Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 1, 1)
	entered, hold := make(chan struct{}), make(chan struct{})
	h.beforeWork = func() {
		entered <- struct{}{}
		<-hold
	}
	ctx := context.Background()
	first := make(chan error, 1)
	go func() {
		_, err := h.Hash(ctx, "first-password")
		first <- err
	}()
	<-entered // the first caller holds the only slot
	if d := h.QueueDepth(); d != 1 {
		t.Fatalf("QueueDepth() = %d with one running; want 1", d)
	}

	waitCtx, cancelWait := context.WithCancel(ctx)
	waiter := make(chan error, 1)
	go func() {
		_, err := h.Hash(waitCtx, "second-password")
		waiter <- err
	}()
	for h.QueueDepth() != 2 { // the second caller is admitted and waiting
		runtime.Gosched()
	}

	if !h.Saturated() {
		t.Fatal("Saturated() = false with the slot and the queue taken; want true")
	}
	if _, err := h.Hash(ctx, "third-password"); !errors.Is(err, domain.ErrOverloaded) {
		t.Fatalf("Hash() with a full queue error = %v; want ErrOverloaded", err)
	}
	if _, _, err := h.Verify(ctx, "$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$KWBrbXN1rP+yjOzySVVgLq3qJ0p69XjuzbmAmb7uLHs", "x"); !errors.Is(err, domain.ErrOverloaded) {
		t.Fatalf("Verify() with a full queue error = %v; want ErrOverloaded", err)
	}

	cancelWait()
	if err := <-waiter; !errors.Is(err, context.Canceled) {
		t.Fatalf("waiting Hash() after cancel error = %v; want context.Canceled", err)
	}
	if d := h.QueueDepth(); d != 1 {
		t.Fatalf("QueueDepth() = %d after the waiter left; want 1", d)
	}
	if h.Saturated() {
		t.Fatal("Saturated() = true with a queue place free; want false")
	}

	// A new caller may queue again now that a place is free.
	next := make(chan error, 1)
	go func() {
		_, err := h.Hash(ctx, "fourth-password")
		next <- err
	}()
	for h.QueueDepth() != 2 {
		runtime.Gosched()
	}
	close(hold)
	go func() {
		for range entered { // let the fourth caller through the hook
		}
	}()
	if err := <-first; err != nil {
		t.Fatalf("first Hash() error = %v", err)
	}
	if err := <-next; err != nil {
		t.Fatalf("queued Hash() error = %v", err)
	}
	close(entered)
	if d := h.QueueDepth(); d != 0 {
		t.Fatalf("QueueDepth() = %d at rest; want 0", d)
	}
}
