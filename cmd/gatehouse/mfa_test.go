package main

import (
	"encoding/base32"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/testkit"
)

// totpAt is the RFC 6238 code of secret for time step, computed
// independently of the server's library.
func totpAt(t *testing.T, secret string, step int64) string { return testkit.TOTPStep(t, secret, step) }

// freshStep waits, if needed, until at least 12 s remain in the current
// 30 s step, and returns it: a test that uses the steps around it then
// finishes before the server's clock leaves their window.
func freshStep() int64 {
	if left := 30 - time.Now().Unix()%30; left < 12 {
		time.Sleep(time.Duration(left)*time.Second + 100*time.Millisecond)
	}
	return time.Now().Unix() / 30
}

// enrolMFA turns MFA on for the user of tok with the code of step, and
// returns the secret and the recovery codes.
func (e *testEnv) enrolMFA(tok any, step int64) (string, []string) {
	e.t.Helper()
	r := e.do(http.MethodPost, "/me/mfa/totp", nil, bearerHeader(tok))
	if r.status != 200 {
		e.t.Fatalf("POST /me/mfa/totp = %d %s", r.status, r.body)
	}
	secret, _ := r.json(e.t)["secret"].(string)
	c := e.do(http.MethodPost, "/me/mfa/totp/confirm", map[string]string{"code": totpAt(e.t, secret, step)}, bearerHeader(tok))
	if c.status != 200 {
		e.t.Fatalf("POST /me/mfa/totp/confirm = %d %s", c.status, c.body)
	}
	var out struct {
		Codes []string `json:"recovery_codes"`
	}
	if err := json.Unmarshal(c.body, &out); err != nil {
		e.t.Fatal(err)
	}
	return secret, out.Codes
}

// mfaGrant runs the second step at the token endpoint.
func (e *testEnv) mfaGrant(fields url.Values) response {
	e.t.Helper()
	fields.Set("grant_type", "urn:gatehouse:params:oauth:grant-type:mfa-otp")
	return e.form("/oauth/token", fields.Encode(), nil)
}

// mfaToken logs in with the password and returns the mfa_token of the 403.
func (e *testEnv) mfaToken(user, pw string) string {
	e.t.Helper()
	r := e.form("/oauth/token", url.Values{"grant_type": {"password"}, "username": {user}, "password": {pw}}.Encode(), nil)
	body := r.json(e.t)
	tok, _ := body["mfa_token"].(string)
	if r.status != 403 || body["error"] != "mfa_required" || tok == "" || body["error_description"] == nil {
		e.t.Fatalf("password grant of a user with MFA = %d %s; want 403 mfa_required with an mfa_token", r.status, r.body)
	}
	return tok
}

