package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/adapter/password"
	"github.com/gatehouse-auth/gatehouse/adapter/rest"
	"github.com/gatehouse-auth/gatehouse/adapter/storage/gormstore"
	"github.com/gatehouse-auth/gatehouse/adapter/token"
	"github.com/gatehouse-auth/gatehouse/domain"
	"github.com/gatehouse-auth/gatehouse/infrastructure/database"
	"github.com/gatehouse-auth/gatehouse/internal/testkit"
	"github.com/gatehouse-auth/gatehouse/usecase"
)

// cheapHash keeps argon2id fast under -race; production parameters are
// adapter/password's business.
var cheapHash = password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

const (
	ghIssuer   = "https://gatehouse.test"
	ghAudience = "gatehouse"
	userPW     = "correct horse battery"
)

// gatehouse is a real Gatehouse (SQLite file, EdDSA keys, every use case,
// the real Echo app) behind httptest, wired like cmd/gatehouse's build(),
// with counters on the routes a resource server calls.
type gatehouse struct {
	url      string
	clients  *usecase.Clients
	register *usecase.Register
	jwksHits atomic.Int64
	feedHits atomic.Int64
	other    atomic.Int64 // introspection and the like: must stay zero
}

func newGatehouse(t *testing.T) *gatehouse {
	t.Helper()
	ctx := context.Background()
	db, err := database.Open(ctx, filepath.Join(t.TempDir(), "gatehouse.db"), database.Options{})
	if err != nil {
		t.Fatalf("open database: %v", err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		t.Fatalf("database handle: %v", err)
	}
	t.Cleanup(func() { sqlDB.Close() })
	if _, err := database.Migrate(ctx, db); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	st := gormstore.New(db)
	log := slog.New(slog.DiscardHandler)
	now := time.Now
	policy := usecase.TokenPolicy{AccessTTL: 15 * time.Minute, RefreshTTL: 30 * 24 * time.Hour, ReuseInterval: 10 * time.Second, Leeway: 30 * time.Second}
	ring, err := token.NewKeyring(st, token.AlgEdDSA, nil, policy.AccessTTL+policy.Leeway, now)
	if err != nil {
		t.Fatalf("keyring: %v", err)
	}
	if err := ring.Load(ctx); err != nil {
		t.Fatalf("load keys: %v", err)
	}
	hasher := password.New(cheapHash, 2, 64)
	issuer := token.NewIssuer(ring, ghIssuer, ghAudience)
	revoked := usecase.NewRevocationList(st, now, log, usecase.DefaultMaxStaleness)
	verify := usecase.NewVerify(token.NewVerifier(ring, ghIssuer, ghAudience, policy.Leeway, now, 1024), revoked, nil, nil)
	revoke := usecase.NewRevoke(st, verify, revoked, policy, now, nil)
	account := usecase.NewAccount(st, hasher, revoke, nil, 8, now, nil, nil, nil)
	gh := &gatehouse{
		clients:  usecase.NewClients(st, issuer, policy, now, nil),
		register: usecase.NewRegister(st, hasher, nil, 8, true, now, nil),
	}
	app := rest.New(rest.Deps{
		Verify:     verify,
		Register:   gh.register,
		Login:      usecase.NewLogin(st, st, hasher, issuer, nil, nil, policy, now, log, nil, nil, nil),
		Refresh:    usecase.NewRefresh(st, issuer, revoked, policy, now, log, nil, nil),
		Clients:    gh.clients,
		Revoke:     revoke,
		Introspect: usecase.NewIntrospect(verify, account, gh.clients, st, now),
		Account:    account,
		Users:      usecase.NewUsers(st, hasher, revoke, 8, now),
		Keys:       usecase.NewKeys(ring, token.AlgEdDSA, now, log, nil),
		Feed:       revoked,
		JWKS:       ring,
		Store:      st,
	}, rest.Options{Issuer: ghIssuer}, log)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/.well-known/jwks.json":
			gh.jwksHits.Add(1)
		case "/oauth/revocations":
			gh.feedHits.Add(1)
		case "/oauth/introspect":
			gh.other.Add(1)
		}
		app.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	gh.url = srv.URL
	return gh
}

