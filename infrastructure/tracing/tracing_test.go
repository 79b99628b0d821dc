package tracing_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/trace/noop"

	"github.com/gatehouse-auth/gatehouse/infrastructure/tracing"
	"github.com/gatehouse-auth/gatehouse/internal/testkit/otlptest"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestSetupOffIsNoop(t *testing.T) {
	for name, vars := range map[string]map[string]string{
		"nothing set":   {"OTEL_SERVICE_NAME": "x", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"},
		"sdk disabled":  {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1", "OTEL_SDK_DISABLED": "true"},
		"exporter none": {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1", "OTEL_TRACES_EXPORTER": "none"},
	} {
		t.Run(name, func(t *testing.T) {
			tp, shutdown, err := tracing.Setup(t.Context(), env(vars), "test")
			if err != nil {
				t.Fatalf("Setup: %v", err)
			}
			if _, ok := tp.(noop.TracerProvider); !ok {
				t.Fatalf("provider is %T, want the no-op provider", tp)
			}
			_, span := tp.Tracer("t").Start(t.Context(), "s")
			if span.IsRecording() || span.SpanContext().IsValid() {
				t.Error("the no-op provider made a recording span")
			}
			span.End()
			if err := shutdown(t.Context()); err != nil {
				t.Errorf("shutdown: %v", err)
			}
		})
	}
}

func TestSetupRefusesGRPC(t *testing.T) {
	for _, v := range []string{"OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"} {
		_, _, err := tracing.Setup(t.Context(), env(map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1", v: "grpc"}), "test")
		if err == nil || !strings.HasPrefix(err.Error(), v+":") || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s=grpc: err = %v, want one line naming the variable", v, err)
		}
	}
	// The traces variable overrides the general one.
	_, shutdown, err := tracing.Setup(t.Context(), env(map[string]string{
		"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/protobuf",
	}), "test")
	if err != nil {
		t.Fatalf("traces protocol http/protobuf over general grpc: %v", err)
	}
	shutdown(context.Background())
}

// TestSetupExports sends a span to an OTLP/HTTP receiver and checks the
// resource. Not parallel: it sets the process environment and the global
// provider.
func TestSetupExports(t *testing.T) {
	collector := otlptest.NewCollector(t)
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector.URL)
	tp, shutdown, err := tracing.Setup(t.Context(), os.Getenv, "1.2.3")
	if err != nil {
		t.Fatalf("Setup: %v", err)
	}
	_, span := tp.Tracer("t").Start(t.Context(), "hello")
	span.End()
	if err := shutdown(t.Context()); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	got := otlptest.Exports(t, collector)
	if len(got) == 0 {
		t.Fatal("no export arrived")
	}
	rs := got[0].ResourceSpans[0]
	attrs := otlptest.Attributes(rs.Resource.Attributes)
	if attrs["service.name"] != "gatehouse" || attrs["service.version"] != "1.2.3" {
		t.Errorf("resource = %v, want service.name gatehouse, service.version 1.2.3", attrs)
	}
	if name := rs.ScopeSpans[0].Spans[0].Name; name != "hello" {
		t.Errorf("span name %q", name)
	}
}
