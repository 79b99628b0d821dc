package guard_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/gatehouse-auth/gatehouse/adapter/guard"
	"github.com/gatehouse-auth/gatehouse/domain"
	"github.com/gatehouse-auth/gatehouse/internal/testkit"
)

// guardVerifier is a hand-written Verifier: token text -> outcome.
type guardVerifier map[string]struct {
	claims *domain.Claims
	err    error
}

func (v guardVerifier) Verify(_ context.Context, token string) (*domain.Claims, error) {
	r, ok := v[token]
	if !ok {
		return nil, fmt.Errorf("%w: malformed", domain.ErrTokenInvalid)
	}
	if r.err != nil {
		return nil, r.err
	}
	out := *r.claims
	return &out, nil
}

// guardRevoked is a fixed set of revoked sessions.
type guardRevoked map[string]bool

func (r guardRevoked) Revoked(sid string) bool { return r[sid] }

// guardReply is a finished exchange.
type guardReply struct {
	status int
	header http.Header
	body   string
}

func guardDo(t *testing.T, url, method, auth string) guardReply {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return guardReply{status: resp.StatusCode, header: resp.Header, body: string(raw)}
}

// guardApp is a host application: Echo with its DEFAULT error handler, or
// with one that answers 418 to prove the guard does not rely on it.
func guardApp(t *testing.T, hostile bool, cfg guard.Config) (string, *atomic.Int64) {
	t.Helper()
	e := echo.New()
	calls := new(atomic.Int64)
	if hostile {
		e.HTTPErrorHandler = func(_ error, c echo.Context) {
			calls.Add(1)
			c.String(http.StatusTeapot, "host handler")
		}
	}
	show := func(c echo.Context) error {
		cl := guard.Claims(c)
		return c.JSON(http.StatusOK, map[string]any{"sub": cl.Subject, "scope": cl.Scope})
	}
	e.Match([]string{http.MethodGet, http.MethodHead}, "/r", show, guard.New(cfg))
	e.GET("/reports", show, guard.New(cfg), guard.RequireScope("reports:read"))
	e.GET("/both", show, guard.New(cfg), guard.RequireScope("reports:read", "reports:write"))
	e.GET("/unguarded-scope", show, guard.RequireScope("reports:read"))
	e.GET("/step-up", show, guard.New(cfg), guard.RequireACR(domain.ACRAAL2))
	e.GET("/aal1", show, guard.New(cfg), guard.RequireACR(domain.ACRAAL1))
	e.GET("/open", func(c echo.Context) error {
		return c.JSON(http.StatusOK, map[string]bool{"claims": guard.Claims(c) != nil})
	})
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return srv.URL, calls
}

func guardVerifierFixture() guardVerifier {
	user := &domain.Claims{Subject: "user-1", SessionID: "s-live", Scope: []string{"reports:read"}}
	return guardVerifier{
		"good":      {claims: user},
		"pwd":       {claims: &domain.Claims{Subject: "user-1", SessionID: "s-live", AMR: []string{"pwd"}, ACR: "aal1"}},
		"otp":       {claims: &domain.Claims{Subject: "user-1", SessionID: "s-live", AMR: []string{"pwd", "otp"}, ACR: "aal2"}},
		"expired":   {err: domain.ErrTokenExpired},
		"wrong-aud": {err: fmt.Errorf("%w: wrong audience", domain.ErrTokenInvalid)},
		"revoked":   {claims: &domain.Claims{Subject: "user-2", SessionID: "s-revoked"}},
		"client":    {claims: &domain.Claims{Subject: "c-1", ClientID: "c-1", Scope: []string{"other"}}},
		"both":      {claims: &domain.Claims{Subject: "c-2", ClientID: "c-2", Scope: []string{"reports:write", "reports:read"}}},
		"down":      {err: fmt.Errorf("verify token: %w: fetch jwks: refused", domain.ErrUnavailable)},
		"boom":      {err: errors.New("boom")},
	}
}

const (
	stepUpBody       = `{"error":"insufficient_user_authentication","message":"This needs a login with a second factor"}`
	stepUpChallenge  = `Bearer realm="gatehouse", error="insufficient_user_authentication", acr_values="aal2"`
	challenge        = `Bearer realm="gatehouse"`
	invalidChallenge = `Bearer realm="gatehouse", error="invalid_token"`
)

