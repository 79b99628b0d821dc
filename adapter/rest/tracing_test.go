package rest

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/gatehouse-auth/gatehouse/domain"
	"github.com/gatehouse-auth/gatehouse/internal/testkit"
	"github.com/gatehouse-auth/gatehouse/usecase"
)

// Secrets the tracing tests send; none may reach a span.
const (
	secretBearer  = "bearer-SECRET-0a1b2c"
	secretAPIKey  = "gth_apikey-SECRET-3d4e5f"
	secretPass    = "password-SECRET-6a7b8c"
	secretRefresh = "refresh-SECRET-9d0e1f"
	secretClient  = "clientsecret-SECRET-2a3b4c"
	secretQuery   = "query-SECRET-5d6e7f"
)

// tracingFakes refuse every grant; the test is about what the spans hold.
type tracingFakes struct{ oauthFakes }

func (tracingFakes) Login(context.Context, usecase.LoginInput) (*usecase.TokenPair, error) {
	return nil, domain.ErrInvalidCredentials
}
func (tracingFakes) CompleteMFA(context.Context, usecase.MFALoginInput) (*usecase.TokenPair, error) {
	return nil, domain.ErrInvalidCredentials
}
func (tracingFakes) Refresh(context.Context, string) (*usecase.TokenPair, error) {
	return nil, domain.ErrTokenInvalid
}
func (tracingFakes) Grant(context.Context, string, string, []string) (*usecase.TokenPair, error) {
	return nil, domain.ErrInvalidClient
}

// tracedServer serves New with tracing into an in-memory exporter.
func tracedServer(t *testing.T, log *slog.Logger) (*httptest.Server, *tracetest.InMemoryExporter) {
	t.Helper()
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	t.Cleanup(func() { tp.Shutdown(context.Background()) })
	v := &staticVerifier{token: secretBearer, claims: domain.Claims{Subject: "u1", Username: "alice", ExpiresAt: time.Now().Add(time.Hour)}}
	f := tracingFakes{}
	srv := httptest.NewServer(New(Deps{Verify: v, Login: f, Refresh: f, Clients: f}, Options{Tracing: tp}, log))
	t.Cleanup(srv.Close)
	return srv, exp
}

func attrs(kvs []attribute.KeyValue) map[string]string {
	m := map[string]string{}
	for _, kv := range kvs {
		m[string(kv.Key)] = kv.Value.String()
	}
	return m
}

// TestTracingSpanPerRoute: the server span is named by the route template,
// carries http.route and the status, and continues the caller's trace.
func TestTracingSpanPerRoute(t *testing.T) {
	t.Parallel()
	srv, exp := tracedServer(t, slog.New(slog.DiscardHandler))
	const traceID, parentID = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	req, _ := http.NewRequest(http.MethodDelete, srv.URL+"/me/sessions/s-123", nil)
	req.Header.Set("Traceparent", "00-"+traceID+"-"+parentID+"-01")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	spans := exp.GetSpans()
	if len(spans) != 1 {
		t.Fatalf("got %d spans, want 1: %v", len(spans), spans)
	}
	s := spans[0]
	if s.Name != "DELETE /me/sessions/:id" {
		t.Errorf("span name %q, want the route template", s.Name)
	}
	a := attrs(s.Attributes)
	if a["http.route"] != "/me/sessions/:id" || a["http.response.status_code"] != fmt.Sprint(resp.StatusCode) || a["http.request.method"] != "DELETE" {
		t.Errorf("attributes %v; want http.route, the status %d and the method", a, resp.StatusCode)
	}
	if s.SpanKind.String() != "server" {
		t.Errorf("span kind %v", s.SpanKind)
	}
	if s.SpanContext.TraceID().String() != traceID || s.Parent.SpanID().String() != parentID || !s.Parent.IsRemote() {
		t.Errorf("trace %s parent %s; want the caller's traceparent", s.SpanContext.TraceID(), s.Parent.SpanID())
	}
}

