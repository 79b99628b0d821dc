package main

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/adapter/password"
	"github.com/gatehouse-auth/gatehouse/adapter/rest"
	"github.com/gatehouse-auth/gatehouse/adapter/storage/memory"
	"github.com/gatehouse-auth/gatehouse/adapter/token"
	"github.com/gatehouse-auth/gatehouse/usecase"
)

// cheap are argon2id parameters that keep the login scenarios fast under
// -race; production parameters are measured by the benchmarks.
var cheap = password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

// gatehouse is a real Gatehouse (memory store, EdDSA, argon2id) behind
// httptest on 127.0.0.1, with one machine client, and a count of the
// requests it answered by route.
type gatehouse struct {
	url            string
	clientID       string
	clientSecret   string
	protected, all atomic.Int64
}

func newGatehouse(t *testing.T) *gatehouse {
	t.Helper()
	ctx := context.Background()
	st := memory.New()
	now := time.Now
	log := slog.New(slog.DiscardHandler)
	policy := usecase.TokenPolicy{AccessTTL: 15 * time.Minute, RefreshTTL: 30 * 24 * time.Hour, ReuseInterval: 10 * time.Second, Leeway: 30 * time.Second}
	ring, err := token.NewKeyring(st, token.AlgEdDSA, nil, policy.AccessTTL+policy.Leeway, now)
	if err != nil {
		t.Fatalf("NewKeyring: %v", err)
	}
	if err := ring.Load(ctx); err != nil {
		t.Fatalf("Load keys: %v", err)
	}
	const iss, aud = "http://127.0.0.1", "gatehouse"
	hasher := password.New(cheap, 0, 0)
	issuer := token.NewIssuer(ring, iss, aud)
	revoked := usecase.NewRevocationList(st, now, log, usecase.DefaultMaxStaleness)
	verify := usecase.NewVerify(token.NewVerifier(ring, iss, aud, policy.Leeway, now, 1024), revoked, nil, nil)
	clients := usecase.NewClients(st, issuer, policy, now, nil)
	h := rest.New(rest.Deps{
		Verify:   verify,
		Register: usecase.NewRegister(st, hasher, nil, 8, true, now, nil),
		Login:    usecase.NewLogin(st, st, hasher, issuer, nil, nil, policy, now, log, nil, nil, nil),
		Refresh:  usecase.NewRefresh(st, issuer, revoked, policy, now, log, nil, nil),
		Clients:  clients,
		Revoke:   usecase.NewRevoke(st, verify, revoked, policy, now, nil),
		Store:    st,
	}, rest.Options{Issuer: iss}, log)
	g := &gatehouse{}
	c, secret, err := clients.Create(ctx, "load", nil)
	if err != nil {
		t.Fatalf("create client: %v", err)
	}
	g.clientID, g.clientSecret = c.ID, secret
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.all.Add(1)
		if r.URL.Path == "/protected_resource" {
			g.protected.Add(1)
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	g.url = srv.URL
	return g
}

func TestScenarios(t *testing.T) {
	t.Parallel()
	g := newGatehouse(t)
	tests := []struct {
		scenario string
		distinct int
		requests int
		client   string
	}{
		{scenario: scVerify},
		{scenario: scLogin},
		{scenario: scRefresh},
		{scenario: scClientCredentials},
		{scenario: scMixed},
		{scenario: scVerify, distinct: 50, requests: 200},
		{scenario: scVerify, client: "std"},
	}
	for _, tt := range tests {
		t.Run(tt.scenario+"/"+tt.client, func(t *testing.T) {
			t.Parallel()
			cfg := config{Target: g.url, Scenario: tt.scenario, Workers: 4, Duration: time.Second,
				ClientID: g.clientID, ClientSecret: g.clientSecret, Distinct: tt.distinct, Requests: tt.requests, Client: tt.client}
			rep, err := run(t.Context(), cfg, nil)
			if err != nil {
				t.Fatalf("run(%s) = %v", tt.scenario, err)
			}
			if rep.OK == 0 || rep.Errors != 0 || rep.Latency.n != rep.OK {
				t.Fatalf("run(%s): %d ok, %d errors %v, %d latencies; want ok > 0, no errors, one latency per success",
					tt.scenario, rep.OK, rep.Errors, rep.Kinds, rep.Latency.n)
			}
			if tt.requests > 0 && rep.OK+rep.Rejected != uint64(tt.requests) {
				t.Errorf("run(%s, --requests %d) sent %d", tt.scenario, tt.requests, rep.OK+rep.Rejected)
			}
			if rep.Latency.quantile(.5) > rep.Latency.quantile(.99) || rep.Latency.quantile(.99) > rep.Latency.max {
				t.Errorf("percentiles out of order: p50 %v p99 %v max %v", rep.Latency.quantile(.5), rep.Latency.quantile(.99), rep.Latency.max)
			}
			if tt.scenario == scMixed && (rep.Ops[scVerify] == 0 || rep.Ops[scVerify] == rep.OK) {
				t.Errorf("mixed ran %v; want verify and other operations", rep.Ops)
			}
		})
	}
}

// The protected-route counter of the server must agree with what the tool
// reports: it measures real requests, not its own bookkeeping.
func TestVerifyCountsMatchServer(t *testing.T) {
	t.Parallel()
	g := newGatehouse(t)
	// The server runs in this process, so --watch-pid is our own pid.
	rep, err := run(t.Context(), config{Target: g.url, Scenario: scVerify, Workers: 3, Requests: 300, WatchPID: os.Getpid()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.OK != 300 || g.protected.Load() != 300 {
		t.Errorf("tool counted %d ok, server answered %d protected requests; want 300 and 300", rep.OK, g.protected.Load())
	}
	// The kernel keeps RSS in per-CPU counters that it folds in lazily, so
	// VmHWM can trail a VmRSS sample by a few pages: allow 5 %.
	if s := rep.Server; s == nil || s.RSSMax < s.RSSStart || s.RSSStart <= 0 || s.PeakRSS < s.RSSMax*95/100 || s.CPU <= 0 {
		t.Errorf("watched process report = %+v; want CPU used and VmRSS start <= max <= VmHWM (within 5 %%)", s)
	}
	if rep.Self == nil || rep.Self.CPU <= 0 {
		t.Errorf("load tool self report = %+v; want CPU used", rep.Self)
	}
	// A process that does not exist is an error, not silence.
	if _, err := run(t.Context(), config{Target: g.url, Scenario: scVerify, Workers: 1, Requests: 1, WatchPID: 1 << 30}, nil); err == nil {
		t.Error("run with --watch-pid of a missing process = nil; want an error")
	}
}

// A wrong token makes every verify request fail, and the tool says so.
func TestVerifyErrorsAreReported(t *testing.T) {
	t.Parallel()
	g := newGatehouse(t)
	rep, err := run(t.Context(), config{Target: g.url, Scenario: scVerify, Workers: 2, Requests: 20, Token: "not-a-token"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.OK != 0 || rep.Errors != 20 || rep.Kinds["verify: status 401"] != 20 {
		t.Errorf("bad token: %d ok, %d errors %v; want 0 ok, 20 x status 401", rep.OK, rep.Errors, rep.Kinds)
	}
}

func TestRefusesRemoteTargets(t *testing.T) {
	t.Parallel()
	tests := []struct {
		target string
		allow  bool
		ok     bool
	}{
		{"http://127.0.0.1:8080", false, true},
		{"http://127.1.2.3:8080", false, true},
		{"http://[::1]:8080", false, true},
		{"http://localhost:8080", false, true},
		{"http://LOCALHOST", false, true},
		{"http://10.0.0.1:8080", false, false},
		{"http://192.0.2.10", false, false},
		{"https://example.com", false, false},
		{"http://127.0.0.1.nip.io", false, false},
		{"http://[::ffff:8.8.8.8]:80", false, false},
		{"http://0.0.0.0:8080", false, false},
		{"https://example.com", true, true},
		{"ftp://127.0.0.1", false, false},
		{"127.0.0.1:8080", false, false},
	}
	for _, tt := range tests {
		_, err := checkTarget(tt.target, tt.allow)
		if (err == nil) != tt.ok {
			t.Errorf("checkTarget(%q, allowRemote=%v) = %v; want ok=%v", tt.target, tt.allow, err, tt.ok)
		}
	}
	// run refuses before sending anything.
	_, err := run(t.Context(), config{Target: "http://192.0.2.10:8080", Scenario: scVerify, Workers: 1, Duration: time.Second}, nil)
	if !errors.Is(err, errRemote) {
		t.Errorf("run(remote target) = %v; want %v", err, errRemote)
	}
	// The dialer re-checks after name resolution.
	if err := loopbackOnly("tcp", "192.0.2.10:80", nil); !errors.Is(err, errRemote) {
		t.Errorf("loopbackOnly(192.0.2.10) = %v; want %v", err, errRemote)
	}
	if err := loopbackOnly("tcp", "127.0.0.1:80", nil); err != nil {
		t.Errorf("loopbackOnly(127.0.0.1) = %v; want nil", err)
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	base := config{Target: "http://127.0.0.1:1", Scenario: scVerify, Workers: 1, Duration: time.Second}
	tests := []struct {
		name   string
		change func(*config)
		want   string
	}{
		{"unknown scenario", func(c *config) { c.Scenario = "flood" }, "--scenario"},
		{"no workers", func(c *config) { c.Workers = 0 }, "--workers"},
		{"over the cap", func(c *config) { c.Duration = maxDuration + time.Second }, "cap"},
		{"neither duration nor count", func(c *config) { c.Duration = 0 }, "--duration or --requests"},
		{"client scenario without a client", func(c *config) { c.Scenario = scClientCredentials }, "--client-id"},
		{"mixed without a client", func(c *config) { c.Scenario = scMixed }, "--client-id"},
		{"half a user", func(c *config) { c.Username = "alice" }, "--password"},
	}
	for _, tt := range tests {
		c := base
		tt.change(&c)
		if err := c.validate(); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("validate(%s) = %v; want an error about %s", tt.name, err, tt.want)
		}
	}
	if err := base.validate(); err != nil {
		t.Errorf("validate(base) = %v", err)
	}
}

// The run stops by itself when the duration is up, even with no request
// limit and slow answers.
func TestStopsByItself(t *testing.T) {
	t.Parallel()
	g := newGatehouse(t)
	start := time.Now()
	rep, err := run(t.Context(), config{Target: g.url, Scenario: scVerify, Workers: 2, Duration: 300 * time.Millisecond}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Relative check: the measured phase is the configured one, not more
	// than the whole call took.
	if rep.Elapsed < 300*time.Millisecond || rep.Elapsed > time.Since(start) {
		t.Errorf("elapsed %v; want at least the 300ms duration and at most the call's %v", rep.Elapsed, time.Since(start))
	}
}

func TestCLIAndProgress(t *testing.T) {
	t.Parallel()
	g := newGatehouse(t)
	var out, errOut bytes.Buffer
	code := cli(t.Context(), []string{"--target", g.url, "--scenario", "verify", "--workers", "2", "--duration", "1200ms"}, &out, &errOut, true)
	if code != 0 {
		t.Fatalf("cli = %d, stderr %s", code, errOut.String())
	}
	for _, want := range []string{"\r\033[K", " requests ", "/s", "throughput", "p50", "p99", "max", "0 errors"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	// Not a terminal: no progress line.
	out.Reset()
	code = cli(t.Context(), []string{"--target", g.url, "--workers", "1", "--duration", "600ms"}, &out, &errOut, false)
	if code != 0 || strings.Contains(out.String(), "\r") {
		t.Errorf("cli without a tty = %d, output %q; want 0 and no carriage returns", code, out.String())
	}
	// A refused target is exit code 1 with one line on stderr.
	errOut.Reset()
	if code := cli(t.Context(), []string{"--target", "http://192.0.2.10"}, &out, &errOut, false); code != 1 || !strings.Contains(errOut.String(), "loopback") {
		t.Errorf("cli(remote) = %d, stderr %q; want 1 and a loopback refusal", code, errOut.String())
	}
}

func TestBaseline(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(baseline())
	defer srv.Close()
	rep, err := run(t.Context(), config{Target: srv.URL, Scenario: scVerify, Workers: 2, Requests: 100, Token: "anything"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.OK != 100 || rep.Errors != 0 {
		t.Errorf("baseline: %d ok, %d errors; want 100, 0", rep.OK, rep.Errors)
	}
	var out bytes.Buffer
	if err := baselineCmd(t.Context(), []string{"--addr", "192.0.2.10:9090"}, &out); !errors.Is(err, errRemote) {
		t.Errorf("baseline on a public address = %v; want %v", err, errRemote)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	if err := baselineCmd(ctx, []string{"--addr", "127.0.0.1:0"}, &out); err != nil || !strings.Contains(out.String(), "listening on 127.0.0.1:") {
		t.Errorf("baseline serve = %v, output %q", err, out.String())
	}
}

// The raw client reads every framing net/http may answer with: a length,
// a chunked body (a handler that flushes), and Connection: close.
func TestRawClient(t *testing.T) {
	t.Parallel()
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer ok" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		switch r.URL.Path {
		case "/chunked":
			w.Write([]byte(`{"part":1}`))
			w.(http.Flusher).Flush()
			w.Write([]byte(`{"part":2}`))
		case "/close":
			w.Header().Set("Connection", "close")
			w.Write([]byte("bye"))
		default:
			w.Write([]byte(`{"message":"This is a protected resource"}`))
		}
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	u, err := checkTarget(srv.URL, false)
	if err != nil {
		t.Fatal(err)
	}
	c := newRawConn(u.Host, u.Host, dialer(false), 5*time.Second)
	defer c.close()
	for _, tt := range []struct {
		path, auth string
		want       int
	}{
		{"/len", "Bearer ok", 200}, {"/chunked", "Bearer ok", 200}, {"/len", "Bearer ok", 200},
		{"/len", "Bearer bad", 401}, {"/close", "Bearer ok", 200}, {"/len", "Bearer ok", 200},
	} {
		got, err := c.get(t.Context(), tt.path, tt.auth)
		if err != nil || got != tt.want {
			t.Fatalf("get(%s, %s) = %d, %v; want %d", tt.path, tt.auth, got, err, tt.want)
		}
	}
	// One connection for everything up to /close, a second one after it.
	if n := conns.Load(); n != 2 {
		t.Errorf("raw client opened %d connections; want 2 (keep-alive, then a new one after Connection: close)", n)
	}
}

func TestMixedRatio(t *testing.T) {
	t.Parallel()
	w := &worker{l: &loader{cfg: config{Scenario: scMixed}}, rng: mrand.New(mrand.NewPCG(1, 2))}
	got := map[string]int{}
	const n = 100_000
	for range n {
		got[w.pick()]++
	}
	for op, want := range map[string]float64{scVerify: .90, scRefresh: .05, scClientCredentials: .03, scLogin: .02} {
		if share := float64(got[op]) / n; share < want-0.005 || share > want+0.005 {
			t.Errorf("mixed picks %s %.3f of the time; want %.2f", op, share, want)
		}
	}
}

func TestHistogram(t *testing.T) {
	t.Parallel()
	var h histogram
	for i := 1; i <= 1000; i++ {
		h.record(time.Duration(i) * time.Microsecond)
	}
	for _, tt := range []struct {
		q    float64
		want time.Duration
	}{{.5, 500 * time.Microsecond}, {.9, 900 * time.Microsecond}, {.99, 990 * time.Microsecond}} {
		got := h.quantile(tt.q)
		if diff := float64(got-tt.want) / float64(tt.want); diff < -0.02 || diff > 0.02 {
			t.Errorf("quantile(%v) = %v; want %v within 2%%", tt.q, got, tt.want)
		}
	}
	if h.quantile(1) != time.Millisecond || h.max != time.Millisecond {
		t.Errorf("max = %v, quantile(1) = %v; want 1ms", h.max, h.quantile(1))
	}
	for _, v := range []uint64{0, 1, 127, 128, 255, 256, 1 << 20, 1<<47 - 1, 1 << 50} {
		i := bucketOf(v)
		if i < 0 || i >= numBuckets {
			t.Fatalf("bucketOf(%d) = %d; out of range", v, i)
		}
		if v < 1<<47 {
			if mid := bucketValue(i); float64(mid) < float64(v)*0.98 || float64(mid) > float64(v)*1.02+1 {
				t.Errorf("bucketValue(bucketOf(%d)) = %d; want within 2%%", v, mid)
			}
		}
	}
}