func TestGuardAnswers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, path, auth string
		status           int
		body, wwwAuth    string
	}{
		{"no header", "/r", "", 401, `{"error":"unauthorized","message":"Token is missing"}`, challenge},
		{"scheme only", "/r", "Bearer", 401, `{"error":"unauthorized","message":"Token is missing"}`, challenge},
		{"scheme and spaces", "/r", "Bearer    ", 401, `{"error":"unauthorized","message":"Token is missing"}`, challenge},
		{"expired", "/r", "Bearer expired", 401, `{"error":"invalid_token","message":"Token has expired"}`, invalidChallenge},
		{"garbage", "/r", "Bearer garbage", 401, `{"error":"invalid_token","message":"Invalid token"}`, invalidChallenge},
		{"wrong audience", "/r", "Bearer wrong-aud", 401, `{"error":"invalid_token","message":"Invalid token"}`, invalidChallenge},
		{"revoked session", "/r", "Bearer revoked", 401, `{"error":"invalid_token","message":"Token has been revoked"}`, invalidChallenge},
		{"key set down", "/r", "Bearer down", 503, `{"error":"unavailable","message":"A dependency is unavailable; try again shortly"}`, ""},
		{"unexpected error", "/r", "Bearer boom", 500, `{"error":"server_error","message":"Internal server error"}`, ""},
		{"bearer", "/r", "Bearer good", 200, `{"scope":["reports:read"],"sub":"user-1"}`, ""},
		{"lower-case scheme", "/r", "bearer good", 200, `{"scope":["reports:read"],"sub":"user-1"}`, ""},
		{"bare token (tutorial)", "/r", "good", 200, `{"scope":["reports:read"],"sub":"user-1"}`, ""},
		{"client token has no session", "/r", "Bearer client", 200, `{"scope":["other"],"sub":"c-1"}`, ""},
		{"scope present", "/reports", "Bearer good", 200, `{"scope":["reports:read"],"sub":"user-1"}`, ""},
		{"scope missing", "/reports", "Bearer client", 403, `{"error":"insufficient_scope","message":"The token lacks the required scope"}`,
			`Bearer realm="gatehouse", error="insufficient_scope", scope="reports:read"`},
		{"one of two scopes", "/both", "Bearer good", 403, `{"error":"insufficient_scope","message":"The token lacks the required scope"}`,
			`Bearer realm="gatehouse", error="insufficient_scope", scope="reports:read reports:write"`},
		{"both scopes", "/both", "Bearer both", 200, `{"scope":["reports:write","reports:read"],"sub":"c-2"}`, ""},
		{"scope check without guard", "/unguarded-scope", "Bearer good", 401, `{"error":"unauthorized","message":"Token is missing"}`, challenge},
		{"unguarded route", "/open", "Bearer good", 200, `{"claims":false}`, ""},
		{"step-up: second factor", "/step-up", "Bearer otp", 200, `{"scope":null,"sub":"user-1"}`, ""},
		{"step-up: password only", "/step-up", "Bearer pwd", 401, stepUpBody, stepUpChallenge},
		{"step-up: no acr at all", "/step-up", "Bearer good", 401, stepUpBody, stepUpChallenge},
		{"step-up: client token", "/step-up", "Bearer client", 401, stepUpBody, stepUpChallenge},
		{"aal1 route takes aal2", "/aal1", "Bearer otp", 200, `{"scope":null,"sub":"user-1"}`, ""},
		{"aal1 route takes aal1", "/aal1", "Bearer pwd", 200, `{"scope":null,"sub":"user-1"}`, ""},
	}
	for _, hostile := range []bool{false, true} {
		t.Run(fmt.Sprintf("hostile error handler %v", hostile), func(t *testing.T) {
			t.Parallel()
			logs := &testkit.LogBuffer{}
			url, calls := guardApp(t, hostile, guard.Config{
				Verifier:    guardVerifierFixture(),
				Revocations: guardRevoked{"s-revoked": true},
				Log:         slog.New(slog.NewJSONHandler(logs, nil)),
			})
			for _, tc := range tests {
				r := guardDo(t, url+tc.path, http.MethodGet, tc.auth)
				if r.status != tc.status || strings.TrimSpace(r.body) != tc.body {
					t.Errorf("%s: GET %s = %d %s; want %d %s", tc.name, tc.path, r.status, r.body, tc.status, tc.body)
				}
				if got := r.header.Get("WWW-Authenticate"); got != tc.wwwAuth {
					t.Errorf("%s: WWW-Authenticate = %q; want %q", tc.name, got, tc.wwwAuth)
				}
				if tc.status == 503 && r.header.Get("Retry-After") != "1" {
					t.Errorf("%s: Retry-After = %q; want 1", tc.name, r.header.Get("Retry-After"))
				}
			}
			if n := calls.Load(); n != 0 {
				t.Errorf("host error handler called %d times; want 0 (the guard answers itself)", n)
			}
			head := guardDo(t, url+"/r", http.MethodHead, "")
			if head.status != 401 || head.body != "" || head.header.Get("WWW-Authenticate") != challenge {
				t.Errorf("HEAD /r = %d %q %v; want 401 without a body", head.status, head.body, head.header)
			}
			out := logs.String()
			if !strings.Contains(out, "boom") || !strings.Contains(out, "fetch jwks") {
				t.Errorf("log = %s; want the causes of the 500 and the 503", out)
			}
			for _, tok := range []string{"Bearer boom", "Bearer down"} {
				if strings.Contains(out, tok) {
					t.Errorf("log contains the Authorization header %q", tok)
				}
			}
		})
	}
}

