package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/gatehouse-auth/gatehouse/domain"
	"github.com/gatehouse-auth/gatehouse/infrastructure/database/dbtest"
	"github.com/gatehouse-auth/gatehouse/usecase"
)

// The races of DESIGN.md "Credential lifecycle", each played against a real
// server on a real SQLite file. A gate holds requests right after their slow
// step (the password hash) until the change they race has returned: the
// widest window a real attacker could hope for, every time.

// gatedHasher holds every Verify (or Hash) after it computed, until open.
type gatedHasher struct {
	domain.PasswordHasher
	gateVerify, gateHash bool
	entered              chan struct{}
	release              chan struct{}
}

func newGatedHasher(h domain.PasswordHasher, verify, hash bool) *gatedHasher {
	return &gatedHasher{PasswordHasher: h, gateVerify: verify, gateHash: hash, entered: make(chan struct{}, 100), release: make(chan struct{})}
}

func (g *gatedHasher) Verify(ctx context.Context, stored, pw string) (bool, bool, error) {
	ok, rehash, err := g.PasswordHasher.Verify(ctx, stored, pw)
	if g.gateVerify {
		g.entered <- struct{}{}
		<-g.release
	}
	return ok, rehash, err
}

func (g *gatedHasher) Hash(ctx context.Context, pw string) (string, error) {
	h, err := g.PasswordHasher.Hash(ctx, pw)
	if g.gateHash {
		g.entered <- struct{}{}
		<-g.release
	}
	return h, err
}

// wait blocks until n requests are held, or fails t after 60 s (a bound
// for a loaded machine, where the whole package runs beside Postgres).
func (g *gatedHasher) wait(t *testing.T, n int) {
	t.Helper()
	timeout := time.After(60 * time.Second)
	for i := range n {
		select {
		case <-g.entered:
		case <-timeout:
			close(g.release)
			t.Fatalf("only %d of %d requests reached the hasher", i, n)
		}
	}
}

// gateLogins rebuilds a's Login on a hasher that holds every password check.
func gateLogins(a *app) *gatedHasher {
	g := newGatedHasher(a.hasher, true, false)
	a.login = usecase.NewLogin(a.store, a.store, g, newIssuer(a), a.throttle, a.mfa, policyOf(a), time.Now, a.log, nil, a.eventLog, nil)
	return g
}

// call is one request sent from any goroutine (no t.Fatal there).
type call struct {
	status int
	body   map[string]any
	err    error
}

func (e *testEnv) call(method, path string, body any, headers map[string]string) call {
	var rd io.Reader
	if body != nil {
		raw, _ := json.Marshal(body)
		rd = strings.NewReader(string(raw))
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		return call{err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		return call{err: err}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	c := call{status: resp.StatusCode, err: err}
	if len(raw) > 0 {
		_ = json.Unmarshal(raw, &c.body)
	}
	return c
}

// inFlightLogins starts n logins of user and waits until every one has
// checked the password and is held; finish releases them and returns their
// answers.
// n stays within the pair allowance (5): more attempts at once on one
// (user, address) would wait for the throttle instead of the hash.
func inFlightLogins(e *testEnv, g *gatedHasher, n int, user, pw string) (finish func() []call) {
	out := make([]call, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			out[i] = e.call(http.MethodPost, "/get_token", map[string]string{"username": user, "password": pw}, nil)
		})
	}
	g.wait(e.t, n)
	return func() []call {
		close(g.release)
		wg.Wait()
		return out
	}
}