// TestTracingRecordsNoSecret sends a token, an API key, a password, a
// refresh token, a client secret and a query-string token, and searches
// every exported span name, attribute, event and status for them.
func TestTracingRecordsNoSecret(t *testing.T) {
	t.Parallel()
	srv, exp := tracedServer(t, slog.New(slog.DiscardHandler))
	send := func(method, path, contentType, body string, set func(*http.Request)) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		if set != nil {
			set(req)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	send(http.MethodGet, "/protected_resource", "", "", func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+secretBearer) })
	send(http.MethodGet, "/protected_resource", "", "", func(r *http.Request) { r.Header.Set("X-API-Key", secretAPIKey) })
	send(http.MethodPost, "/get_token", "application/json", `{"username":"alice","password":"`+secretPass+`"}`, nil)
	send(http.MethodPost, "/oauth/token", "application/x-www-form-urlencoded", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {secretRefresh}}.Encode(), nil)
	send(http.MethodPost, "/oauth/token", "application/x-www-form-urlencoded", "grant_type=client_credentials", func(r *http.Request) { r.SetBasicAuth("rs", secretClient) })
	send(http.MethodGet, "/protected_resource?access_token="+secretQuery+"&token="+secretQuery, "", "", nil)
	send(http.MethodPost, "/oauth/token?refresh_token="+secretQuery, "application/x-www-form-urlencoded", "grant_type=refresh_token", nil)

	spans := exp.GetSpans()
	if len(spans) != 7 {
		t.Fatalf("got %d spans, want one per request", len(spans))
	}
	var all strings.Builder
	for _, s := range spans {
		fmt.Fprintln(&all, s.Name, s.Status.Description)
		for _, kv := range s.Attributes {
			fmt.Fprintln(&all, kv.Key, kv.Value.String())
		}
		for _, ev := range s.Events {
			fmt.Fprintln(&all, ev.Name)
			for _, kv := range ev.Attributes {
				fmt.Fprintln(&all, kv.Key, kv.Value.String())
			}
		}
		for _, kv := range s.Resource.Attributes() {
			fmt.Fprintln(&all, kv.Key, kv.Value.String())
		}
	}
	text := all.String()
	for _, secret := range []string{secretBearer, secretAPIKey, secretPass, secretRefresh, secretClient, secretQuery, "SECRET", "Basic ", "access_token="} {
		if strings.Contains(text, secret) {
			t.Errorf("exported spans contain %q:\n%s", secret, text)
		}
	}
	if !strings.Contains(text, "url.path /protected_resource\n") {
		t.Errorf("no url.path attribute without the query; spans:\n%s", text)
	}
}

// TestAccessLogTraceIDs: with tracing on the access log line carries the
// request span's trace and span ids; with it off, neither key.
func TestAccessLogTraceIDs(t *testing.T) {
	t.Parallel()
	sink := &testkit.LogBuffer{}
	srv, exp := tracedServer(t, slog.New(slog.NewJSONHandler(sink, nil)))
	resp, err := http.Get(srv.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	lines := sink.JSONLines(t)
	spans := exp.GetSpans()
	if len(lines) != 1 || len(spans) != 1 {
		t.Fatalf("%d log lines, %d spans; want one each", len(lines), len(spans))
	}
	sc := spans[0].SpanContext
	if lines[0]["trace_id"] != sc.TraceID().String() || lines[0]["span_id"] != sc.SpanID().String() {
		t.Errorf("log line %v; want trace_id %s span_id %s", lines[0], sc.TraceID(), sc.SpanID())
	}

	off := &testkit.LogBuffer{}
	plain := httptest.NewServer(New(Deps{}, Options{}, slog.New(slog.NewJSONHandler(off, nil))))
	defer plain.Close()
	req, _ := http.NewRequest(http.MethodGet, plain.URL+"/healthz", nil)
	req.Header.Set("Traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	if resp, err = http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for _, l := range off.JSONLines(t) {
		if _, ok := l["trace_id"]; ok {
			t.Errorf("tracing off, yet the log line has trace_id: %v", l)
		}
		if _, ok := l["span_id"]; ok {
			t.Errorf("tracing off, yet the log line has span_id: %v", l)
		}
	}
}