func TestGuardWithoutVerifierFailsClosed(t *testing.T) {
	t.Parallel()
	url, _ := guardApp(t, false, guard.Config{})
	r := guardDo(t, url+"/r", http.MethodGet, "Bearer good")
	if r.status != http.StatusInternalServerError {
		t.Fatalf("GET /r without a verifier = %d %s; want 500", r.status, r.body)
	}
}

// fakeFeed is a hand-written GET /oauth/revocations with Gatehouse's
// semantics: Basic auth, entries with seq > since that have not expired,
// at most limit of them, next_cursor the last seq or since.
type fakeFeed struct {
	mu      sync.Mutex
	entries []feedEntry
	sinces  []string
	status  int
	refused int // requests answered with status
}

type feedEntry struct {
	seq     int64
	sid     string
	expires time.Time
}

const (
	feedClient = "rs-client"
	feedSecret = "s3cret-never-logged"
)

func newFakeFeed(t *testing.T) (*fakeFeed, string) {
	t.Helper()
	f := &fakeFeed{}
	srv := httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(srv.Close)
	return f, srv.URL + "/oauth/revocations"
}

func (f *fakeFeed) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if id, secret, ok := r.BasicAuth(); !ok || id != feedClient || secret != feedSecret {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if f.status != 0 {
		f.refused++
		w.WriteHeader(f.status)
		return
	}
	since := r.URL.Query().Get("since")
	f.sinces = append(f.sinces, since)
	var after, limit int64
	fmt.Sscan(since, &after)
	fmt.Sscan(r.URL.Query().Get("limit"), &limit)
	type entry struct {
		SID       string    `json:"sid"`
		Sub       string    `json:"sub"`
		RevokedAt time.Time `json:"revoked_at"`
		ExpiresAt time.Time `json:"expires_at"`
	}
	page := struct {
		Revocations []entry `json:"revocations"`
		NextCursor  string  `json:"next_cursor"`
	}{Revocations: []entry{}, NextCursor: fmt.Sprint(after)}
	for _, e := range f.entries {
		if e.seq > after && e.expires.After(time.Now()) && int64(len(page.Revocations)) < limit {
			page.Revocations = append(page.Revocations, entry{SID: e.sid, Sub: "u", RevokedAt: time.Now(), ExpiresAt: e.expires})
			page.NextCursor = fmt.Sprint(e.seq)
		}
	}
	json.NewEncoder(w).Encode(page)
}

func (f *fakeFeed) add(sid string, expires time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.entries = append(f.entries, feedEntry{seq: int64(len(f.entries)) + 1, sid: sid, expires: expires})
}

func (f *fakeFeed) requested() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.sinces...)
}

func newPoller(t *testing.T, url, secret string, every time.Duration, log *slog.Logger) *guard.Poller {
	t.Helper()
	p, err := guard.NewPoller(url, feedClient, secret, nil, every, 0, nil, log)
	if err != nil {
		t.Fatalf("NewRevocationPoller() error = %v", err)
	}
	return p
}