// wantNothingSurvives fails t if any login that answered 200 left a usable
// access or refresh token.
func wantNothingSurvives(t *testing.T, e *testEnv, logins []call, what string) {
	t.Helper()
	survived := 0
	for i, c := range logins {
		if c.err != nil {
			t.Fatalf("login %d: %v", i, c.err)
		}
		switch c.status {
		case http.StatusUnauthorized:
			continue
		case http.StatusOK:
		default:
			t.Errorf("login %d in flight across %s = %d %v; want 200 or 401", i, what, c.status, c.body)
			continue
		}
		if r := e.call(http.MethodGet, "/protected_resource", nil, bearerHeader(c.body["access_token"])); r.status != http.StatusUnauthorized {
			survived++
			t.Errorf("access token of login %d in flight across %s: /protected_resource = %d; want 401", i, what, r.status)
		}
		form := "grant_type=refresh_token&refresh_token=" + c.body["refresh_token"].(string)
		if r := e.form("/oauth/token", form, nil); r.status != http.StatusBadRequest {
			survived++
			t.Errorf("refresh token of login %d in flight across %s: /oauth/token = %d %s; want 400", i, what, r.status, r.body)
		}
	}
	if survived > 0 {
		t.Errorf("%d tokens of %d logins in flight survived %s", survived, len(logins), what)
	}
}

func TestPasswordChangeEvictsLoginsInFlight(t *testing.T) {
	t.Parallel()
	var g *gatedHasher
	e := newSecurityEnv(t, nil, testParams, func(a *app) { g = gateLogins(a) })
	e.signUp("alice", "correct horse battery")
	own := loginDirect(t, e, "alice", "correct horse battery")

	// An attacker who knows the old password has 4 logins past the hash.
	finish := inFlightLogins(e, g, 4, "alice", "correct horse battery")
	r := e.do(http.MethodPost, "/me/password", map[string]string{"current_password": "correct horse battery", "new_password": "a brand new secret"}, bearerHeader(own.AccessToken))
	wantStatus(t, r, "POST /me/password", http.StatusNoContent)
	wantNothingSurvives(t, e, finish(), "the password change")

	// The owner's session continues.
	if r := e.call(http.MethodGet, "/protected_resource", nil, bearerHeader(own.AccessToken)); r.status != http.StatusOK {
		t.Errorf("owner's own token after the change = %d; want 200", r.status)
	}
	if r := e.form("/oauth/token", "grant_type=refresh_token&refresh_token="+own.RefreshToken, nil); r.status != http.StatusOK {
		t.Errorf("owner's own refresh after the change = %d %s; want 200", r.status, r.body)
	}
}

func TestDisableEvictsLoginsInFlight(t *testing.T) {
	t.Parallel()
	var g *gatedHasher
	e := newSecurityEnv(t, nil, testParams, func(a *app) { g = gateLogins(a) })
	admin := bearerHeader(adminDirect(t, e).AccessToken)
	id := e.signUp("alice", "correct horse battery")["id"].(string)

	finish := inFlightLogins(e, g, 4, "alice", "correct horse battery")
	r := e.do(http.MethodPatch, "/admin/users/"+id, map[string]any{"disabled": true}, admin)
	wantStatus(t, r, "PATCH disabled", http.StatusOK)
	wantNothingSurvives(t, e, finish(), "the disable")
}

