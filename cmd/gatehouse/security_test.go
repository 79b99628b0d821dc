package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/gatehouse-auth/gatehouse/adapter/password"
	"github.com/gatehouse-auth/gatehouse/adapter/rest"
	"github.com/gatehouse-auth/gatehouse/adapter/token"
	"github.com/gatehouse-auth/gatehouse/domain"
	"github.com/gatehouse-auth/gatehouse/internal/testkit"
	"github.com/gatehouse-auth/gatehouse/usecase"
)

// newSecurityEnv is newTestEnv with explicit argon2id parameters and a
// prepare hook (see startTestEnv).
func newSecurityEnv(t *testing.T, overrides map[string]string, params password.Params, prepare func(*app)) *testEnv {
	t.Helper()
	return startTestEnv(t, overrides, params, prepare)
}

// countingHasher counts the password checks that reach the hasher.
type countingHasher struct {
	domain.PasswordHasher
	verifies atomic.Int64
}

func (h *countingHasher) Verify(ctx context.Context, stored, pw string) (bool, bool, error) {
	h.verifies.Add(1)
	return h.PasswordHasher.Verify(ctx, stored, pw)
}

// countLoginHashes rebuilds a's Login exactly as build does, with the
// same hasher, store and throttle, but counting every password check.
func countLoginHashes(a *app) *countingHasher {
	c := &countingHasher{PasswordHasher: a.hasher}
	a.login = usecase.NewLogin(a.store, a.store, c, newIssuer(a), a.throttle, a.mfa, policyOf(a), time.Now, a.log, nil, a.eventLog, nil)
	return c
}

// newIssuer is the token issuer build gives a's use cases.
func newIssuer(a *app) *token.Issuer { return token.NewIssuer(a.ring, a.cfg.Issuer, a.cfg.Audience) }

// policyOf is the token policy build derives from a's configuration.
func policyOf(a *app) usecase.TokenPolicy {
	return usecase.TokenPolicy{
		AccessTTL:     a.cfg.AccessTTL,
		RefreshTTL:    a.cfg.RefreshTTL,
		ReuseInterval: a.cfg.RefreshReuseInterval,
		Leeway:        a.cfg.Leeway,
		UserScopes:    a.cfg.UserScopes,
	}
}

// newThrottleEnv is a security env whose login hashes are counted.
func newThrottleEnv(t *testing.T, overrides map[string]string) (*testEnv, *countingHasher) {
	t.Helper()
	var hashes *countingHasher
	e := newSecurityEnv(t, overrides, testParams, func(a *app) { hashes = countLoginHashes(a) })
	return e, hashes
}

// trustLoopback makes the test server believe X-Forwarded-For from
// 127.0.0.1, so one test can act as many client addresses.
var trustLoopback = map[string]string{"GATEHOUSE_TRUSTED_PROXIES": "127.0.0.0/8"}

// loginFrom posts /get_token as the client at xff ("" sends no header).
func (e *testEnv) loginFrom(xff, username, pw string) response {
	e.t.Helper()
	var h map[string]string
	if xff != "" {
		h = map[string]string{"X-Forwarded-For": xff}
	}
	return e.do(http.MethodPost, "/get_token", map[string]string{"username": username, "password": pw}, h)
}

const throttledBody = `{"error":"too_many_requests","message":"Too many failed attempts; try again later"}`

// wantThrottled checks a 429 with the standard body and a Retry-After of
// at least atLeast seconds, and returns the Retry-After.
func wantThrottled(t *testing.T, r response, what string, atLeast int) int {
	t.Helper()
	if r.status != http.StatusTooManyRequests {
		t.Fatalf("%s = %d %s; want 429", what, r.status, r.body)
	}
	if got := strings.TrimSpace(string(r.body)); got != throttledBody {
		t.Errorf("%s body = %s; want %s", what, got, throttledBody)
	}
	ra, err := strconv.Atoi(r.header.Get("Retry-After"))
	if err != nil || ra < atLeast {
		t.Fatalf("%s Retry-After = %q; want whole seconds >= %d", what, r.header.Get("Retry-After"), atLeast)
	}
	return ra
}

