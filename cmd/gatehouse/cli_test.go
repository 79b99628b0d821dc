package main

import (
	"bytes"
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

// cli runs one gatehouse command in-process against db.
func cli(t *testing.T, db, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	env := map[string]string{"GATEHOUSE_DB": db}
	code = run(context.Background(), args, func(k string) string { return env[k] }, strings.NewReader(stdin), &out, &errb)
	return out.String(), errb.String(), code
}

// mustCLI returns a runner of commands against db that fails the test
// when one exits non-zero, and returns its standard output.
func mustCLI(t *testing.T, db string) func(stdin string, args ...string) string {
	return func(stdin string, args ...string) string {
		t.Helper()
		out, errOut, code := cli(t, db, stdin, args...)
		if code != 0 {
			t.Fatalf("gatehouse %s = exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errOut)
		}
		return out
	}
}

// TestCLIPasswdEndsSessions runs "gatehouse user passwd" on the database
// of a running server: every session of the user ends, so a refresh token
// from before it is refused at once and its access token as soon as the
// server has read the revocation feed; only the new password logs in.
func TestCLIPasswdEndsSessions(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, nil)
	e.signUp("alice", "correct horse battery")
	before := e.login("alice", "correct horse battery")
	access := bearerHeader(before["access_token"])
	wantStatus(t, e.do(http.MethodGet, "/protected_resource", nil, access), "access token before the CLI passwd", http.StatusOK)

	mustCLI(t, e.app.cfg.DB)("a third good password\n", "user", "passwd", "alice", "--password-stdin")
	refresh := "grant_type=refresh_token&refresh_token=" + before["refresh_token"].(string)
	wantStatus(t, e.form("/oauth/token", refresh, nil), "refresh token from before the CLI passwd", http.StatusBadRequest)
	if err := e.app.revoked.Sync(context.Background()); err != nil { // as the server's sync loop does
		t.Fatalf("revocation sync: %v", err)
	}
	wantStatus(t, e.do(http.MethodGet, "/protected_resource", nil, access), "access token from before the CLI passwd", http.StatusUnauthorized)
	wantStatus(t, e.loginFrom("", "alice", "correct horse battery"), "login with the old password", http.StatusUnauthorized)
	wantStatus(t, e.loginFrom("", "alice", "a third good password"), "login with the new password", http.StatusOK)
}

func TestCLIUsersClientsKeys(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "gatehouse.db")
	mustRun := mustCLI(t, db)

	if out := mustRun("", "migrate"); !strings.Contains(out, "migration") {
		t.Errorf("migrate output = %q", out)
	}
	mustRun("correct horse battery\n", "user", "add", "Root", "--role", "admin", "--password-stdin")
	mustRun("another fine password\n", "user", "add", "alice", "--password-stdin")
	list := mustRun("", "user", "list")
	if !strings.Contains(list, "root") || !strings.Contains(list, "admin") || !strings.Contains(list, "alice") {
		t.Errorf("user list = %q; want root (admin) and alice", list)
	}
	mustRun("", "user", "disable", "alice")
	if list := mustRun("", "user", "list"); !strings.Contains(list, "true") {
		t.Errorf("after disable, user list = %q; want alice disabled", list)
	}
	mustRun("", "user", "enable", "ALICE")
	mustRun("a third good password\n", "user", "passwd", "alice", "--password-stdin")
	mustRun("", "user", "delete", "alice")
	if list := mustRun("", "user", "list"); strings.Contains(list, "alice") {
		t.Errorf("after delete, user list = %q", list)
	}

	out := mustRun("", "client", "add", "reports", "--scope", "reports:read")
	var id, secret string
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(line, "client_id: "); ok {
			id = v
		}
		if v, ok := strings.CutPrefix(line, "client_secret: "); ok {
			secret = v
		}
	}
	if id == "" || len(secret) < 43 {
		t.Fatalf("client add output = %q; want client_id and client_secret lines", out)
	}
	if list := mustRun("", "client", "list"); !strings.Contains(list, id) || strings.Contains(list, secret) {
		t.Errorf("client list = %q; want the id and never the secret", list)
	}
	mustRun("", "client", "delete", id)

	// No command so far made a key: only "keys rotate" (or a server's first
	// start) does.
	if keys := mustRun("", "keys", "list"); strings.Contains(keys, "active") {
		t.Errorf("keys list before any rotation = %q; want no key", keys)
	}
	first := strings.TrimSpace(strings.TrimPrefix(mustRun("", "keys", "rotate"), "new signing key:"))
	if keys := mustRun("", "keys", "list"); strings.Count(keys, "active") != 1 || !strings.Contains(keys, first) {
		t.Errorf("keys list = %q; want one active key %s", keys, first)
	}
	rot := mustRun("", "keys", "rotate")
	kid := strings.TrimSpace(strings.TrimPrefix(rot, "new signing key:"))
	if keys := mustRun("", "keys", "list"); !strings.Contains(keys, kid) || !strings.Contains(keys, "retired") {
		t.Errorf("keys list after rotate = %q; want new kid %s and a retired key", keys, kid)
	}
	// API keys: add prints id and api_key once; list never shows the key;
	// revoke takes the id.
	mustRun("a fourth good password\n", "user", "add", "carol", "--password-stdin")
	out = mustRun("", "apikey", "add", "carol", "--name", "ci job", "--expires-in", "720h")
	var keyID, apiKey string
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(line, "id: "); ok {
			keyID = v
		}
		if v, ok := strings.CutPrefix(line, "api_key: "); ok {
			apiKey = v
		}
	}
	if keyID == "" || !keyPattern.MatchString(apiKey) {
		t.Fatalf("apikey add output = %q; want id and api_key lines", out)
	}
	if list := mustRun("", "apikey", "list", "carol"); !strings.Contains(list, keyID) || !strings.Contains(list, "ci job") || strings.Contains(list, apiKey) {
		t.Errorf("apikey list = %q; want the id and name, never the key", list)
	}
	mustRun("", "apikey", "revoke", keyID)
	if list := mustRun("", "apikey", "list", "carol"); strings.Contains(list, keyID) {
		t.Errorf("apikey list after revoke = %q", list)
	}
	if _, errOut, code := cli(t, db, "", "apikey", "revoke", keyID); code == 0 || !strings.Contains(errOut, "no such API key") {
		t.Errorf("apikey revoke (again) = exit %d %q; want a failure", code, errOut)
	}
	if _, errOut, code := cli(t, db, "", "apikey", "add", "carol", "--name", "x", "--expires-in", "30s"); code == 0 || !strings.Contains(errOut, "expires_in") {
		t.Errorf("apikey add --expires-in 30s = exit %d %q; want a refusal", code, errOut)
	}
	if _, errOut, code := cli(t, db, "", "apikey", "add", "carol"); code == 0 || !strings.Contains(errOut, "--name") {
		t.Errorf("apikey add without --name = exit %d %q; want a refusal naming --name", code, errOut)
	}

	if out := mustRun("", "version"); !strings.HasPrefix(out, "gatehouse ") {
		t.Errorf("version = %q", out)
	}
}

func TestCLIErrors(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "gatehouse.db")
	tests := []struct {
		name  string
		stdin string
		args  []string
		want  string
	}{
		{"unknown command", "", []string{"frobnicate"}, "unknown command"},
		{"weak password", "password\n", []string{"user", "add", "bob", "--password-stdin"}, "password"},
		{"bad username", "a fine password\n", []string{"user", "add", "b b", "--password-stdin"}, "username"},
		{"no tty", "", []string{"user", "add", "bob"}, "--password-stdin"},
		{"missing user", "", []string{"user", "disable", "nobody"}, "no such user"},
		{"missing name", "", []string{"user", "add"}, "NAME"},
		{"bad flag", "", []string{"serve", "--no-such-flag"}, "no-such-flag"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, errOut, code := cli(t, db, tt.stdin, tt.args...)
			if code == 0 || !strings.Contains(errOut, tt.want) {
				t.Errorf("gatehouse %v = exit %d, stderr %q; want failure mentioning %q", tt.args, code, errOut, tt.want)
			}
		})
	}
}
