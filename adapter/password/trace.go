package password

import (
	"context"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// tracer makes the hasher's spans through the global provider: a no-op
// unless the server installed one, so with tracing off a span costs its
// start. It is set once and never changed. The spans leave their kind
// unspecified, which the SDK records as internal: passing
// trace.WithSpanKind would cost an allocation per span even when off.
var tracer = otel.Tracer("github.com/gatehouse-auth/gatehouse/adapter/password")

// Span names and attributes of the hasher. They say how long a caller
// waited and which algorithm ran, never the password or a hash.
const (
	spanQueueWait = "password.queue_wait"
	spanHash      = "password.hash"
	spanVerify    = "password.verify"

	attrAlgorithm  = attribute.Key("gatehouse.password.algorithm")
	attrQueueFull  = attribute.Key("gatehouse.password.queue_full")
	attrQueueDepth = attribute.Key("gatehouse.password.queue_depth")

	algArgon2id = "argon2id"
	algBcrypt   = "bcrypt"
)

// startWork starts the span of the hashing work itself (name is spanHash
// or spanVerify), once the caller holds a slot. The attribute is set only
// on a recording span, so a no-op span allocates nothing for it.
func startWork(ctx context.Context, name, algorithm string) trace.Span {
	_, span := tracer.Start(ctx, name)
	if span.IsRecording() {
		span.SetAttributes(attrAlgorithm.String(algorithm))
	}
	return span
}

// queueAttrs sets the queue_wait span's attributes: the callers admitted
// before this one (running or waiting) and whether the queue was full.
func queueAttrs(span trace.Span, depth int, full bool) {
	if span.IsRecording() {
		span.SetAttributes(attrQueueDepth.Int(depth), attrQueueFull.Bool(full))
	}
}
