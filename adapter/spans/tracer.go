// Package spans implements the use cases' Tracer port (usecase.Tracer) with
// OpenTelemetry. A use case's span is started on the span in its context
// (the HTTP server's, the dispatcher's round), and is itself put in the
// context it hands on, so the spans of the hasher, the store and the
// webhook sender below it are its children.
package spans

import (
	"context"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/gatehouse-auth/gatehouse/usecase"
)

// scope is the instrumentation scope of the use cases' spans.
const scope = "github.com/gatehouse-auth/gatehouse/usecase"

// Tracer starts use-case spans on an OpenTelemetry tracer provider.
type Tracer struct {
	tracer trace.Tracer
}

var _ usecase.Tracer = (*Tracer)(nil)

// New returns a Tracer on tp; a nil tp is the global provider
// (otel.GetTracerProvider: when none is installed yet, the first one
// installed later).
func New(tp trace.TracerProvider) *Tracer {
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	return &Tracer{tracer: tp.Tracer(scope)}
}

// Start starts the span name as a child of ctx's span and returns ctx with
// it. The span's kind is left unspecified, which the SDK records as
// internal: passing trace.WithSpanKind would cost an allocation per span.
// A span that does not record (sampled out) comes back as usecase.NoSpan,
// without allocating: OpenTelemetry's non-recording spans keep nothing
// and their End does nothing, so nothing is lost. ctx still carries it,
// so that its trace goes on below it.
func (t *Tracer) Start(ctx context.Context, name string) (context.Context, usecase.Span) {
	ctx, s := t.tracer.Start(ctx, name)
	if !s.IsRecording() {
		return ctx, usecase.NoSpan{}
	}
	return ctx, &span{s: s}
}

// span is a recording OpenTelemetry span as a usecase.Span.
type span struct {
	s trace.Span
}

func (s *span) Recording() bool             { return s.s.IsRecording() }
func (s *span) SetString(key, value string) { s.s.SetAttributes(attribute.String(key, value)) }
func (s *span) SetInt(key string, n int)    { s.s.SetAttributes(attribute.Int(key, n)) }
func (s *span) AddEvent(name string)        { s.s.AddEvent(name) }
func (s *span) Fail(description string)     { s.s.SetStatus(codes.Error, description) }
func (s *span) End()                        { s.s.End() }
