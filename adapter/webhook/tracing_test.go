package webhook

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// TestTracedSend: a traced delivery is a client span under the caller's
// span that sends traceparent and records neither the URL's path and query
// nor the signature headers; the redirect and destination policies hold.
func TestTracedSend(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	defer tp.Shutdown(context.Background())

	var mu sync.Mutex
	var gotPath, gotTraceparent string
	target := newReceiver(t, http.StatusOK)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		gotPath, gotTraceparent = r.URL.RequestURI(), r.Header.Get("Traceparent")
		mu.Unlock()
		http.Redirect(w, r, target.URL, http.StatusFound)
	}))
	defer srv.Close()

	s := NewSender(true, tp)
	ctx, parent := tp.Tracer("test").Start(t.Context(), "dispatch")
	code, err := s.Send(ctx, job(t, srv.URL+"/services/T0/B0/pathSecret?token=querySecret"))
	parent.End()
	if code != http.StatusFound || err != nil {
		t.Fatalf("Send = %d, %v; want the 302 as the answer", code, err)
	}
	if len(target.Requests()) != 0 {
		t.Error("a traced sender followed a redirect")
	}
	mu.Lock()
	if gotPath != "/services/T0/B0/pathSecret?token=querySecret" {
		t.Errorf("the receiver got %q; want the real path and query", gotPath)
	}
	if !strings.Contains(gotTraceparent, parent.SpanContext().TraceID().String()) {
		t.Errorf("traceparent %q does not carry the caller's trace", gotTraceparent)
	}
	mu.Unlock()

	var text strings.Builder
	var client bool
	for _, sp := range exp.GetSpans() {
		if sp.Name == "webhook POST" && sp.SpanKind.String() == "client" && sp.Parent.SpanID() == parent.SpanContext().SpanID() {
			client = true
		}
		fmt.Fprintln(&text, sp.Name, sp.Attributes, sp.Events)
	}
	if !client {
		t.Errorf("no webhook POST client span under the caller's:\n%s", text.String())
	}
	for _, secret := range []string{"pathSecret", "querySecret", "services", "whsec", "v1,"} {
		if strings.Contains(text.String(), secret) {
			t.Errorf("spans contain %q:\n%s", secret, text.String())
		}
	}

	// The dialer's check still refuses loopback.
	_, err = NewSender(false, tp).Send(t.Context(), job(t, target.URL))
	var refused *RefusedError
	if !errors.As(err, &refused) {
		t.Errorf("traced sender to loopback: %v; want RefusedError", err)
	}
}
