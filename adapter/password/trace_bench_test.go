package password_test

import (
	"context"
	"testing"

	"github.com/gatehouse-auth/gatehouse/adapter/password"
)

// BenchmarkVerifyFast is one verification with cheap parameters, so the
// overhead of the hasher's spans shows against the argon2 work. The spans
// do not record: the test provider (TestMain) samples only the traced
// tests' traces.
func BenchmarkVerifyFast(b *testing.B) {
	ctx := context.Background()
	h := password.New(fast, 1, 1)
	stored, err := h.Hash(ctx, "correct horse battery")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if ok, _, err := h.Verify(ctx, stored, "correct horse battery"); err != nil || !ok {
			b.Fatalf("Verify = %v, %v", ok, err)
		}
	}
}
