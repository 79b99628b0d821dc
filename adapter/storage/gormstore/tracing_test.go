package gormstore_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/gatehouse-auth/gatehouse/adapter/storage/gormstore"
	"github.com/gatehouse-auth/gatehouse/domain"
	"github.com/gatehouse-auth/gatehouse/infrastructure/database/dbtest"
)

// TestTracingSpans: GORM statements and the hand-written statements are
// client spans under the caller's span, with the statement text but never
// its arguments.
func TestTracingSpans(t *testing.T) {
	t.Parallel()
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	defer tp.Shutdown(context.Background())
	s := gormstore.New(dbtest.Migrated(t, dbtest.SQLite(t)), gormstore.WithTracerProvider(tp))

	ctx, parent := tp.Tracer("test").Start(t.Context(), "parent")
	now := time.Now()
	const hash = "$argon2id$v=19$m=64,t=1,p=1$SECRETSALT$SECRETHASH"
	if err := s.CreateUser(ctx, &domain.User{ID: "u1", Username: "alice-SECRET", PasswordHash: hash, CreatedAt: now, UpdatedAt: now}, nil); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	if _, err := s.RefreshGrant(ctx, []byte("refresh-SECRET-hash")); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("RefreshGrant: %v, want ErrNotFound", err)
	}
	parent.End()

	var text strings.Builder
	names := map[string]bool{}
	for _, sp := range exp.GetSpans() {
		names[sp.Name] = true
		if sp.Name == "parent" {
			continue
		}
		if sp.Parent.TraceID() != parent.SpanContext().TraceID() {
			t.Errorf("span %q is not in the caller's trace", sp.Name)
		}
		if sp.SpanKind.String() != "client" {
			t.Errorf("span %q kind %v", sp.Name, sp.SpanKind)
		}
		if sp.Status.Code.String() == "Error" {
			t.Errorf("span %q marked failed; not found is not a failure", sp.Name)
		}
		fmt.Fprintln(&text, sp.Name, sp.Status.Description)
		for _, kv := range sp.Attributes {
			fmt.Fprintln(&text, kv.Key, kv.Value.String())
		}
		for _, ev := range sp.Events {
			fmt.Fprintln(&text, ev.Name, ev.Attributes)
		}
	}
	if !names["db create users"] || !names["db RefreshGrant"] {
		t.Errorf("span names %v; want db create users and db RefreshGrant", names)
	}
	if !strings.Contains(text.String(), "db.query.text INSERT INTO") || !strings.Contains(text.String(), "db.system.name sqlite") {
		t.Errorf("no statement text or system among the attributes:\n%s", text.String())
	}
	if strings.Contains(text.String(), "SECRET") {
		t.Errorf("a statement argument reached a span:\n%s", text.String())
	}
}
