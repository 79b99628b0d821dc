package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"google.golang.org/protobuf/encoding/prototext"

	"github.com/gatehouse-auth/gatehouse/adapter/rest"
	"github.com/gatehouse-auth/gatehouse/internal/testkit"
	"github.com/gatehouse-auth/gatehouse/internal/testkit/otlptest"
)

// TestTracingOTLPExport runs "gatehouse serve" with the real OTLP/HTTP
// exporter pointed at a receiver, signs up, logs in, refreshes and calls
// /protected_resource, stops the server (which flushes), and checks what
// arrived: server spans named by route, service.name gatehouse, a store
// span, and none of the secrets sent. The access log lines carry the
// trace ids.
func TestTracingOTLPExport(t *testing.T) {
	t.Parallel()
	bin := binary(t)
	collector := otlptest.NewCollector(t)
	const password = "password-SECRET-fa1afe1"
	cmd, base, logs := startServe(t, bin, []string{
		"GATEHOUSE_DB=" + filepath.Join(t.TempDir(), "gatehouse.db"),
		"OTEL_EXPORTER_OTLP_ENDPOINT=" + collector.URL,
		"OTEL_BSP_SCHEDULE_DELAY=100",
		"OTEL_SERVICE_NAME=",
	})

	post := func(path, contentType, body string) map[string]any {
		t.Helper()
		resp, err := http.Post(base+path, contentType, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		json.NewDecoder(resp.Body).Decode(&out)
		if resp.StatusCode >= 300 {
			t.Fatalf("POST %s = %d %v", path, resp.StatusCode, out)
		}
		return out
	}
	post("/users", "application/json", `{"username":"alice","password":"`+password+`"}`)
	tok := post("/get_token", "application/json", `{"username":"alice","password":"`+password+`"}`)
	refresh := tok["refresh_token"].(string)
	tok = post("/oauth/token", "application/x-www-form-urlencoded", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}}.Encode())
	access := tok["access_token"].(string)
	req, _ := http.NewRequest(http.MethodGet, base+"/protected_resource?access_token="+access, nil)
	req.Header.Set("Authorization", "Bearer "+access)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /protected_resource = %d", resp.StatusCode)
	}

	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("serve exited: %v\n%s", err, logs.String())
	}

	names := map[string]bool{}
	var text strings.Builder
	for _, r := range otlptest.Exports(t, collector) {
		text.WriteString(prototext.Format(r))
		for _, rs := range r.ResourceSpans {
			if service := otlptest.Attributes(rs.Resource.Attributes)["service.name"]; service != "gatehouse" {
				t.Errorf("service.name %q, want gatehouse", service)
			}
			for _, ss := range rs.ScopeSpans {
				for _, s := range ss.Spans {
					names[s.Name] = true
				}
			}
		}
	}
	for _, want := range []string{"POST /users", "POST /get_token", "POST /oauth/token", "GET /protected_resource", "db RefreshGrant"} {
		if !names[want] {
			t.Errorf("no span %q among %v", want, names)
		}
	}
	for _, secret := range []string{password, refresh, access, "SECRET"} {
		if strings.Contains(text.String(), secret) {
			t.Errorf("the export contains a secret (%.12s...)", secret)
		}
	}
	if t.Failed() {
		return
	}

	var requests int
	for _, l := range logs.JSONLines(t) {
		if l["msg"] != "request" {
			continue
		}
		requests++
		if id, _ := l["trace_id"].(string); len(id) != 32 {
			t.Errorf("access log line without trace_id: %v", l)
		}
		if id, _ := l["span_id"].(string); len(id) != 16 {
			t.Errorf("access log line without span_id: %v", l)
		}
	}
	if requests == 0 {
		t.Error(fmt.Sprint("no access log line:\n", logs.String()))
	}
}

