package password

import (
	"context"
	"errors"
	"os"
	"runtime"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"golang.org/x/crypto/bcrypt"

	"github.com/gatehouse-auth/gatehouse/domain"
	"github.com/gatehouse-auth/gatehouse/internal/testkit/spantest"
)

func TestMain(m *testing.M) {
	spantest.Install() // the package's tracer delegates to the global provider
	os.Exit(m.Run())
}

// traced runs a test under a root span of its own, and attrs reads a
// span's attributes (spantest).
var (
	traced = spantest.Traced
	attrs  = spantest.Attrs
)

// names returns the names of ss, in order.
func names(ss tracetest.SpanStubs) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = s.Name
	}
	return out
}

// checkChildren fails unless the spans after the root are want, in order,
// each a direct internal child of the root.
func checkChildren(t *testing.T, got tracetest.SpanStubs, want ...string) {
	t.Helper()
	if len(got) != len(want)+1 || strings.Join(names(got[1:]), ",") != strings.Join(want, ",") {
		t.Fatalf("spans = %q; want the root and %q", names(got), want)
	}
	for _, s := range got[1:] {
		if s.Parent.SpanID() != got[0].SpanContext.SpanID() {
			t.Errorf("span %s parent = %s; want the caller's span %s", s.Name, s.Parent.SpanID(), got[0].SpanContext.SpanID())
		}
		if s.SpanKind != trace.SpanKindInternal {
			t.Errorf("span %s kind = %v; want internal", s.Name, s.SpanKind)
		}
	}
}

// checkRedacted fails if a span name, attribute or event of got contains
// any of secrets.
func checkRedacted(t *testing.T, got tracetest.SpanStubs, secrets ...string) {
	t.Helper()
	for _, s := range got {
		texts := []string{s.Name, s.Status.Description}
		for _, kv := range s.Attributes {
			texts = append(texts, string(kv.Key), kv.Value.String())
		}
		for _, e := range s.Events {
			texts = append(texts, e.Name)
			for _, kv := range e.Attributes {
				texts = append(texts, string(kv.Key), kv.Value.String())
			}
		}
		for _, text := range texts {
			for _, secret := range secrets {
				if strings.Contains(text, secret) {
					t.Errorf("span %s carries a secret: %q", s.Name, text)
				}
			}
		}
	}
}

func TestTraceSpans(t *testing.T) {
	t.Parallel()
	const pw = "tracing-password-1"
	h := New(Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 2, 2)
	stored, err := h.Hash(context.Background(), pw)
	if err != nil {
		t.Fatalf("Hash() error = %v", err)
	}
	bcrypted, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		call      func(context.Context) error
		work, alg string
	}{
		{"hash", func(ctx context.Context) error { _, err := h.Hash(ctx, pw); return err }, spanHash, algArgon2id},
		{"verify argon2id", func(ctx context.Context) error { _, _, err := h.Verify(ctx, stored, pw); return err }, spanVerify, algArgon2id},
		{"verify wrong", func(ctx context.Context) error { _, _, err := h.Verify(ctx, stored, pw+"x"); return err }, spanVerify, algArgon2id},
		{"verify bcrypt", func(ctx context.Context) error { _, _, err := h.Verify(ctx, string(bcrypted), pw); return err }, spanVerify, algBcrypt},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx, done := traced(t)
			if err := tc.call(ctx); err != nil {
				t.Fatalf("%s error = %v", tc.name, err)
			}
			got := done()
			checkChildren(t, got, spanQueueWait, tc.work)
			wait, work := attrs(got[1]), attrs(got[2])
			if v, ok := wait[attrQueueFull]; !ok || v.AsBool() {
				t.Errorf("queue_wait %s = %v (set %v); want false", attrQueueFull, v.AsBool(), ok)
			}
			if _, ok := wait[attrQueueDepth]; !ok {
				t.Errorf("queue_wait has no %s", attrQueueDepth)
			}
			if got := work[attrAlgorithm].AsString(); got != tc.alg {
				t.Errorf("%s %s = %q; want %q", tc.work, attrAlgorithm, got, tc.alg)
			}
			if got[1].EndTime.After(got[2].StartTime) {
				t.Errorf("queue_wait ends at %v, after the work starts at %v", got[1].EndTime, got[2].StartTime)
			}
			checkRedacted(t, got, pw, stored, string(bcrypted))
		})
	}
}

// TestTraceQueueFull: a caller refused by a full queue leaves a
// queue_wait span that says so, with an error status and no work span.
func TestTraceQueueFull(t *testing.T) {
	t.Parallel()
	h := New(Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 1, 1)
	entered, hold := make(chan struct{}), make(chan struct{})
	h.beforeWork = func() {
		entered <- struct{}{}
		<-hold
	}
	bg := context.Background()
	results := make(chan error, 2)
	go func() { _, err := h.Hash(bg, "first-password"); results <- err }()
	<-entered
	go func() { _, err := h.Hash(bg, "second-password"); results <- err }()
	for h.QueueDepth() != 2 {
		runtime.Gosched()
	}

	ctx, done := traced(t)
	if _, err := h.Hash(ctx, "third-password"); !errors.Is(err, domain.ErrOverloaded) {
		t.Fatalf("Hash() with a full queue error = %v; want ErrOverloaded", err)
	}
	got := done()
	checkChildren(t, got, spanQueueWait)
	a := attrs(got[1])
	if !a[attrQueueFull].AsBool() || a[attrQueueDepth].AsInt64() != 2 {
		t.Errorf("queue_wait attributes = %v; want queue_full true, queue_depth 2", got[1].Attributes)
	}
	if got[1].Status.Code != codes.Error || got[1].Status.Description != "overloaded" {
		t.Errorf("queue_wait status = %v; want Error overloaded", got[1].Status)
	}

	close(hold)
	go func() { <-entered }() // the second caller gets the slot
	for range 2 {
		if err := <-results; err != nil {
			t.Errorf("held Hash() error = %v; want nil", err)
		}
	}
}
