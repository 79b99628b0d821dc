package main

import (
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestAPIKeyDefaultUnderMaxTTL: with GATEHOUSE_API_KEY_MAX_TTL below the
// 90-day default, a key made without expires_in lives the maximum, over
// HTTP and from the CLI.
func TestAPIKeyDefaultUnderMaxTTL(t *testing.T) {
	t.Parallel()
	t.Run("http", func(t *testing.T) {
		t.Parallel()
		e := newTestEnv(t, map[string]string{"GATEHOUSE_API_KEY_MAX_TTL": "24h"})
		e.signUp("alice", "alice password 1")
		tok := bearerHeader(e.login("alice", "alice password 1")["access_token"])
		r := e.do(http.MethodPost, "/me/api-keys", map[string]any{"name": "ci"}, tok)
		if r.status != http.StatusCreated {
			t.Fatalf("POST /me/api-keys without expires_in (max 24h) = %d %s; want 201", r.status, r.body)
		}
		body := r.json(t)
		created, _ := time.Parse(time.RFC3339Nano, body["created_at"].(string))
		expires, _ := time.Parse(time.RFC3339Nano, body["expires_at"].(string))
		if got := expires.Sub(created); got != 24*time.Hour {
			t.Errorf("lifetime = %v; want 24h", got)
		}
		if r := e.do(http.MethodPost, "/me/api-keys", map[string]any{"name": "ci", "expires_in": 86401}, tok); r.status != 400 {
			t.Errorf("POST /me/api-keys expires_in 86401 (max 24h) = %d %s; want 400", r.status, r.body)
		}
	})
	t.Run("cli", func(t *testing.T) {
		t.Parallel()
		db := filepath.Join(t.TempDir(), "gatehouse.db")
		env := map[string]string{"GATEHOUSE_DB": db, "GATEHOUSE_API_KEY_MAX_TTL": "24h"}
		if _, errOut, code := runCLI(t.Context(), env, "carol password 1\n", "user", "add", "carol", "--password-stdin"); code != 0 {
			t.Fatalf("user add carol: %s", errOut)
		}
		out, errOut, code := runCLI(t.Context(), env, "", "apikey", "add", "carol", "--name", "ci")
		if code != 0 || !strings.Contains(out, "api_key: gth_") {
			t.Fatalf("apikey add without --expires-in (max 24h) = exit %d %q %q; want a key", code, out, errOut)
		}
	})
}
