package usecase

import (
	"context"
	"errors"
	"testing"

	"github.com/gatehouse-auth/gatehouse/domain"
)

// fakeKeys is a KeyManager that hands out numbered kids.
type fakeKeys struct {
	keys []domain.SigningKey
	err  error
}

func (f *fakeKeys) Rotate(context.Context) (string, error) {
	if f.err != nil {
		return "", f.err
	}
	kid := "k" + string(rune('0'+len(f.keys)))
	f.keys = append([]domain.SigningKey{{ID: kid, Algorithm: "EdDSA"}}, f.keys...)
	return kid, nil
}

func (f *fakeKeys) Keys(context.Context) ([]domain.SigningKey, error) { return f.keys, f.err }

func TestKeys(t *testing.T) {
	t.Parallel()
	m := &fakeKeys{}
	k := NewKeys(m)
	for _, want := range []string{"k0", "k1"} {
		kid, err := k.Rotate(t.Context())
		if err != nil || kid != want {
			t.Fatalf("Rotate() = %q, %v; want %q, nil", kid, err, want)
		}
	}
	keys, err := k.List(t.Context())
	if err != nil || len(keys) != 2 || keys[0].ID != "k1" {
		t.Fatalf("List() = %+v, %v; want [k1 k0]", keys, err)
	}
	m.err = errOutage
	if _, err := k.Rotate(t.Context()); !errors.Is(err, errOutage) {
		t.Errorf("Rotate() with a failing manager = %v; want the wrapped failure", err)
	}
}