func TestDemotionEvictsLoginsInFlightAndOldTokens(t *testing.T) {
	t.Parallel()
	var g *gatedHasher
	e := newSecurityEnv(t, nil, testParams, func(a *app) { g = gateLogins(a) })
	root := bearerHeader(adminDirect(t, e).AccessToken)
	if _, err := e.app.register.Create(context.Background(), "mallory", "mallory's password", []string{domain.RoleAdmin}); err != nil {
		t.Fatal(err)
	}
	m := loginDirect(t, e, "mallory", "mallory's password")
	mallory := bearerHeader(m.AccessToken)
	u, err := e.app.store.UserByUsername(context.Background(), "mallory")
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, e.do(http.MethodGet, "/admin/users", nil, mallory), "mallory lists users as admin", http.StatusOK)

	finish := inFlightLogins(e, g, 4, "mallory", "mallory's password")
	wantStatus(t, e.do(http.MethodPatch, "/admin/users/"+u.ID, map[string]any{"roles": []string{}}, root), "demote mallory", http.StatusOK)
	logins := finish()

	// Neither the old token nor any login that read the old roles may act
	// as admin: not to list users, not to re-promote itself.
	tokens := []string{m.AccessToken}
	for _, c := range logins {
		if c.status == http.StatusOK {
			tokens = append(tokens, c.body["access_token"].(string))
		}
	}
	for i, tok := range tokens {
		h := bearerHeader(tok)
		if r := e.call(http.MethodGet, "/admin/users", nil, h); r.status < 400 {
			t.Errorf("token %d of the demoted admin: GET /admin/users = %d; want refused", i, r.status)
		}
		if r := e.call(http.MethodPatch, "/admin/users/"+u.ID, map[string]any{"roles": []string{domain.RoleAdmin}}, h); r.status < 400 {
			t.Errorf("token %d of the demoted admin re-promoted itself: %d %v", i, r.status, r.body)
		}
	}
	if got, _ := e.app.store.UserByID(context.Background(), u.ID); len(got.Roles) != 0 {
		t.Errorf("mallory's roles = %v; want none", got.Roles)
	}
	wantNothingSurvives(t, e, logins, "the demotion")
}

// onEachStore runs test against a real server on a SQLite file and, when
// GATEHOUSE_TEST_POSTGRES_DSN names a server, on a fresh Postgres
// database; db is the GATEHOUSE_DB override (nil for SQLite).
func onEachStore(t *testing.T, test func(t *testing.T, db map[string]string)) {
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		test(t, nil)
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		test(t, map[string]string{"GATEHOUSE_DB": dbtest.Postgres(t)})
	})
}

// wantConflict fails t unless c is DESIGN.md's answer to a change that
// lost its race: 409 conflict.
func wantConflict(t *testing.T, c call, what string) {
	t.Helper()
	if c.err != nil || c.status != http.StatusConflict || c.body["error"] != "conflict" {
		t.Errorf("%s = %d %v %v; want 409 conflict", what, c.status, c.body, c.err)
	}
}

func TestPasswordChangesCannotUndoAnAdminChange(t *testing.T) {
	// The user keeps changing their password while an admin disables the
	// account and removes its roles: every self-service change read the
	// user before the admin's and writes after it, and is refused whole.
	t.Parallel()
	onEachStore(t, func(t *testing.T, db map[string]string) {
		var g *gatedHasher
		e := newSecurityEnv(t, db, testParams, func(a *app) {
			g = newGatedHasher(a.hasher, false, true)
			a.account = usecase.NewAccount(a.store, g, a.revoke, a.throttle, a.cfg.PasswordMinLength, time.Now, nil, nil, a.eventLog)
		})
		admin := bearerHeader(adminDirect(t, e).AccessToken)
		if _, err := e.app.register.Create(context.Background(), "alice", "correct horse battery", []string{"ops"}); err != nil {
			t.Fatal(err)
		}
		own := loginDirect(t, e, "alice", "correct horse battery")
		before, err := e.app.store.UserByUsername(context.Background(), "alice")
		if err != nil {
			t.Fatal(err)
		}

		const n = 4
		out := make([]call, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				out[i] = e.call(http.MethodPost, "/me/password", map[string]string{
					"current_password": "correct horse battery", "new_password": fmt.Sprintf("new password number %d", i),
				}, bearerHeader(own.AccessToken))
			})
		}
		g.wait(t, n) // every change has hashed its new password
		wantStatus(t, e.do(http.MethodPatch, "/admin/users/"+before.ID, map[string]any{"disabled": true, "roles": []string{}}, admin), "PATCH disable", http.StatusOK)
		close(g.release)
		wg.Wait()
		for i, c := range out {
			wantConflict(t, c, fmt.Sprintf("password change %d across the admin's change", i))
		}
		got, err := e.app.store.UserByID(context.Background(), before.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !got.Disabled || len(got.Roles) != 0 {
			t.Errorf("after racing password changes: disabled=%v roles=%v; want the admin's disable and no roles", got.Disabled, got.Roles)
		}
		if got.PasswordHash != before.PasswordHash {
			t.Errorf("a password change refused with 409 wrote its password")
		}
		wantStatus(t, e.loginFrom("", "alice", "correct horse battery"), "login of the disabled user", http.StatusUnauthorized)
	})
}