func TestMFAOverHTTP(t *testing.T) {
	t.Parallel()
	// Wrong codes count as login failures of (user, address); the limit is
	// raised so that the mfa_token's own limit of 5 shows.
	e := newTestEnv(t, map[string]string{"GATEHOUSE_LOGIN_PAIR_FAILURES": "50"})
	e.signUp("alice", "alice password 1")
	first := e.login("alice", "alice password 1")
	if p := decodePayload(t, first["access_token"].(string)); !strings.Contains(p, `"amr":["pwd"]`) || !strings.Contains(p, `"acr":"aal1"`) {
		t.Errorf("password-only token claims %s; want amr [pwd], acr aal1", p)
	}
	other := e.login("alice", "alice password 1")["access_token"]
	tok := first["access_token"]

	// Enrolment: pending until a right code confirms it.
	r := e.do(http.MethodPost, "/me/mfa/totp", nil, bearerHeader(tok))
	enrol := r.json(t)
	secret, _ := enrol["secret"].(string)
	if u, _ := enrol["otpauth_url"].(string); r.status != 200 || !strings.HasPrefix(u, "otpauth://totp/") || !strings.Contains(u, "secret="+secret) {
		t.Fatalf("POST /me/mfa/totp = %d %s; want a secret and its otpauth URL", r.status, r.body)
	}
	step := freshStep()
	for _, tc := range []struct {
		body      any
		status    int
		errorCode string
	}{
		{map[string]string{}, 400, "invalid_request"},
		{map[string]string{"code": "12345a"}, 400, "invalid_code"},
		{map[string]string{"code": "1234567"}, 400, "invalid_code"},
		{map[string]string{"code": totpAt(t, secret, step+3)}, 400, "invalid_code"},
	} {
		if c := e.do(http.MethodPost, "/me/mfa/totp/confirm", tc.body, bearerHeader(tok)); c.status != tc.status || c.json(t)["error"] != tc.errorCode {
			t.Errorf("confirm %v = %d %s; want %d %s", tc.body, c.status, c.body, tc.status, tc.errorCode)
		}
	}
	if me := e.do(http.MethodGet, "/me", nil, bearerHeader(tok)).json(t); me["mfa"] != false {
		t.Errorf("GET /me before confirming = %v; want mfa false", me)
	}
	c := e.do(http.MethodPost, "/me/mfa/totp/confirm", map[string]string{"code": totpAt(t, secret, step-1)}, bearerHeader(tok))
	var confirmed struct {
		Codes []string `json:"recovery_codes"`
	}
	if err := json.Unmarshal(c.body, &confirmed); c.status != 200 || err != nil || len(confirmed.Codes) != 10 {
		t.Fatalf("confirm = %d %s; want 10 recovery codes", c.status, c.body)
	}
	seen := map[string]bool{}
	for _, code := range confirmed.Codes {
		if seen[code] || len(strings.NewReplacer("-", "", " ", "").Replace(code)) < 10 {
			t.Errorf("recovery code %q repeated or too short", code)
		}
		seen[code] = true
	}
	if me := e.do(http.MethodGet, "/me", nil, bearerHeader(tok)).json(t); me["mfa"] != true {
		t.Errorf("GET /me = %v; want mfa true", me)
	}
	if s := e.do(http.MethodGet, "/protected_resource", nil, bearerHeader(other)).status; s != 401 {
		t.Errorf("the other session after MFA was turned on: %d; want 401 (revoked)", s)
	}
	if s := e.do(http.MethodGet, "/protected_resource", nil, bearerHeader(tok)).status; s != 200 {
		t.Errorf("the confirming session: %d; want 200 (kept)", s)
	}
	if r := e.do(http.MethodPost, "/me/mfa/totp", nil, bearerHeader(tok)); r.status != 409 || r.json(t)["error"] != "mfa_already_enabled" {
		t.Errorf("enrolling again = %d %s; want 409 mfa_already_enabled", r.status, r.body)
	}

	// Login: the password alone is not enough.
	g := e.do(http.MethodPost, "/get_token", map[string]string{"username": "alice", "password": "alice password 1"}, nil)
	if g.status != 403 || g.json(t)["error"] != "mfa_required" || g.json(t)["mfa_token"] == nil {
		t.Fatalf("/get_token without otp = %d %s; want 403 mfa_required", g.status, g.body)
	}
	if w := e.do(http.MethodPost, "/get_token", map[string]string{"username": "alice", "password": "wrong password", "otp": totpAt(t, secret, step)}, nil); w.status != 401 {
		t.Errorf("/get_token with a wrong password and a right code = %d %s; want 401", w.status, w.body)
	}

	// The second step: the confirming code is spent (replay); the next step's works once.
	mt := e.mfaToken("alice", "alice password 1")
	if r := e.mfaGrant(url.Values{"mfa_token": {mt}, "otp": {totpAt(t, secret, step-1)}}); r.status != 400 || r.json(t)["error"] != "invalid_grant" {
		t.Errorf("replayed confirming code = %d %s; want 400 invalid_grant", r.status, r.body)
	}
	ok := e.mfaGrant(url.Values{"mfa_token": {mt}, "otp": {totpAt(t, secret, step)}})
	if ok.status != 200 {
		t.Fatalf("mfa-otp grant = %d %s; want 200", ok.status, ok.body)
	}
	pair := ok.json(t)
	if p := decodePayload(t, pair["access_token"].(string)); !strings.Contains(p, `"amr":["pwd","otp"]`) || !strings.Contains(p, `"acr":"aal2"`) {
		t.Errorf("second-factor token claims %s; want amr [pwd otp], acr aal2", p)
	}
	if r := e.mfaGrant(url.Values{"mfa_token": {mt}, "otp": {totpAt(t, secret, step+1)}}); r.status != 400 {
		t.Errorf("a used mfa_token = %d; want 400", r.status)
	}
	ref := e.form("/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {pair["refresh_token"].(string)}}.Encode(), nil)
	if p := decodePayload(t, ref.json(t)["access_token"].(string)); ref.status != 200 || !strings.Contains(p, `"acr":"aal2"`) {
		t.Errorf("refreshed token claims %s; want acr aal2 kept", p)
	}

	// One request with the code (the tutorial route).
	one := e.do(http.MethodPost, "/get_token", map[string]string{"username": "alice", "password": "alice password 1", "otp": totpAt(t, secret, step+1)}, nil)
	if one.status != 200 || !strings.Contains(decodePayload(t, one.json(t)["token"].(string)), `"acr":"aal2"`) {
		t.Errorf("/get_token with otp = %d %s; want 200 and an aal2 token", one.status, one.body)
	}

	// Five wrong codes kill the mfa_token; a right one after them fails.
	mt = e.mfaToken("alice", "alice password 1")
	for range 5 {
		if r := e.mfaGrant(url.Values{"mfa_token": {mt}, "otp": {"000000"}}); r.status != 400 || r.json(t)["error"] != "invalid_grant" {
			t.Fatalf("wrong code = %d %s; want 400 invalid_grant", r.status, r.body)
		}
	}
	if r := e.mfaGrant(url.Values{"mfa_token": {mt}, "recovery_code": {confirmed.Codes[0]}}); r.status != 400 {
		t.Errorf("a right code after 5 wrong ones = %d; want 400 (the token is dead)", r.status)
	}

	// Bad input.
	mt = e.mfaToken("alice", "alice password 1")
	for _, tc := range []struct {
		fields url.Values
		code   string
	}{
		{url.Values{"otp": {"123456"}}, "invalid_request"},
		{url.Values{"mfa_token": {mt}}, "invalid_request"},
		{url.Values{"mfa_token": {mt}, "otp": {"123456"}, "recovery_code": {confirmed.Codes[1]}}, "invalid_request"},
		{url.Values{"mfa_token": {"not-a-token"}, "otp": {"123456"}}, "invalid_grant"},
		{url.Values{"mfa_token": {mt}, "otp": {"abcdef"}}, "invalid_grant"},
	} {
		if r := e.mfaGrant(tc.fields); r.status != 400 || r.json(t)["error"] != tc.code {
			t.Errorf("mfa-otp %v = %d %s; want 400 %s", tc.fields, r.status, r.body, tc.code)
		}
	}

	// A recovery code works once; of racing uses of one mfa_token one wins.
	mt = e.mfaToken("alice", "alice password 1")
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for i := range 8 {
		wg.Go(func() {
			r := e.mfaGrant(url.Values{"mfa_token": {mt}, "recovery_code": {confirmed.Codes[1+i]}})
			mu.Lock()
			defer mu.Unlock()
			if r.status == 200 {
				wins++
			}
		})
	}
	wg.Wait()
	if wins != 1 {
		t.Errorf("%d of 8 racing uses of one mfa_token won; want exactly 1", wins)
	}

	// Turning it off with a recovery code; the password alone works again.
	if r := e.do(http.MethodDelete, "/me/mfa/totp", map[string]string{"code": confirmed.Codes[9]}, bearerHeader(tok)); r.status != 204 {
		t.Fatalf("DELETE /me/mfa/totp = %d %s", r.status, r.body)
	}
	if r := e.do(http.MethodDelete, "/me/mfa/totp", map[string]string{"code": confirmed.Codes[9]}, bearerHeader(tok)); r.status != 409 {
		t.Errorf("DELETE /me/mfa/totp again = %d %s; want 409 mfa_not_enabled", r.status, r.body)
	}
	e.login("alice", "alice password 1")
}

func TestMFAAdminResetAndStepUp(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, map[string]string{"GATEHOUSE_ADMIN_REQUIRE_MFA": "true"})
	pwOnly := e.adminToken()
	r := e.do(http.MethodGet, "/admin/users", nil, bearerHeader(pwOnly))
	if r.status != 401 || r.json(t)["error"] != "insufficient_user_authentication" ||
		r.header.Get("WWW-Authenticate") != `Bearer realm="gatehouse", error="insufficient_user_authentication", acr_values="aal2"` {
		t.Fatalf("admin route with a password-only token = %d %s %v; want the RFC 9470 challenge", r.status, r.body, r.header)
	}
	step := freshStep()
	rootSecret, _ := e.enrolMFA(pwOnly, step-1)
	mt := e.mfaToken("root", "admin password 1")
	g := e.mfaGrant(url.Values{"mfa_token": {mt}, "otp": {totpAt(t, rootSecret, step)}})
	if g.status != 200 {
		t.Fatalf("admin's second step = %d %s", g.status, g.body)
	}
	admin := bearerHeader(g.json(t)["access_token"])
	if r := e.do(http.MethodGet, "/admin/users", nil, admin); r.status != 200 {
		t.Fatalf("admin route with an aal2 token = %d %s; want 200", r.status, r.body)
	}

	// An operator turns a locked-out user's MFA off: every session ends.
	alice := e.signUp("alice", "alice password 1")["id"].(string)
	aliceTok := e.login("alice", "alice password 1")["access_token"]
	e.enrolMFA(aliceTok, step-1)
	if r := e.do(http.MethodDelete, "/admin/users/"+alice+"/mfa", nil, admin); r.status != 204 {
		t.Fatalf("DELETE /admin/users/:id/mfa = %d %s", r.status, r.body)
	}
	if s := e.do(http.MethodGet, "/protected_resource", nil, bearerHeader(aliceTok)).status; s != 401 {
		t.Errorf("alice's session after the reset = %d; want 401", s)
	}
	e.login("alice", "alice password 1") // the password alone again
	if r := e.do(http.MethodDelete, "/admin/users/"+alice+"/mfa", nil, admin); r.status != 409 || r.json(t)["error"] != "mfa_not_enabled" {
		t.Errorf("resetting again = %d %s; want 409 mfa_not_enabled", r.status, r.body)
	}
	if r := e.do(http.MethodDelete, "/admin/users/00000000-0000-7000-8000-000000000000/mfa", nil, admin); r.status != 404 {
		t.Errorf("resetting an unknown user = %d; want 404", r.status)
	}

	// The same from the command line, on the server's database.
	e.signUp("bob", "bobs password 1")
	e.enrolMFA(e.login("bob", "bobs password 1")["access_token"], step-1)
	if out, errOut, code := cli(t, e.app.cfg.DB, "", "user", "mfa-reset", "bob"); code != 0 || !strings.Contains(out, "bob") {
		t.Fatalf("gatehouse user mfa-reset bob = %d %q %q", code, out, errOut)
	}
	e.login("bob", "bobs password 1")
	if _, errOut, code := cli(t, e.app.cfg.DB, "", "user", "mfa-reset", "bob"); code == 0 || !strings.Contains(errOut, "no MFA") {
		t.Errorf("a second mfa-reset = %d %q; want a failure saying the user has no MFA", code, errOut)
	}
}

