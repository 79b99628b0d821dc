// Package spantest records the spans of a test binary for tests of span
// structure and redaction: a global tracer provider that samples only the
// traces a test starts with Traced, and an in-memory exporter.
//
// Untraced tests and benchmarks of the same binary then make
// non-recording spans, and parallel tests tell their spans apart by trace:
// each runs under a root span of its own.
package spantest

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

var (
	exporter = tracetest.NewInMemoryExporter()
	root     trace.Tracer
)

// Install sets the global tracer provider. Call it once, from TestMain
// before m.Run: the package tracers of the code under test delegate to
// the global provider, which must not change while tests run.
func Install() {
	root = sdktrace.NewTracerProvider(sdktrace.WithSyncer(exporter)).Tracer("test")
	otel.SetTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSyncer(exporter),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.NeverSample()))))
}

// Traced returns a context under a new root span named after the test,
// and a function that ends the root and returns the spans of its trace,
// the root first, the rest in the order they ended.
func Traced(t testing.TB) (context.Context, func() tracetest.SpanStubs) {
	t.Helper()
	if root == nil {
		t.Fatal("spantest.Traced before spantest.Install (call it from TestMain)")
	}
	ctx, r := root.Start(t.Context(), t.Name())
	return ctx, func() tracetest.SpanStubs {
		r.End()
		var got tracetest.SpanStubs
		for _, s := range exporter.GetSpans() {
			switch {
			case s.SpanContext.TraceID() != r.SpanContext().TraceID():
			case s.SpanContext.SpanID() == r.SpanContext().SpanID():
				got = append(tracetest.SpanStubs{s}, got...)
			default:
				got = append(got, s)
			}
		}
		return got
	}
}

// Attrs returns the attributes of s as a map.
func Attrs(s tracetest.SpanStub) map[attribute.Key]attribute.Value {
	m := make(map[attribute.Key]attribute.Value, len(s.Attributes))
	for _, kv := range s.Attributes {
		m[kv.Key] = kv.Value
	}
	return m
}