func wantStatus(t *testing.T, r response, what string, status int) {
	t.Helper()
	if r.status != status {
		t.Fatalf("%s = %d %s; want %d", what, r.status, r.body, status)
	}
}

func TestLoginThrottlePerUsernameAndIP(t *testing.T) {
	t.Parallel()
	e, hashes := newThrottleEnv(t, nil)
	e.signUp("alice", "correct horse battery")
	e.signUp("bob", "bobs long password")

	for i := range 5 {
		wantStatus(t, e.loginFrom("", "alice", "wrong password"), fmt.Sprintf("wrong password #%d", i+1), 401)
	}
	if n := hashes.verifies.Load(); n != 5 {
		t.Fatalf("5 failed logins ran %d password checks; want 5", n)
	}

	// The correct password does not get through, and is not even checked.
	ra := wantThrottled(t, e.loginFrom("", "alice", "correct horse battery"), "6th attempt with the correct password", 1)
	r := e.form("/oauth/token", "grant_type=password&username=alice&password=correct+horse+battery", nil)
	if r.status != 429 || r.json(t)["error"] != "too_many_requests" || r.header.Get("Retry-After") == "" {
		t.Fatalf("password grant while throttled = %d %s (Retry-After %q); want 429 too_many_requests", r.status, r.body, r.header.Get("Retry-After"))
	}
	if n := hashes.verifies.Load(); n != 5 {
		t.Fatalf("throttled attempts ran %d more password checks; want 0 (refused before hashing)", n-5)
	}

	// The pair rule blocks the pair, not the address.
	wantStatus(t, e.loginFrom("", "bob", "bobs long password"), "another user from the same address", 200)

	// It is a backoff, not a lockout: after Retry-After the right password
	// works, and the success resets the pair's counter.
	time.Sleep(time.Duration(ra)*time.Second + 100*time.Millisecond)
	wantStatus(t, e.loginFrom("", "alice", "correct horse battery"), "correct password after Retry-After", 200)
	wantStatus(t, e.loginFrom("", "alice", "wrong password"), "a wrong password after a success", 401)
}

func TestLoginThrottleIgnoresUntrustedForwardedFor(t *testing.T) {
	t.Parallel()
	for _, trusted := range []bool{false, true} {
		t.Run(fmt.Sprintf("trusted proxies %v", trusted), func(t *testing.T) {
			t.Parallel()
			var o map[string]string
			if trusted {
				o = trustLoopback
			}
			e, _ := newThrottleEnv(t, o)
			e.signUp("alice", "correct horse battery")
			// Five failures, each claiming a different client address.
			for i := range 5 {
				wantStatus(t, e.loginFrom(fmt.Sprintf("198.51.100.%d", i+1), "alice", "wrong password"), "wrong password", 401)
			}
			r := e.loginFrom("198.51.100.6", "alice", "correct horse battery")
			if !trusted {
				// Without a trusted proxy the header is the client's word:
				// all six attempts came from 127.0.0.1.
				wantThrottled(t, r, "spoofed X-Forwarded-For", 1)
				return
			}
			// Behind a trusted proxy these really are six addresses.
			wantStatus(t, r, "a sixth address behind a trusted proxy", 200)

			// A client cannot dodge its own throttle by prepending
			// addresses: the proxy appends the real one, and that is the
			// one that counts.
			for range 5 {
				wantStatus(t, e.loginFrom("203.0.113.9", "alice", "wrong password"), "wrong password", 401)
			}
			wantThrottled(t, e.loginFrom("192.0.2.77, 203.0.113.9", "alice", "correct horse battery"), "prepended X-Forwarded-For", 1)
			wantThrottled(t, e.loginFrom("10.9.9.9,192.0.2.77, 203.0.113.9", "alice", "correct horse battery"), "prepended X-Forwarded-For", 1)
		})
	}
}