// client creates a machine client and returns its id and secret.
func (gh *gatehouse) client(t *testing.T, name string, scopes ...string) (string, string) {
	t.Helper()
	c, secret, err := gh.clients.Create(context.Background(), name, scopes)
	if err != nil {
		t.Fatalf("create client %s: %v", name, err)
	}
	return c.ID, secret
}

// user registers a user (with roles) through the use case.
func (gh *gatehouse) user(t *testing.T, name string, roles ...string) {
	t.Helper()
	if _, err := gh.register.Create(context.Background(), name, userPW, roles); err != nil {
		t.Fatalf("create user %s: %v", name, err)
	}
}

// login runs the tutorial's POST /get_token and returns the access token.
func (gh *gatehouse) login(t *testing.T, name string) string {
	t.Helper()
	r := send(t, http.MethodPost, gh.url+"/get_token", `{"username":"`+name+`","password":"`+userPW+`"}`,
		map[string]string{"Content-Type": "application/json"})
	if r.status != http.StatusOK {
		t.Fatalf("POST /get_token %s = %d %s", name, r.status, r.body)
	}
	return r.field(t, "access_token")
}

// clientToken runs the client_credentials grant with HTTP Basic.
func (gh *gatehouse) clientToken(t *testing.T, id, secret string) string {
	t.Helper()
	basic := base64.StdEncoding.EncodeToString([]byte(id + ":" + secret))
	r := send(t, http.MethodPost, gh.url+"/oauth/token", "grant_type=client_credentials",
		map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Authorization": "Basic " + basic})
	if r.status != http.StatusOK {
		t.Fatalf("client_credentials grant = %d %s", r.status, r.body)
	}
	return r.field(t, "access_token")
}

// rsConfig is the example's configuration against gh, with the given
// client credentials and a 50 ms revocation poll.
func (gh *gatehouse) rsConfig(id, secret string) config {
	return config{
		Gatehouse: gh.url, Issuer: ghIssuer, Audience: ghAudience, Algs: []string{token.AlgEdDSA},
		ClientID: id, ClientSecret: secret, Poll: 50 * time.Millisecond,
		MinRefresh: time.Minute, Leeway: 30 * time.Second,
	}
}

// startRS builds the example with newServer, starts its background work
// and serves it with httptest; everything stops at the end of the test.
func startRS(t *testing.T, cfg config) string {
	t.Helper()
	svc, err := newServer(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("newServer: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	wait := svc.start(ctx)
	srv := httptest.NewServer(svc.echo)
	t.Cleanup(func() { srv.Close(); cancel(); wait() })
	return srv.URL
}

// reply is a finished exchange.
type reply struct {
	status int
	header http.Header
	body   string
}

func (r reply) field(t *testing.T, name string) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(r.body), &m); err != nil {
		t.Fatalf("body %q is not JSON: %v", r.body, err)
	}
	s, _ := m[name].(string)
	return s
}

func send(t *testing.T, method, url, body string, headers map[string]string) reply {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
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
	return reply{status: resp.StatusCode, header: resp.Header, body: strings.TrimSpace(string(raw))}
}

func get(t *testing.T, url, auth string) reply {
	t.Helper()
	h := map[string]string{}
	if auth != "" {
		h["Authorization"] = auth
	}
	return send(t, http.MethodGet, url, "", h)
}

func wantReply(t *testing.T, what string, r reply, status int, body, wwwAuth string) {
	t.Helper()
	if r.status != status || (body != "" && r.body != body) {
		t.Fatalf("%s = %d %s; want %d %s", what, r.status, r.body, status, body)
	}
	if got := r.header.Get("WWW-Authenticate"); got != wwwAuth {
		t.Fatalf("%s: WWW-Authenticate = %q; want %q", what, got, wwwAuth)
	}
}

const (
	challenge        = `Bearer realm="gatehouse"`
	invalidChallenge = `Bearer realm="gatehouse", error="invalid_token"`
	missingBody      = `{"error":"unauthorized","message":"Token is missing"}`
	invalidBody      = `{"error":"invalid_token","message":"Invalid token"}`
)

func TestAcceptsGatehouseTokens(t *testing.T) {
	t.Parallel()
	gh := newGatehouse(t)
	id, secret := gh.client(t, "resource-server", "reports:read")
	rs := startRS(t, gh.rsConfig(id, secret))
	gh.user(t, "alice")
	tok := gh.login(t, "alice")

	for _, auth := range []string{"Bearer " + tok, "bearer " + tok, tok} {
		r := get(t, rs+"/hello", auth)
		if r.status != http.StatusOK || r.field(t, "message") != "Hello, alice" {
			t.Fatalf("GET /hello = %d %s; want 200 Hello, alice", r.status, r.body)
		}
	}
	wantReply(t, "GET /hello without a token", get(t, rs+"/hello", ""), 401, missingBody, challenge)
	wantReply(t, "GET /hello with garbage", get(t, rs+"/hello", "Bearer not-a-token"), 401, invalidBody, invalidChallenge)
	tampered := tok[:len(tok)-4] + "AAAA"
	wantReply(t, "GET /hello with a bad signature", get(t, rs+"/hello", "Bearer "+tampered), 401, invalidBody, invalidChallenge)

	// Verification is local: one JWKS fetch at start-up, nothing per request.
	if n, o := gh.jwksHits.Load(), gh.other.Load(); n != 1 || o != 0 {
		t.Fatalf("Gatehouse saw %d JWKS and %d introspection requests; want 1 and 0", n, o)
	}
}

func TestRefusesExpiredAndForeignTokens(t *testing.T) {
	t.Parallel()
	gh := newGatehouse(t)
	id, secret := gh.client(t, "resource-server", "reports:read")
	gh.user(t, "alice")
	tok := gh.login(t, "alice")

	later := gh.rsConfig(id, secret)
	later.Now = func() time.Time { return time.Now().Add(16 * time.Minute) } // past exp (15 min) + leeway
	wantReply(t, "expired token", get(t, startRS(t, later)+"/hello", "Bearer "+tok),
		401, `{"error":"invalid_token","message":"Token has expired"}`, invalidChallenge)

	for name, mod := range map[string]func(*config){
		"other issuer":          func(c *config) { c.Issuer = "https://other-issuer.test" },
		"other audience":        func(c *config) { c.Audience = "billing-api" },
		"alg not in allowlist":  func(c *config) { c.Algs = []string{token.AlgES256, token.AlgRS256} },
		"control (all correct)": func(*config) {},
	} {
		cfg := gh.rsConfig(id, secret)
		mod(&cfg)
		r := get(t, startRS(t, cfg)+"/hello", "Bearer "+tok)
		if name == "control (all correct)" {
			wantReply(t, name, r, 200, "", "")
			continue
		}
		wantReply(t, name, r, 401, invalidBody, invalidChallenge)
	}
}

func TestKeyRotationAndUnknownKids(t *testing.T) {
	t.Parallel()
	gh := newGatehouse(t)
	id, secret := gh.client(t, "resource-server", "reports:read")
	rs := startRS(t, gh.rsConfig(id, secret))
	gh.user(t, "alice")
	gh.user(t, "root", domain.RoleAdmin)
	before := gh.login(t, "alice")
	wantReply(t, "GET /hello (old key)", get(t, rs+"/hello", "Bearer "+before), 200, "", "")
	if n := gh.jwksHits.Load(); n != 1 {
		t.Fatalf("JWKS requests after start-up = %d; want 1", n)
	}

	rot := send(t, http.MethodPost, gh.url+"/admin/keys/rotate", "", map[string]string{"Authorization": "Bearer " + gh.login(t, "root")})
	newKid := rot.field(t, "kid")
	if rot.status != http.StatusOK || newKid == "" {
		t.Fatalf("POST /admin/keys/rotate = %d %s", rot.status, rot.body)
	}
	after := gh.login(t, "alice")
	if kid := headerOf(t, after)["kid"]; kid != newKid || kid == headerOf(t, before)["kid"] {
		t.Fatalf("new token kid = %v; want the rotated key %s", kid, newKid)
	}
	for range 3 {
		wantReply(t, "GET /hello (new key)", get(t, rs+"/hello", "Bearer "+after), 200, "", "")
	}
	wantReply(t, "GET /hello (old key, still published)", get(t, rs+"/hello", "Bearer "+before), 200, "", "")
	if n := gh.jwksHits.Load(); n != 2 {
		t.Fatalf("JWKS requests after the rotation = %d; want exactly 2 (one re-fetch for the new kid)", n)
	}

	// 50 made-up kids, sent at once: at most one more fetch per minRefresh.
	const flood = 50
	var wg sync.WaitGroup
	var refused atomic.Int64
	toks := make([]string, flood)
	for i := range toks {
		h := headerOf(t, after)
		h["kid"] = rand.Text()
		toks[i] = withHeader(t, after, h)
	}
	for _, tok := range toks {
		wg.Go(func() {
			if getStatus(rs+"/hello", "Bearer "+tok) == http.StatusUnauthorized {
				refused.Add(1)
			}
		})
	}
	wg.Wait()
	if refused.Load() != flood {
		t.Fatalf("%d of %d unknown-kid tokens refused; want all", refused.Load(), flood)
	}
	if n := gh.jwksHits.Load(); n > 3 {
		t.Fatalf("JWKS requests after %d unknown kids = %d; want at most 3", flood, n)
	}
	wantReply(t, "GET /hello (new key) after the flood", get(t, rs+"/hello", "Bearer "+after), 200, "", "")
}

func TestLogoutIsSeenThroughTheFeed(t *testing.T) {
	t.Parallel()
	gh := newGatehouse(t)
	id, secret := gh.client(t, "resource-server", "reports:read")
	rs := startRS(t, gh.rsConfig(id, secret))
	gh.user(t, "alice")
	gone, kept := gh.login(t, "alice"), gh.login(t, "alice") // two sessions
	for _, tok := range []string{gone, kept} {
		wantReply(t, "GET /hello before logout", get(t, rs+"/hello", "Bearer "+tok), 200, "", "")
	}

	r := send(t, http.MethodPost, gh.url+"/logout", "", map[string]string{"Authorization": "Bearer " + gone})
	if r.status != http.StatusNoContent {
		t.Fatalf("POST /logout = %d %s; want 204", r.status, r.body)
	}
	revoked := `{"error":"invalid_token","message":"Token has been revoked"}`
	var after reply
	testkit.Await(t, 10*time.Second, func() error {
		if after = get(t, rs+"/hello", "Bearer "+gone); after.status != http.StatusUnauthorized {
			return fmt.Errorf("GET /hello after logout = %d %s; want 401 Token has been revoked", after.status, after.body)
		}
		return nil
	})
	wantReply(t, "GET /hello after logout", after, 401, revoked, invalidChallenge)
	wantReply(t, "GET /hello with the other session", get(t, rs+"/hello", "Bearer "+kept), 200, "", "")
	if gh.feedHits.Load() == 0 {
		t.Fatal("the revocation feed was never read")
	}
}

func TestReportsNeedScope(t *testing.T) {
	t.Parallel()
	gh := newGatehouse(t)
	id, secret := gh.client(t, "resource-server", "reports:read")
	otherID, otherSecret := gh.client(t, "billing", "billing:read")
	rs := startRS(t, gh.rsConfig(id, secret))
	gh.user(t, "alice")

	reader := gh.clientToken(t, id, secret)
	r := get(t, rs+"/reports", "Bearer "+reader)
	if r.status != http.StatusOK || !strings.Contains(r.body, "Q1 revenue") {
		t.Fatalf("GET /reports with reports:read = %d %s; want 200", r.status, r.body)
	}
	if r := get(t, rs+"/hello", "Bearer "+reader); r.field(t, "message") != "Hello, "+id {
		t.Fatalf("GET /hello as a client = %s; want it to greet the client id", r.body)
	}
	forbidden := `{"error":"insufficient_scope","message":"The token lacks the required scope"}`
	scopeChallenge := `Bearer realm="gatehouse", error="insufficient_scope", scope="reports:read"`
	wantReply(t, "GET /reports with billing:read", get(t, rs+"/reports", "Bearer "+gh.clientToken(t, otherID, otherSecret)),
		403, forbidden, scopeChallenge)
	wantReply(t, "GET /reports with a user token", get(t, rs+"/reports", "Bearer "+gh.login(t, "alice")),
		403, forbidden, scopeChallenge)
	wantReply(t, "GET /reports without a token", get(t, rs+"/reports", ""), 401, missingBody, challenge)
}

func TestParseConfig(t *testing.T) {
	t.Parallel()
	env := map[string]string{"GATEHOUSE_CLIENT_ID": "c-1", "GATEHOUSE_CLIENT_SECRET": "s-1"}
	cfg, err := parseConfig([]string{"--gatehouse", "https://auth.example.test/", "--algs", "EdDSA,ES256"}, func(k string) string { return env[k] })
	if err != nil {
		t.Fatalf("parseConfig() error = %v", err)
	}
	if cfg.Gatehouse != "https://auth.example.test" || cfg.Issuer != cfg.Gatehouse || cfg.Audience != "gatehouse" ||
		cfg.ClientID != "c-1" || cfg.ClientSecret != "s-1" || strings.Join(cfg.Algs, " ") != "EdDSA ES256" || cfg.Addr != ":9090" {
		t.Fatalf("parseConfig() = %+v", cfg)
	}
	if _, err := parseConfig(nil, func(string) string { return "" }); err == nil {
		t.Fatal("parseConfig() without client credentials error = nil; want an error")
	}
	if _, err := parseConfig([]string{"--client-secret", "x"}, func(k string) string { return env[k] }); err == nil {
		t.Fatal("parseConfig(--client-secret) error = nil; want the secret refused on the command line")
	}
	bad := config{Gatehouse: "not a url", Algs: []string{token.AlgEdDSA}, Issuer: "i", Audience: "a", ClientID: "c", ClientSecret: "s"}
	if _, err := newServer(bad, slog.New(slog.DiscardHandler)); err == nil {
		t.Fatal("newServer(bad URL) error = nil; want an error")
	}
}

// headerOf decodes a JWT's header.
func headerOf(t *testing.T, tok string) map[string]any {
	t.Helper()
	seg, _, _ := strings.Cut(tok, ".")
	raw, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		t.Fatalf("decode header: %v", err)
	}
	h := map[string]any{}
	if err := json.Unmarshal(raw, &h); err != nil {
		t.Fatalf("parse header: %v", err)
	}
	return h
}

// withHeader replaces a token's header (its signature no longer matches,
// but the kid is looked up first).
func withHeader(t *testing.T, tok string, h map[string]any) string {
	t.Helper()
	raw, err := json.Marshal(h)
	if err != nil {
		t.Fatalf("marshal header: %v", err)
	}
	_, rest, _ := strings.Cut(tok, ".")
	return base64.RawURLEncoding.EncodeToString(raw) + "." + rest
}

// getStatus is get for goroutines (no t.Fatal): the status, 0 on failure.
func getStatus(url, auth string) int {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return 0
	}
	req.Header.Set("Authorization", auth)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}
