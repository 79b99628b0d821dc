package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/gatehouse-auth/gatehouse/adapter/rest"
	"github.com/gatehouse-auth/gatehouse/internal/testkit"
)

// TestUseCaseSpansUnderRequest builds the app traced, as serve does with
// tracing on, and checks the wiring of the use cases' Tracer: the login's
// span is a child of the request's server span, and the store's spans of
// the login are children of it.
func TestUseCaseSpansUnderRequest(t *testing.T) {
	t.Parallel()
	spans := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
	cfg := testConfig(t, nil)
	a, err := build(context.Background(), cfg, &testkit.LogBuffer{}, buildOptions{hash: testParams, tp: tp})
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