func TestLoginThrottlePerIPStopsCredentialStuffing(t *testing.T) {
	t.Parallel()
	e, hashes := newThrottleEnv(t, trustLoopback)
	e.signUp("alice", "correct horse battery")
	const stuffer = "203.0.113.7"
	for i := range 50 {
		wantStatus(t, e.loginFrom(stuffer, fmt.Sprintf("victim-%02d", i), "Password1!"), "stuffing attempt", 401)
	}
	before := hashes.verifies.Load()
	ra := wantThrottled(t, e.loginFrom(stuffer, "alice", "correct horse battery"), "51st attempt from the stuffing address", 60)
	if ra > int((15 * time.Minute).Seconds()) {
		t.Errorf("Retry-After = %d s; want at most the 15 min window", ra)
	}
	if n := hashes.verifies.Load(); n != before {
		t.Errorf("the throttled attempt ran %d password checks; want 0", n-before)
	}
	wantStatus(t, e.loginFrom("203.0.113.8", "alice", "correct horse battery"), "another address", 200)
}

func TestLoginThrottlePerUserSparesKnownAddresses(t *testing.T) {
	t.Parallel()
	e, _ := newThrottleEnv(t, trustLoopback)
	e.signUp("alice", "correct horse battery")
	const home = "192.0.2.1"
	wantStatus(t, e.loginFrom(home, "alice", "correct horse battery"), "login from home", 200)
	// A distributed guess: 20 addresses, one failure each, so no pair and
	// no address reaches its own limit.
	for i := range 20 {
		wantStatus(t, e.loginFrom(fmt.Sprintf("198.51.100.%d", i+1), "alice", "wrong password"), "distributed guess", 401)
	}
	wantThrottled(t, e.loginFrom("198.51.100.50", "alice", "correct horse battery"), "a stranger after 20 failures", 1)
	wantStatus(t, e.loginFrom(home, "alice", "correct horse battery"), "the owner from a known address", 200)
}

func TestNoUserEnumeration(t *testing.T) {
	t.Parallel()
	e := newSecurityEnv(t, trustLoopback, testParams, nil)
	e.signUp("alice", "correct horse battery")
	carol := e.signUp("carol", "carols long password")
	admin := bearerHeader(e.adminToken())
	if r := e.do(http.MethodPatch, "/admin/users/"+carol["id"].(string), map[string]any{"disabled": true}, admin); r.status != 200 {
		t.Fatalf("disable carol = %d %s", r.status, r.body)
	}
	attempts := []struct{ name, username, password string }{
		{"wrong password", "alice", "not the password"},
		{"unknown user", "mallory", "not the password"},
		{"disabled user, right password", "carol", "carols long password"},
		{"disabled user, wrong password", "carol", "not the password"},
		{"unknown user in other case", "MALLORY", "not the password"},
		{"name that cannot exist", "x' OR 1=1 --", "not the password"},
	}
	for k, ep := range []struct {
		name string
		send func(xff, username, pw string) response
	}{
		{"/get_token", func(xff, u, p string) response { return e.loginFrom(xff, u, p) }},
		{"/oauth/token", func(xff, u, p string) response {
			body := "grant_type=password&username=" + url.QueryEscape(u) + "&password=" + url.QueryEscape(p)
			return e.form("/oauth/token", body, map[string]string{"X-Forwarded-For": xff})
		}},
	} {
		var first response
		for i, a := range attempts {
			// A fresh address per attempt keeps the throttle out of it.
			r := ep.send(fmt.Sprintf("198.51.%d.%d", 100+k, i+1), a.username, a.password)
			if r.status == http.StatusOK || r.status >= 500 || r.status == http.StatusTooManyRequests {
				t.Fatalf("%s %s = %d %s", ep.name, a.name, r.status, r.body)
			}
			if i == 0 {
				first = r
				continue
			}
			if r.status != first.status || string(r.body) != string(first.body) {
				t.Errorf("%s %s = %d %s; %s got %d %s: the answers tell them apart",
					ep.name, a.name, r.status, r.body, attempts[0].name, first.status, first.body)
			}
			for _, h := range []string{"WWW-Authenticate", "Retry-After", "Content-Type", "Cache-Control"} {
				if r.header.Get(h) != first.header.Get(h) {
					t.Errorf("%s %s: %s = %q; %s got %q", ep.name, a.name, h, r.header.Get(h), attempts[0].name, first.header.Get(h))
				}
			}
		}
	}
}

