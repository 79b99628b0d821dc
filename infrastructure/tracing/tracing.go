// Package tracing sets up OpenTelemetry tracing from the standard OTEL_*
// environment variables. Tracing is off unless an OTLP endpoint is set;
// then spans go to it over OTLP/HTTP (protobuf) in batches.
package tracing

import (
	"context"
	"fmt"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// DefaultServiceName is service.name when OTEL_SERVICE_NAME is not set.
const DefaultServiceName = "gatehouse"

// Enabled reports whether the environment asks for traces: an OTLP
// endpoint is set (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or
// OTEL_EXPORTER_OTLP_ENDPOINT), the SDK is not disabled
// (OTEL_SDK_DISABLED=true) and OTEL_TRACES_EXPORTER is not "none".
func Enabled(getenv func(string) string) bool {
	if getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") == "" && getenv("OTEL_EXPORTER_OTLP_ENDPOINT") == "" {
		return false
	}
	return getenv("OTEL_SDK_DISABLED") != "true" && getenv("OTEL_TRACES_EXPORTER") != "none"
}

// Setup returns the tracer provider the service uses and the function that
// flushes and stops it. When Enabled is false it is the no-op provider,
// shutdown does nothing and the global provider is left alone. Otherwise
// it is an SDK provider exporting over OTLP/HTTP: the exporter reads the
// OTEL_EXPORTER_OTLP_* variables (endpoint, headers, timeout, TLS), the
// provider OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG, the batch
// processor OTEL_BSP_*; the resource names service.name (OTEL_SERVICE_NAME,
// else "gatehouse") and service.version, plus OTEL_RESOURCE_ATTRIBUTES. It
// becomes the global provider, and the global propagator W3C Trace Context
// with Baggage. Only the http/protobuf protocol is built in: a protocol
// variable naming another is an error that names the variable.
func Setup(ctx context.Context, getenv func(string) string, version string) (trace.TracerProvider, func(context.Context) error, error) {
	if !Enabled(getenv) {
		return noop.NewTracerProvider(), func(context.Context) error { return nil }, nil
	}
	if err := checkProtocol(getenv); err != nil {
		return nil, nil, err
	}
	exp, err := otlptracehttp.New(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("OTEL_EXPORTER_OTLP_ENDPOINT: %w", err)
	}
	name := getenv("OTEL_SERVICE_NAME")
	if name == "" {
		name = DefaultServiceName
	}
	// Later options win: the environment's resource attributes first, then
	// the service's own name and version.
	res, err := resource.New(ctx,
		resource.WithTelemetrySDK(),
		resource.WithFromEnv(),
		resource.WithAttributes(attribute.String("service.name", name), attribute.String("service.version", version)),
	)
	if err != nil {
		return nil, nil, fmt.Errorf("OTEL_RESOURCE_ATTRIBUTES: %w", err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))
	return tp, tp.Shutdown, nil
}

// checkProtocol refuses an OTLP protocol other than http/protobuf. The
// traces variable overrides the general one, as in the specification.
func checkProtocol(getenv func(string) string) error {
	for _, name := range []string{"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"} {
		switch p := getenv(name); p {
		case "":
			continue
		case "http/protobuf":
			return nil
		default:
			return fmt.Errorf("%s: protocol %q is not supported; Gatehouse exports traces over OTLP/HTTP only: set it to http/protobuf (the default) and point the endpoint at the collector's HTTP port (4318)", name, p)
		}
	}
	return nil
}
