package spans_test

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/gatehouse-auth/gatehouse/adapter/spans"
	"github.com/gatehouse-auth/gatehouse/usecase"
)

// recorded returns a provider that records every span into an in-memory
// exporter, and the exporter.
func recorded() (*sdktrace.TracerProvider, *tracetest.InMemoryExporter) {
	exported := tracetest.NewInMemoryExporter()
	return sdktrace.NewTracerProvider(sdktrace.WithSyncer(exported)), exported
}

// TestSpanIsChildOfContext: a use-case span starts below the span in its
// context, and what runs with the context it returns starts below it: the
// parent/child structure of a request's trace.
func TestSpanIsChildOfContext(t *testing.T) {
	t.Parallel()
	tp, exported := recorded()
	outer := tp.Tracer("server")
	ctx, root := outer.Start(t.Context(), "POST /oauth/token")
	ctx, span := spans.New(tp).Start(ctx, "usecase.Refresh")
	_, store := outer.Start(ctx, "db RefreshGrant")
	store.End()
	span.End()
	root.End()

	byName := map[string]tracetest.SpanStub{}
	for _, s := range exported.GetSpans() {
		byName[s.Name] = s
	}
	uc, db := byName["usecase.Refresh"], byName["db RefreshGrant"]
	if uc.Parent.SpanID() != root.SpanContext().SpanID() || uc.SpanContext.TraceID() != root.SpanContext().TraceID() {
		t.Errorf("usecase.Refresh parent = %s; want the server span %s", uc.Parent.SpanID(), root.SpanContext().SpanID())
	}
	if db.Parent.SpanID() != uc.SpanContext.SpanID() {
		t.Errorf("db RefreshGrant parent = %s; want usecase.Refresh %s", db.Parent.SpanID(), uc.SpanContext.SpanID())
	}
	if uc.SpanKind != trace.SpanKindInternal {
		t.Errorf("usecase.Refresh kind = %v; want internal", uc.SpanKind)
	}
	if uc.InstrumentationScope.Name != "github.com/gatehouse-auth/gatehouse/usecase" {
		t.Errorf("scope = %q; want the usecase package", uc.InstrumentationScope.Name)
	}
}

// TestSpanRecords: what a use case puts on its span arrives as attributes,
// events and an error status with the fixed description.
func TestSpanRecords(t *testing.T) {
	t.Parallel()
	tp, exported := recorded()
	_, span := spans.New(tp).Start(t.Context(), "webhook.deliver")
	if !span.Recording() {
		t.Fatal("Recording() = false on a sampled span")
	}
	span.SetString("gatehouse.outcome", "retry")
	span.SetInt("http.response.status_code", 503)
	span.AddEvent("refresh.reuse_detected")
	span.Fail("retry")
	span.End()

	got := exported.GetSpans()
	if len(got) != 1 {
		t.Fatalf("%d exported; want 1", len(got))
	}
	s := got[0]
	want := []attribute.KeyValue{attribute.String("gatehouse.outcome", "retry"), attribute.Int("http.response.status_code", 503)}
	if len(s.Attributes) != len(want) || s.Attributes[0] != want[0] || s.Attributes[1] != want[1] {
		t.Errorf("attributes = %v; want %v", s.Attributes, want)
	}
	if len(s.Events) != 1 || s.Events[0].Name != "refresh.reuse_detected" {
		t.Errorf("events = %v; want one refresh.reuse_detected", s.Events)
	}
	if s.Status.Code != codes.Error || s.Status.Description != "retry" {
		t.Errorf("status = %v %q; want Error \"retry\"", s.Status.Code, s.Status.Description)
	}
}

// TestUnsampledSpanCostsNothingMore: a span the provider does not record
// is usecase.NoSpan, the trace still goes on in the context, and Start
// allocates no more than OpenTelemetry's own Start does. Not parallel:
// AllocsPerRun counts the whole process.
func TestUnsampledSpanCostsNothingMore(t *testing.T) {
	exported := tracetest.NewInMemoryExporter()
	for name, tp := range map[string]trace.TracerProvider{
		"never sampled": sdktrace.NewTracerProvider(sdktrace.WithSyncer(exported), sdktrace.WithSampler(sdktrace.NeverSample())),
		"no-op":         noop.NewTracerProvider(),
	} {
		t.Run(name, func(t *testing.T) {
			parent := trace.ContextWithSpanContext(context.Background(), trace.NewSpanContext(trace.SpanContextConfig{
				TraceID: trace.TraceID{1}, SpanID: trace.SpanID{2},
			}))
			tracer := spans.New(tp)
			ctx, span := tracer.Start(parent, "usecase.Login")
			if _, ok := span.(usecase.NoSpan); !ok {
				t.Errorf("unsampled span is %T; want usecase.NoSpan", span)
			}
			if got := trace.SpanContextFromContext(ctx).TraceID(); got != (trace.TraceID{1}) {
				t.Errorf("trace id in the returned context = %s; want the parent's", got)
			}
			direct := tp.Tracer("direct")
			want := testing.AllocsPerRun(100, func() {
				_, s := direct.Start(parent, "usecase.Login")
				s.End()
			})
			got := testing.AllocsPerRun(100, func() {
				_, s := tracer.Start(parent, "usecase.Login")
				s.End()
			})
			if got > want {
				t.Errorf("Start allocates %v per unsampled span; OpenTelemetry's own Start %v", got, want)
			}
		})
	}
	if n := len(exported.GetSpans()); n != 0 {
		t.Errorf("%d exported exported; want none", n)
	}
}

// TestNilIsGlobalProvider: New(nil) starts exported on the global provider;
// with none installed they record nothing.
func TestNilIsGlobalProvider(t *testing.T) {
	t.Parallel()
	_, span := spans.New(nil).Start(t.Context(), "usecase.Login")
	defer span.End()
	if span.Recording() {
		t.Error("a span of the default global provider records")
	}
}
