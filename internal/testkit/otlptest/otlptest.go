// Package otlptest reads what an OpenTelemetry exporter sent to a
// testkit.Receiver standing in for an OTLP/HTTP collector. It is apart from
// testkit, which depends on the standard library only, because it links
// the OTLP protobuf types.
package otlptest

import (
	"net/http"
	"testing"

	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	common "go.opentelemetry.io/proto/otlp/common/v1"
	"google.golang.org/protobuf/proto"

	"github.com/gatehouse-auth/gatehouse/internal/testkit"
)

// NewCollector starts a receiver that accepts every export; its URL is an
// OTEL_EXPORTER_OTLP_ENDPOINT.
func NewCollector(tb testing.TB) *testkit.Receiver {
	tb.Helper()
	return testkit.NewReceiver(tb, http.StatusOK, nil)
}

// Exports decodes the trace exports c got. It fails tb at once on a
// request that is not a protobuf export POSTed to /v1/traces.
func Exports(tb testing.TB, c *testkit.Receiver) []*collectortrace.ExportTraceServiceRequest {
	tb.Helper()
	var out []*collectortrace.ExportTraceServiceRequest
	for _, r := range c.Requests() {
		var req collectortrace.ExportTraceServiceRequest
		if r.Method != http.MethodPost || r.Path != "/v1/traces" || r.Header.Get("Content-Type") != "application/x-protobuf" {
			tb.Fatalf("the collector got %s %s (%s); want an OTLP/HTTP protobuf export to /v1/traces", r.Method, r.Path, r.Header.Get("Content-Type"))
		}
		if err := proto.Unmarshal(r.Body, &req); err != nil {
			tb.Fatalf("the collector got an export it cannot decode: %v", err)
		}
		out = append(out, &req)
	}
	return out
}

// Attributes returns the string values of kvs (a resource's or a span's
// attributes) by key.
func Attributes(kvs []*common.KeyValue) map[string]string {
	out := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		out[kv.Key] = kv.Value.GetStringValue()
	}
	return out
}
