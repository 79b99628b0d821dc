package token_test

import (
	"context"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/adapter/token"
	"github.com/gatehouse-auth/gatehouse/domain"
	"github.com/google/go-cmp/cmp"
)

func TestRotateCommitsItsEvent(t *testing.T) {
	t.Parallel()
	for _, alg := range []string{token.AlgEdDSA, token.AlgES256} {
		t.Run(alg, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			e := newEnv(t, alg, 8)
			if got := e.store.rotationEvents(); len(got) != 0 {
				t.Fatalf("events after the first key = %+v; want none (the first key is no rotation)", got)
			}
			at := t0.Add(time.Minute)
			e.clock.Set(at)
			ev := domain.Event{
				ID: "0190-event", Time: at, Type: domain.EventSigningKeyRotated,
				Actor: domain.Actor{Type: domain.ActorAdmin, ID: "admin-1"}, IP: "192.0.2.7", RequestID: "req-1",
			}
			kid, err := e.ring.Rotate(ctx, ev)
			if err != nil {
				t.Fatalf("Rotate(event) error = %v", err)
			}
			want := ev
			want.Details = domain.EventDetails{Kid: kid, Alg: alg}
			if diff := cmp.Diff([]domain.Event{want}, e.store.rotationEvents()); diff != "" {
				t.Errorf("RotateKey events (-want +got):\n%s", diff)
			}

			// An event without a type records nothing.
			if _, err := e.ring.Rotate(ctx, domain.Event{}); err != nil {
				t.Fatalf("Rotate() error = %v", err)
			}
			if got := e.store.rotationEvents(); len(got) != 1 {
				t.Errorf("events after a rotation without an event = %d; want 1", len(got))
			}
		})
	}
}

func TestRotateHS256EventNamesTheMarker(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := newFakeStore()
	clk := newEnv(t, token.AlgEdDSA, 8).clock
	ring, err := token.NewKeyring(store, token.AlgHS256, []byte("0123456789abcdef0123456789abcdef-test-secret"), retain, clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	kid, err := ring.Rotate(ctx, domain.Event{Type: domain.EventSigningKeyRotated})
	if err != nil {
		t.Fatalf("HS256 Rotate(event) on an empty store error = %v", err)
	}
	got := store.rotationEvents()
	if len(got) != 1 || got[0].Details.Kid != kid || got[0].Details.Alg != token.AlgHS256 {
		t.Errorf("RotateKey events = %+v; want one with kid %q and alg HS256", got, kid)
	}
}