// TestTracingOffAccessLog: without an OTLP endpoint the access log lines
// carry no trace_id or span_id, even for a caller sending traceparent.
func TestTracingOffAccessLog(t *testing.T) {
	t.Parallel()
	bin := binary(t)
	cmd, base, logs := startServe(t, bin, []string{
		"GATEHOUSE_DB=" + filepath.Join(t.TempDir(), "gatehouse.db"),
		"OTEL_EXPORTER_OTLP_ENDPOINT=", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=",
	})
	req, _ := http.NewRequest(http.MethodGet, base+"/readyz", nil)
	req.Header.Set("Traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cmd.Process.Signal(syscall.SIGTERM)
	cmd.Wait()
	var requests int
	for _, l := range logs.JSONLines(t) {
		if l["msg"] == "starting gatehouse" && l["tracing"] != false {
			t.Errorf("start line %v; want tracing false", l)
		}
		if l["msg"] != "request" {
			continue
		}
		requests++
		if _, ok := l["trace_id"]; ok {
			t.Errorf("tracing off, yet trace_id: %v", l)
		}
		if _, ok := l["span_id"]; ok {
			t.Errorf("tracing off, yet span_id: %v", l)
		}
	}
	if requests == 0 {
		t.Errorf("no access log line:\n%s", logs.String())
	}
}

// TestTraceExportFailureIsLogged: a collector that is down costs a JSON
// warning in the server's log, and requests still succeed.
func TestTraceExportFailureIsLogged(t *testing.T) {
	t.Parallel()
	bin := binary(t)
	cmd, base, logs := startServe(t, bin, []string{
		"GATEHOUSE_DB=" + filepath.Join(t.TempDir(), "gatehouse.db"),
		"OTEL_EXPORTER_OTLP_ENDPOINT=http://" + freeAddr(t), // nothing listens there
		"OTEL_EXPORTER_OTLP_TIMEOUT=500",
		"OTEL_BSP_SCHEDULE_DELAY=100",
	})
	resp, err := http.Get(base + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("GET /readyz with the collector down = %d; want 200", resp.StatusCode)
	}
	testkit.Eventually(t, "a trace export failure is logged", 10*time.Second, func() bool {
		return strings.Contains(logs.String(), `"msg":"trace export failed"`)
	})
	cmd.Process.Signal(syscall.SIGTERM)
	cmd.Wait()
	for _, l := range logs.JSONLines(t) {
		if l["msg"] == "trace export failed" && l["level"] != "WARN" {
			t.Errorf("export failure line %v; want a WARN", l)
		}
	}
}

// TestUseCaseSpansUnderRequest builds the app traced, as serve does with
// tracing on, and checks the wiring of the use cases' Tracer: the login's
// span is a child of the request's server span, and the store's spans of
// the login are children of it.
func TestUseCaseSpansUnderRequest(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t, nil)
	spans := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
	a, err := build(t.Context(), cfg, &testkit.LogBuffer{}, buildOptions{hash: testParams, tp: tp})
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	defer a.close()
	srv := httptest.NewServer(rest.New(a.httpDeps(), rest.Options{Issuer: cfg.Issuer, Scopes: cfg.UserScopes, Tracing: tp}, a.log))
	defer srv.Close()
	for _, path := range []string{"/users", "/get_token"} {
		resp, err := http.Post(srv.URL+path, "application/json", strings.NewReader(`{"username":"alice","password":"correct horse battery"}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode >= 300 {
			t.Fatalf("POST %s = %d", path, resp.StatusCode)
		}
	}

	got := spans.GetSpans()
	byName := map[string]tracetest.SpanStub{}
	for _, s := range got {
		byName[s.Name] = s
	}
	server, login := byName["POST /get_token"], byName["usecase.Login"]
	if login.Name == "" || server.Name == "" {
		t.Fatalf("spans %v; want POST /get_token and usecase.Login", names(got))
	}
	if login.Parent.SpanID() != server.SpanContext.SpanID() || login.SpanContext.TraceID() != server.SpanContext.TraceID() {
		t.Errorf("usecase.Login parent = %s; want the server span %s", login.Parent.SpanID(), server.SpanContext.SpanID())
	}
	var stores int
	for _, s := range got {
		if strings.HasPrefix(s.Name, "db ") && s.Parent.SpanID() == login.SpanContext.SpanID() {
			stores++
		}
	}
	if stores == 0 {
		t.Errorf("no store span below usecase.Login among %v", names(got))
	}
}

// names lists the names of spans.
func names(spans tracetest.SpanStubs) []string {
	out := make([]string, len(spans))
	for i, s := range spans {
		out[i] = s.Name
	}
	return out
}