// median returns the middle of ds (which it sorts).
func median(ds []time.Duration) time.Duration {
	slices.Sort(ds)
	return ds[len(ds)/2]
}

// TestLoginTimingDoesNotRevealUsers compares, with the production argon2id
// parameters, how long the server takes to refuse an unknown user, a wrong
// password and a disabled user. Samples are interleaved so that load on
// the machine hits every series alike, and only medians are compared, with
// a wide margin: without the dummy hash an unknown user would be refused
// about as fast as a request that never hashes, which the test measures
// too, to show it could tell.
func TestLoginTimingDoesNotRevealUsers(t *testing.T) {
	if testing.Short() {
		t.Skip("timing comparison with production hash parameters")
	}
	// Not parallel: it runs before the package's parallel tests start.
	e := newSecurityEnv(t, trustLoopback, password.DefaultParams(), nil)
	const rounds = 24
	users := []string{"alice0", "alice1", "alice2", "alice3"} // failures spread below the 20-per-user limit
	for _, u := range users {
		e.signUp(u, "correct horse battery")
	}
	disabled := []string{"carol0", "carol1"}
	admin := bearerHeader(e.adminToken())
	for _, u := range disabled {
		id := e.signUp(u, "carols long password")["id"].(string)
		if r := e.do(http.MethodPatch, "/admin/users/"+id, map[string]any{"disabled": true}, admin); r.status != 200 {
			t.Fatalf("disable %s = %d", u, r.status)
		}
	}

	var ip atomic.Int64
	timed := func(username, pw string, want int) time.Duration {
		n := ip.Add(1)
		xff := fmt.Sprintf("198.18.%d.%d", n/250, n%250+1)
		start := time.Now()
		r := e.loginFrom(xff, username, pw)
		el := time.Since(start)
		if r.status != want {
			t.Fatalf("login %s = %d %s; want %d", username, r.status, r.body, want)
		}
		return el
	}
	series := []struct {
		name string
		send func(i int) time.Duration
		got  []time.Duration
	}{
		{name: "unknown user", send: func(i int) time.Duration { return timed(fmt.Sprintf("ghost%03d", i), "not the password", 401) }},
		{name: "wrong password", send: func(i int) time.Duration { return timed(users[i%len(users)], "not the password", 401) }},
		{name: "disabled user", send: func(i int) time.Duration { return timed(disabled[i%len(disabled)], "carols long password", 401) }},
		{name: "no hashing (missing password)", send: func(i int) time.Duration { return timed(fmt.Sprintf("ghost%03d", i), "", 400) }},
	}
	for _, s := range series { // warm-up, including the lazily made dummy hash
		s.send(999)
	}
	for i := range rounds {
		for j := range series {
			s := &series[(i+j)%len(series)] // rotate the order every round
			s.got = append(s.got, s.send(i))
		}
	}
	m := map[string]time.Duration{}
	for _, s := range series {
		m[s.name] = median(s.got)
	}
	t.Logf("median refusal times: %v", m)
	wrong := m["wrong password"]
	for _, name := range []string{"unknown user", "disabled user"} {
		if ratio := float64(m[name]) / float64(wrong); ratio < 0.5 || ratio > 2 {
			t.Errorf("%s takes %v, wrong password %v (ratio %.2f); want within 0.5..2", name, m[name], wrong, ratio)
		}
	}
	// The measurement can see a skipped hash: a request that never hashes
	// is several times faster than a wrong password.
	if ratio := float64(wrong) / float64(m["no hashing (missing password)"]); ratio < 3 {
		t.Errorf("wrong password %v is only %.1fx a request without hashing; the comparison above cannot detect a missing dummy hash", wrong, ratio)
	}
}

