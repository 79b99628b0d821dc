package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/adapter/password"
	"github.com/gatehouse-auth/gatehouse/adapter/rest"
	"github.com/gatehouse-auth/gatehouse/api"
	"github.com/gatehouse-auth/gatehouse/infrastructure/config"
	"github.com/gatehouse-auth/gatehouse/internal/testkit"
	"github.com/gatehouse-auth/gatehouse/usecase"
)

// testParams are cheap argon2id parameters so tests run fast under -race;
// the production parameters are covered by adapter/password's tests.
var testParams = password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

// testEnv is a real Gatehouse on a real SQLite file behind httptest.
type testEnv struct {
	t   *testing.T
	app *app
	srv *httptest.Server
	log *testkit.LogBuffer
}

// testConfig returns the default configuration on a temp SQLite file,
// adjusted by the given GATEHOUSE_* overrides. Tests sign up many users
// from one address, so the sign-up limit is off unless overridden.
func testConfig(t *testing.T, overrides map[string]string) config.Config {
	t.Helper()
	env := map[string]string{
		"GATEHOUSE_DB":              filepath.Join(t.TempDir(), "gatehouse.db"),
		"GATEHOUSE_LOG_LEVEL":       "debug",
		"GATEHOUSE_SIGNUP_IP_LIMIT": "0",
	}
	for k, v := range overrides {
		env[k] = v
	}
	cfg, err := loadConfig(func(k string) string { return env[k] })
	if err != nil {
		t.Fatalf("load config: %v", err)
	}
	return cfg
}

func newTestEnv(t *testing.T, overrides map[string]string) *testEnv {
	t.Helper()
	return startTestEnv(t, overrides, testParams, nil)
}

// startTestEnv builds the app from the configuration with the given
// argon2id parameters, lets prepare (when not nil) swap parts of it, and
// serves it with the HTTP options serve passes.
func startTestEnv(t *testing.T, overrides map[string]string, params password.Params, prepare func(*app)) *testEnv {
	t.Helper()
	cfg := testConfig(t, overrides)
	logs := &testkit.LogBuffer{}
	a, err := build(context.Background(), cfg, logs, buildOptions{hash: params})
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	if prepare != nil {
		prepare(a)
	}
	if err := a.revoked.Sync(context.Background()); err != nil { // as serve does
		t.Fatalf("initial revocation sync: %v", err)
	}
	h := rest.New(a.httpDeps(), rest.Options{
		Issuer:          cfg.Issuer,
		Scopes:          cfg.UserScopes,
		TrustedProxies:  cfg.TrustedProxies,
		OpenAPI:         api.Spec(),
		AdminRequireMFA: cfg.AdminRequireMFA,
	}, a.log)
	// The background work serve runs that events and webhooks need: the
	// event log's batches and the webhook dispatcher.
	bg, stopBG := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { a.eventLog.Run(bg) })
	wg.Go(func() { usecase.NewScheduler(a.dispatch.Jobs(200 * time.Millisecond)...).Run(bg) })
	srv := httptest.NewServer(h)
	// Every response a test receives through srv.Client() (e.do, e.form,
	// the oauth2 clients) is checked against api/openapi.yaml.
	client := srv.Client()
	client.Transport = newSpecChecker(t, client.Transport, t.Errorf)
	t.Cleanup(func() {
		srv.Close()
		stopBG()
		wg.Wait()
		if err := a.close(); err != nil {
			t.Errorf("close store: %v", err)
		}
	})
	return &testEnv{t: t, app: a, srv: srv, log: logs}
}

// response is a finished HTTP exchange.
type response struct {
	status int
	header http.Header
	body   []byte
}

// json decodes the body into a map.
func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("response body %q is not a JSON object: %v", r.body, err)
	}
	return m
}

// do sends a request; body may be a string (sent as is) or any value
// (sent as JSON).
func (e *testEnv) do(method, path string, body any, headers map[string]string) response {
	e.t.Helper()
	var rd io.Reader
	contentType := ""
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
		contentType = "application/json"
	case []byte:
		rd = bytes.NewReader(b)
		contentType = "application/json"
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			e.t.Fatalf("marshal: %v", err)
		}
		rd = bytes.NewReader(raw)
		contentType = "application/json"
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatalf("new request: %v", err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatalf("read body: %v", err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: raw}
}

// form posts a form-encoded body.
func (e *testEnv) form(path, body string, headers map[string]string) response {
	e.t.Helper()
	h := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
	for k, v := range headers {
		h[k] = v
	}
	return e.do(http.MethodPost, path, []byte(body), h)
}

// signUp registers a user and fails the test otherwise.
func (e *testEnv) signUp(username, pw string) map[string]any {
	e.t.Helper()
	r := e.do(http.MethodPost, "/users", map[string]string{"username": username, "password": pw}, nil)
	if r.status != http.StatusCreated {
		e.t.Fatalf("POST /users %s = %d %s; want 201", username, r.status, r.body)
	}
	return r.json(e.t)
}

// login returns the /get_token answer for a registered user.
func (e *testEnv) login(username, pw string) map[string]any {
	e.t.Helper()
	r := e.do(http.MethodPost, "/get_token", map[string]string{"username": username, "password": pw}, nil)
	if r.status != http.StatusOK {
		e.t.Fatalf("POST /get_token %s = %d %s; want 200", username, r.status, r.body)
	}
	return r.json(e.t)
}

func bearerHeader(tok any) map[string]string {
	return map[string]string{"Authorization": "Bearer " + tok.(string)}
}

func httptestServer(h http.Handler) *httptest.Server { return httptest.NewServer(h) }

// decodeHeader returns a JWT's decoded header JSON.
func decodeHeader(t *testing.T, tok string) string {
	t.Helper()
	head, _, _ := strings.Cut(tok, ".")
	raw, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		t.Fatalf("decode header: %v", err)
	}
	return string(raw)
}

// decodePayload returns a JWT's decoded claims JSON.
func decodePayload(t *testing.T, tok string) string {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %d parts", len(parts))
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatalf("decode payload: %v", err)
	}
	return string(raw)
}

// concurrently runs refresh(i) for i in [0, n) at once and collects each
// answer's status and the successor refresh token it returned (if any).
func concurrently(n int, refresh func(i int) (status int, successor string)) (status []int, successor []string) {
	status, successor = make([]int, n), make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			status[i], successor[i] = refresh(i)
		}()
	}
	wg.Wait()
	return status, successor
}