// TestMFAWrongCodesAreThrottled: wrong codes count as login failures of
// the (user, address), so guessing codes across fresh mfa_tokens runs into
// the login throttle (429) long before the code space.
func TestMFAWrongCodesAreThrottled(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, nil) // 5 failures per (user, address)
	e.signUp("carol", "carols password 1")
	e.enrolMFA(e.login("carol", "carols password 1")["access_token"], freshStep())
	for i := range 10 {
		r := e.form("/oauth/token", url.Values{"grant_type": {"password"}, "username": {"carol"}, "password": {"carols password 1"}}.Encode(), nil)
		if r.status == 429 {
			return
		}
		mt, _ := r.json(t)["mfa_token"].(string)
		if r := e.mfaGrant(url.Values{"mfa_token": {mt}, "otp": {"000000"}}); r.status == 429 {
			return
		}
		if i == 9 {
			t.Fatalf("10 rounds of password and a wrong code were never throttled")
		}
	}
}

// TestTOTPSecretSealedAtRest: with a key-encryption key the store holds
// the TOTP secret sealed, and the factor still works.
func TestTOTPSecretSealedAtRest(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, map[string]string{"GATEHOUSE_KEY_ENCRYPTION_KEY": "an operator key of at least 32 bytes!"})
	id := e.signUp("dana", "danas password 1")["id"].(string)
	step := freshStep()
	secret, _ := e.enrolMFA(e.login("dana", "danas password 1")["access_token"], step-1)
	stored, err := e.app.store.TOTPOf(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.TrimRight(secret, "="))
	if strings.Contains(string(stored.Secret), secret) || strings.Contains(string(stored.Secret), string(raw)) {
		t.Fatalf("the stored TOTP secret %q holds the secret in the clear", stored.Secret)
	}
	one := e.do(http.MethodPost, "/get_token", map[string]string{"username": "dana", "password": "danas password 1", "otp": totpAt(t, secret, step)}, nil)
	if one.status != 200 {
		t.Errorf("login with a code of the sealed secret = %d %s; want 200", one.status, one.body)
	}
}