func TestHashFloodShedsLoad(t *testing.T) {
	t.Parallel()
	e := newSecurityEnv(t, map[string]string{"GATEHOUSE_HASH_CONCURRENCY": "1", "GATEHOUSE_HASH_QUEUE": "4"}, password.DefaultParams(), nil)
	e.signUp("alice", "correct horse battery")

	const n = 60
	client := *e.srv.Client()
	client.Timeout = 60 * time.Second
	start := make(chan struct{})
	type result struct {
		status int
		retry  string
		body   string
		err    error
	}
	results := make([]result, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			user, pw := "alice", "correct horse battery"
			if i%2 == 1 {
				user, pw = fmt.Sprintf("ghost%02d", i), "not the password"
			}
			req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/get_token",
				strings.NewReader(fmt.Sprintf(`{"username":%q,"password":%q}`, user, pw)))
			req.Header.Set("Content-Type", "application/json")
			<-start
			resp, err := client.Do(req)
			if err != nil {
				results[i] = result{err: err}
				return
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			results[i] = result{resp.StatusCode, resp.Header.Get("Retry-After"), string(b), err}
		}()
	}
	close(start)
	wg.Wait()

	counts := map[int]int{}
	for i, r := range results {
		if r.err != nil {
			t.Fatalf("request %d: %v", i, r.err)
		}
		counts[r.status]++
		switch r.status {
		case 200, 401:
		case 429:
			// Every attempt counts before its hash, so more concurrent
			// attempts on one (user, address) than the pair allowance wait
			// until the ones in flight are judged.
			if r.retry == "" {
				t.Errorf("429 without Retry-After: %s", r.body)
			}
		case 503:
			if r.retry == "" || !strings.Contains(r.body, `"error":"overloaded"`) {
				t.Errorf("503 without Retry-After or error overloaded: Retry-After %q, body %s", r.retry, r.body)
			}
		default:
			t.Errorf("request %d = %d %s; want 200, 401, 429 or 503", i, r.status, r.body)
		}
	}
	t.Logf("status counts under a %d-login flood (1 hash slot, queue 4): %v", n, counts)
	if counts[503] == 0 {
		t.Errorf("no 503 from %d concurrent logins with 1 hash slot and a queue of 4", n)
	}
	if counts[200] == 0 {
		t.Errorf("no login succeeded during the flood")
	}
	if d := e.app.hasher.QueueDepth(); d != 0 {
		t.Errorf("hash queue depth after the flood = %d; want 0", d)
	}
	wantStatus(t, e.loginFrom("", "alice", "correct horse battery"), "login after the flood", 200)
}

func TestPanicIsRecovered(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t, nil)
	logs := &testkit.LogBuffer{}
	a, err := build(context.Background(), cfg, logs, buildOptions{hash: testParams})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.close() })
	h := rest.New(a.httpDeps(), rest.Options{Issuer: cfg.Issuer}, a.log)
	h.GET("/panic", func(echo.Context) error { panic("kaboom: nil map in handler") })
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)

	resp, err := srv.Client().Get(srv.URL + "/panic")
	if err != nil {
		t.Fatalf("GET /panic: %v (the panic took the connection down)", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	const want = `{"error":"server_error","message":"Internal server error"}`
	if resp.StatusCode != 500 || strings.TrimSpace(string(body)) != want {
		t.Fatalf("GET /panic = %d %s; want 500 %s", resp.StatusCode, body, want)
	}
	if resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("500 after a panic lacks the security headers")
	}
	logged := logs.String()
	if !strings.Contains(logged, "request failed") || !strings.Contains(logged, "kaboom") || !strings.Contains(logged, `/panic`) {
		t.Errorf("the panic was not logged with its cause and route:\n%s", logged)
	}
	resp, err = srv.Client().Get(srv.URL + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET /healthz after a panic = %v, %v; want 200", resp, err)
	}
	resp.Body.Close()
}