func TestRevocationPollerPoll(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	feed, url := newFakeFeed(t)
	hour := time.Now().Add(time.Hour)
	for i := range 2500 {
		feed.add(fmt.Sprintf("s%d", i+1), hour)
	}
	p := newPoller(t, url, feedSecret, time.Hour, nil)
	if !p.LastSync().IsZero() || p.Revoked("s1") {
		t.Fatalf("before Poll: LastSync = %v, Revoked(s1) = %v; want zero, false", p.LastSync(), p.Revoked("s1"))
	}
	if err := p.Poll(ctx); err != nil {
		t.Fatalf("Poll() error = %v", err)
	}
	if p.Size() != 2500 || !p.Revoked("s1") || !p.Revoked("s2500") || p.Revoked("s2501") || p.LastSync().IsZero() {
		t.Fatalf("after Poll: Size = %d, Revoked(s1, s2500, s2501) = %v %v %v; want 2500, true true false",
			p.Size(), p.Revoked("s1"), p.Revoked("s2500"), p.Revoked("s2501"))
	}

	// Later entries arrive on the next poll, which re-reads a window behind
	// the cursor; an empty answer (next_cursor = since) does not move the
	// cursor back.
	feed.add("late", hour)
	if err := p.Poll(ctx); err != nil || !p.Revoked("late") {
		t.Fatalf("second Poll() = %v, Revoked(late) = %v; want nil, true", err, p.Revoked("late"))
	}
	feed.mu.Lock()
	feed.entries = nil // pruned by the server
	feed.mu.Unlock()
	for range 2 {
		if err := p.Poll(ctx); err != nil {
			t.Fatalf("Poll() error = %v", err)
		}
	}
	want := []string{"0", "1000", "2000", "2244", "2245", "2245"}
	if got := feed.requested(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("since values requested = %v; want %v", got, want)
	}
	if !p.Revoked("s1") || !p.Revoked("late") {
		t.Fatal("entries were forgotten before they expired")
	}
}

func TestRevocationPollerExpiry(t *testing.T) {
	t.Parallel()
	feed, url := newFakeFeed(t)
	feed.add("old", time.Now().Add(-time.Second))
	feed.add("soon", time.Now().Add(150*time.Millisecond))
	feed.add("later", time.Now().Add(time.Hour))
	p := newPoller(t, url, feedSecret, time.Hour, nil)
	if err := p.Poll(context.Background()); err != nil {
		t.Fatalf("Poll() error = %v", err)
	}
	if p.Revoked("old") || !p.Revoked("later") {
		t.Fatalf("Revoked(old, later) = %v, %v; want false, true", p.Revoked("old"), p.Revoked("later"))
	}
	// "soon" stops mattering at its expires_at, and a poll then drops it.
	testkit.Eventually(t, "Revoked(soon) turns false after its expiry", 5*time.Second, func() bool { return !p.Revoked("soon") })
	if err := p.Poll(context.Background()); err != nil || p.Size() != 1 {
		t.Fatalf("Poll() = %v, Size = %d; want nil, 1 (expired entries pruned)", err, p.Size())
	}
}

func TestRevocationPollerBadCredentials(t *testing.T) {
	t.Parallel()
	feed, url := newFakeFeed(t)
	feed.add("s1", time.Now().Add(time.Hour))
	p := newPoller(t, url, "wrong-secret", time.Hour, nil)
	err := p.Poll(context.Background())
	if err == nil || p.Revoked("s1") || !p.LastSync().IsZero() {
		t.Fatalf("Poll() with a wrong secret = %v, Revoked = %v; want an error and nothing learnt", err, p.Revoked("s1"))
	}
	if strings.Contains(err.Error(), "wrong-secret") {
		t.Fatalf("Poll() error %q contains the secret", err)
	}
}