func TestHashUpgradeCannotUndoAPasswordReset(t *testing.T) {
	// A login checked the password against an imported bcrypt hash and is
	// about to store its argon2id upgrade when an admin resets the
	// password: the upgrade must not bring the old password back.
	t.Parallel()
	onEachStore(t, func(t *testing.T, db map[string]string) {
		var g *gatedHasher
		e := newSecurityEnv(t, db, testParams, func(a *app) { g = gateLogins(a) })
		ctx := context.Background()
		u, err := e.app.register.Create(ctx, "alice", "an imported password", nil)
		if err != nil {
			t.Fatal(err)
		}
		old, err := bcrypt.GenerateFromPassword([]byte("an imported password"), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := e.app.store.ChangeUser(ctx, domain.UserChange{UserID: u.ID, PasswordHash: string(old), At: time.Now().UTC()}); err != nil {
			t.Fatal(err)
		}

		finish := inFlightLogins(e, g, 1, "alice", "an imported password")
		if err := e.app.users.SetPassword(ctx, u.ID, "the admin's new password"); err != nil {
			t.Fatalf("SetPassword: %v", err)
		}
		wantNothingSurvives(t, e, finish(), "the password reset")
		wantStatus(t, e.loginFrom("", "alice", "an imported password"), "login with the password before the reset", http.StatusUnauthorized)
		wantStatus(t, e.loginFrom("", "alice", "the admin's new password"), "login with the admin's password", http.StatusOK)
	})
}

func TestAdminDisableRacingAStreamOfPasswordChanges(t *testing.T) {
	// No gate: the user changes their password again and again while an
	// admin disables the account and removes its roles. Each change
	// answers 204, or 409 when the admin's change landed in between, or
	// 401 once the session is revoked; the admin's change always stands,
	// and the password is the one the user was last told was set.
	t.Parallel()
	onEachStore(t, func(t *testing.T, db map[string]string) {
		e := newSecurityEnv(t, db, testParams, nil)
		admin := bearerHeader(adminDirect(t, e).AccessToken)
		u, err := e.app.register.Create(context.Background(), "alice", "password number 0", []string{"ops"})
		if err != nil {
			t.Fatal(err)
		}
		tok := bearerHeader(loginDirect(t, e, "alice", "password number 0").AccessToken)

		var patched, stop atomic.Bool
		changed := make(chan struct{}, 100) // one per 204
		var answers []call
		var after []call // sent after the admin's change returned
		current := 0
		var wg sync.WaitGroup
		wg.Go(func() {
			defer close(changed)
			for !stop.Load() {
				sentAfter := patched.Load()
				c := e.call(http.MethodPost, "/me/password", map[string]string{
					"current_password": fmt.Sprintf("password number %d", current), "new_password": fmt.Sprintf("password number %d", current+1),
				}, tok)
				answers = append(answers, c)
				if sentAfter {
					after = append(after, c)
				}
				if c.status == http.StatusNoContent {
					current++
					changed <- struct{}{}
				}
				if len(after) == 3 {
					return
				}
			}
		})
		for range 3 { // the stream is running
			if _, ok := <-changed; !ok {
				break
			}
		}
		wantStatus(t, e.do(http.MethodPatch, "/admin/users/"+u.ID, map[string]any{"disabled": true, "roles": []string{}}, admin), "PATCH disable", http.StatusOK)
		patched.Store(true)
		go func() {
			for range changed { // keep the stream from blocking
			}
		}()
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(60 * time.Second):
			stop.Store(true)
			<-done
			t.Fatalf("the password change stream did not end after the disable: answers %d", len(answers))
		}

		for i, c := range answers {
			switch {
			case c.err != nil:
				t.Errorf("password change %d: %v", i, c.err)
			case c.status == http.StatusConflict:
				wantConflict(t, c, fmt.Sprintf("password change %d", i))
			case c.status != http.StatusNoContent && c.status != http.StatusUnauthorized:
				t.Errorf("password change %d = %d %v; want 204, 409 or 401", i, c.status, c.body)
			}
		}
		for i, c := range after {
			if c.status != http.StatusUnauthorized {
				t.Errorf("password change %d sent after the disable returned = %d %v; want 401", i, c.status, c.body)
			}
		}
		got, err := e.app.store.UserByID(context.Background(), u.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !got.Disabled || len(got.Roles) != 0 {
			t.Fatalf("after the stream: disabled=%v roles=%v; want the admin's disable and no roles", got.Disabled, got.Roles)
		}
		wantStatus(t, e.do(http.MethodPatch, "/admin/users/"+u.ID, map[string]any{"disabled": false}, admin), "PATCH enable", http.StatusOK)
		last := fmt.Sprintf("password number %d", current)
		wantStatus(t, e.loginFrom("", "alice", last), "login with the password last answered 204", http.StatusOK)
	})
}

// parallel sends n copies of a request at once and counts the statuses.
func parallel(t *testing.T, n int, send func(i int) call) map[int]int {
	t.Helper()
	out := make([]call, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { <-start; out[i] = send(i) })
	}
	close(start)
	wg.Wait()
	counts := map[int]int{}
	for i, c := range out {
		if c.err != nil {
			t.Fatalf("request %d: %v", i, c.err)
		}
		counts[c.status]++
	}
	return counts
}

