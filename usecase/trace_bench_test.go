package usecase

import (
	"context"
	"testing"

	"github.com/gatehouse-auth/gatehouse/adapter/storage/memory"
	"github.com/gatehouse-auth/gatehouse/domain"
)

// BenchmarkLoginFakes is a password login with the fake hasher and
// issuer on the memory store: what is left is the use case's own cost, so
// the overhead of its span shows. "off" is a server without tracing (a nil
// Tracer); "unsampled" is the OpenTelemetry adapter on a provider that
// does not sample the login (the test provider, TestMain, samples only
// the traced tests' traces).
func BenchmarkLoginFakes(b *testing.B) {
	for _, bc := range []struct {
		name   string
		tracer Tracer
	}{{"off", nil}, {"unsampled", Traced}} {
		b.Run(bc.name, func(b *testing.B) {
			ctx := context.Background()
			clk := newClock()
			store := memory.New()
			hasher := &fakeHasher{}
			policy := DefaultTokenPolicy()
			if _, err := NewRegister(store, hasher, nil, domain.DefaultPasswordMinLength, true, clk.Now, nil).Create(ctx, "alice", "correct horse battery", nil); err != nil {
				b.Fatal(err)
			}
			login := NewLogin(store, store, hasher, newFakeTokens(clk), nil, nil, policy, clk.Now, nil, nil, nil, bc.tracer)
			in := LoginInput{Username: "alice", Password: "correct horse battery", IP: "192.0.2.1"}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := login.Login(ctx, in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