func TestRevocationPollerRun(t *testing.T) {
	t.Parallel()
	feed, url := newFakeFeed(t)
	feed.mu.Lock()
	feed.status = http.StatusBadGateway // down at first
	feed.mu.Unlock()
	logs := &testkit.LogBuffer{}
	p := newPoller(t, url, feedSecret, 20*time.Millisecond, slog.New(slog.NewJSONHandler(logs, nil)))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); p.Run(ctx) }()

	testkit.Eventually(t, "three polls failed", 10*time.Second, func() bool {
		feed.mu.Lock()
		defer feed.mu.Unlock()
		return feed.refused >= 3
	})
	feed.mu.Lock()
	feed.status = 0
	feed.mu.Unlock()
	feed.add("s1", time.Now().Add(time.Hour))
	testkit.Eventually(t, "the revocation is picked up", 10*time.Second, func() bool { return p.Revoked("s1") })
	testkit.Eventually(t, "the recovery is logged", 10*time.Second, func() bool { return strings.Contains(logs.String(), "recovered") })

	// The guard refuses the revoked session's token from now on.
	url2, _ := guardApp(t, false, guard.Config{
		Verifier:    guardVerifier{"t": {claims: &domain.Claims{Subject: "u", SessionID: "s1"}}},
		Revocations: p,
	})
	if r := guardDo(t, url2+"/r", http.MethodGet, "Bearer t"); r.status != 401 || !strings.Contains(r.body, "Token has been revoked") {
		t.Fatalf("GET /r with a revoked session = %d %s; want 401 Token has been revoked", r.status, r.body)
	}

	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
	if out := logs.String(); strings.Contains(out, feedSecret) {
		t.Fatalf("log contains the client secret: %s", out)
	}
	if strings.Count(logs.String(), "poll failed") != 1 {
		t.Errorf("log = %s; want one warning for the whole outage", logs.String())
	}
}

func TestNewRevocationPollerRejectsBadSettings(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ url, id, secret string }{
		{"", "id", "secret"},
		{"gatehouse/oauth/revocations", "id", "secret"},
		{"ftp://gatehouse/oauth/revocations", "id", "secret"},
		{"https://gatehouse/oauth/revocations", "", "secret"},
		{"https://gatehouse/oauth/revocations", "id", ""},
	} {
		if _, err := guard.NewPoller(tc.url, tc.id, tc.secret, nil, 0, 0, nil, nil); err == nil {
			t.Errorf("NewRevocationPoller(%q, %q, …) error = nil; want an error", tc.url, tc.id)
		}
	}
}

// TestGuardLogsWhyItRefused: every refusal is logged at debug level with
// its reason and never with the token; nothing above debug for a 401.
func TestGuardLogsWhyItRefused(t *testing.T) {
	t.Parallel()
	v := guardVerifierFixture()
	v["unknown-kid"] = struct {
		claims *domain.Claims
		err    error
	}{err: fmt.Errorf("%w: unknown kid", domain.ErrTokenInvalid)}
	v["wrong-alg"] = struct {
		claims *domain.Claims
		err    error
	}{err: fmt.Errorf("%w: bad signature or algorithm", domain.ErrTokenInvalid)}
	logs := &testkit.LogBuffer{}
	url, _ := guardApp(t, false, guard.Config{
		Verifier:    v,
		Revocations: guardRevoked{"s-revoked": true},
		Log:         slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	for _, tc := range []struct{ auth, reason string }{
		{"", "token is missing"},
		{"Bearer expired", "token has expired"},
		{"Bearer unknown-kid", "unknown kid"},
		{"Bearer wrong-alg", "bad signature or algorithm"},
		{"Bearer wrong-aud", "wrong audience"},
		{"Bearer revoked", "token has been revoked"},
	} {
		before := len(logs.String())
		if r := guardDo(t, url+"/r", http.MethodGet, tc.auth); r.status != http.StatusUnauthorized {
			t.Fatalf("GET /r with %q = %d; want 401", tc.auth, r.status)
		}
		var line struct{ Level, Msg, Reason string }
		if err := json.Unmarshal([]byte(logs.String()[before:]), &line); err != nil {
			t.Fatalf("refusal of %q: log %q: %v", tc.auth, logs.String()[before:], err)
		}
		if line.Level != "DEBUG" || !strings.Contains(line.Reason, tc.reason) {
			t.Errorf("refusal of %q logged %+v; want DEBUG with reason %q", tc.auth, line, tc.reason)
		}
	}
	for _, tok := range []string{"unknown-kid", "wrong-alg", "wrong-aud"} {
		if strings.Contains(logs.String(), `"`+tok) || strings.Contains(logs.String(), "Bearer "+tok) {
			t.Errorf("log contains the token %q: %s", tok, logs)
		}
	}
}