func TestParallelGuessesMeetTheThrottle(t *testing.T) {
	t.Parallel()
	e, hashes := newThrottleEnv(t, trustLoopback)
	e.signUp("alice", "correct horse battery")
	guess := func(user, ip string) call {
		return e.call(http.MethodPost, "/get_token", map[string]string{"username": user, "password": "wrong guess"}, map[string]string{"X-Forwarded-For": ip})
	}

	// 30 at once for one user from one address: the pair allowance (5).
	counts := parallel(t, 30, func(int) call { return guess("alice", "203.0.113.5") })
	if counts[401] > 5 || counts[401]+counts[429] != 30 {
		t.Errorf("30 parallel guesses for one user: %v; want at most 5 checked (401), the rest 429", counts)
	}
	// 90 at once from one address across users: the address allowance (50).
	before := hashes.verifies.Load()
	counts = parallel(t, 90, func(i int) call { return guess(fmt.Sprintf("user%02d", i), "198.51.100.9") })
	if counts[401] > 50 || counts[401]+counts[429] != 90 {
		t.Errorf("90 parallel guesses from one address: %v; want at most 50 checked (401), the rest 429", counts)
	}
	if n := hashes.verifies.Load() - before; n > 50 {
		t.Errorf("90 parallel guesses from one address reached the hasher %d times; want at most 50", n)
	}
	// Moving inside one IPv6 /64 changes nothing.
	for i := 1; i <= 5; i++ {
		wantStatus(t, e.loginFrom(fmt.Sprintf("2001:db8:7:7::%x", i), "alice", "wrong guess"), "guess from the /64", http.StatusUnauthorized)
	}
	wantThrottled(t, e.loginFrom("2001:db8:7:7:ffff::1", "alice", "correct horse battery"), "right password from elsewhere in the /64", 1)
	wantStatus(t, e.loginFrom("2001:db8:7:8::1", "alice", "correct horse battery"), "right password from the next /64", http.StatusOK)
}

func TestParallelPasswordChangeGuessesMeetTheThrottle(t *testing.T) {
	// A stolen access token is no way around the throttle either.
	t.Parallel()
	e := newTestEnv(t, nil)
	e.signUp("alice", "correct horse battery")
	tok := bearerHeader(e.login("alice", "correct horse battery")["access_token"])
	counts := parallel(t, 30, func(i int) call {
		return e.call(http.MethodPost, "/me/password", map[string]string{"current_password": fmt.Sprintf("guess %d", i), "new_password": "whatever new password"}, tok)
	})
	if counts[401] > 5 || counts[401]+counts[429] != 30 {
		t.Errorf("30 parallel current-password guesses: %v; want at most 5 checked (401), the rest 429", counts)
	}
}

func TestSignUpLimitPerAddress(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, map[string]string{"GATEHOUSE_SIGNUP_IP_LIMIT": "3", "GATEHOUSE_TRUSTED_PROXIES": "127.0.0.0/8"})
	signUp := func(name, ip string) call {
		return e.call(http.MethodPost, "/users", map[string]string{"username": name, "password": "a long enough password"}, map[string]string{"X-Forwarded-For": ip})
	}
	counts := parallel(t, 10, func(i int) call { return signUp(fmt.Sprintf("user%d", i), "2001:db8:1::1") })
	if counts[201] != 3 || counts[429] != 7 {
		t.Errorf("10 parallel sign-ups with a limit of 3: %v; want 3 × 201 and 7 × 429", counts)
	}
	r := e.do(http.MethodPost, "/users", map[string]string{"username": "late", "password": "a long enough password"}, map[string]string{"X-Forwarded-For": "2001:db8:1::ffff"})
	if ra := wantThrottled(t, r, "sign-up from the same /64", 1); ra > 600 {
		t.Errorf("Retry-After = %d; want at most the 10-minute window", ra)
	}
	if c := signUp("other", "192.0.2.44"); c.status != http.StatusCreated {
		t.Errorf("sign-up from another address = %d %v; want 201", c.status, c.body)
	}
	// Admins are not limited.
	admin := bearerHeader(adminDirect(t, e).AccessToken)
	for i := range 5 {
		r := e.do(http.MethodPost, "/admin/users", map[string]string{"username": fmt.Sprintf("staff%d", i), "password": "a long enough password"},
			map[string]string{"Authorization": admin["Authorization"], "X-Forwarded-For": "2001:db8:1::1"})
		wantStatus(t, r, "admin-created user", http.StatusCreated)
	}
}

func TestRolesClaimAlwaysPresent(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, nil)
	e.signUp("alice", "correct horse battery")
	payload := decodePayload(t, e.login("alice", "correct horse battery")["access_token"].(string))
	if !strings.Contains(payload, `"roles":[]`) {
		t.Errorf("token of a user without roles = %s; want \"roles\":[]", payload)
	}
}

// loginDirect logs in through the use case, past any gate on the HTTP
// path's hasher.
func loginDirect(t *testing.T, e *testEnv, user, pw string) *usecase.TokenPair {
	t.Helper()
	l := usecase.NewLogin(e.app.store, e.app.store, e.app.hasher, newIssuer(e.app), nil, nil, policyOf(e.app), time.Now, e.app.log, nil, nil, nil)
	p, err := l.Login(context.Background(), usecase.LoginInput{Username: user, Password: pw, IP: "192.0.2.250"})
	if err != nil {
		t.Fatalf("login %s: %v", user, err)
	}
	return p
}

// adminDirect creates the admin root and logs it in past any gate.
func adminDirect(t *testing.T, e *testEnv) *usecase.TokenPair {
	t.Helper()
	if _, err := e.app.register.Create(context.Background(), "root", "admin password 1", []string{domain.RoleAdmin}); err != nil {
		t.Fatalf("create admin: %v", err)
	}
	return loginDirect(t, e, "root", "admin password 1")
}
