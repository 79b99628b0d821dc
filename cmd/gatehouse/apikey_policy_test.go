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

// TestAPIKeyPrefixChange: keys made under an earlier
// GATEHOUSE_API_KEY_PREFIX keep working after it changes (the prefix is
// that of new keys); their checksum is still checked, and revoking them
// still works.
func TestAPIKeyPrefixChange(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "gatehouse.db")
	old := map[string]string{"GATEHOUSE_DB": db, "GATEHOUSE_API_KEY_PREFIX": "acme"}
	if _, errOut, code := runCLI(t.Context(), old, "alice password 1\n", "user", "add", "alice", "--password-stdin"); code != 0 {
		t.Fatalf("user add alice: %s", errOut)
	}
	out, errOut, code := runCLI(t.Context(), old, "", "apikey", "add", "alice", "--name", "ci")
	_, key, _ := strings.Cut(out, "api_key: ")
	key = strings.TrimSpace(key)
	if code != 0 || !strings.HasPrefix(key, "acme_") {
		t.Fatalf("apikey add under prefix acme = exit %d %q %q; want an acme_ key", code, out, errOut)
	}
	idLine, _, _ := strings.Cut(out, "\n")
	id := strings.TrimPrefix(idLine, "id: ")

	e := newTestEnv(t, map[string]string{"GATEHOUSE_DB": db, "GATEHOUSE_API_KEY_PREFIX": "gth"})
	for name, h := range map[string]map[string]string{
		"bearer": {"Authorization": "Bearer " + key}, "bare": {"Authorization": key}, "X-API-Key": {"X-API-Key": key},
	} {
		if r := e.do(http.MethodGet, "/protected_resource", nil, h); r.status != 200 || r.json(t)["user"] != "alice" {
			t.Errorf("acme_ key (%s) after the prefix became gth = %d %s; want 200 alice", name, r.status, r.body)
		}
	}
	if r := e.do(http.MethodGet, "/protected_resource", nil, map[string]string{"X-API-Key": mistyped(key)}); r.status != 401 || r.json(t)["message"] != "Invalid token" {
		t.Errorf("mistyped acme_ key = %d %s; want 401 Invalid token", r.status, r.body)
	}
	tok := e.login("alice", "alice password 1")["access_token"]
	if k := e.newAPIKey(tok, map[string]any{"name": "new"})["key"].(string); !strings.HasPrefix(k, "gth_") {
		t.Errorf("new key %q; want the gth_ prefix", k[:5])
	}
	if r := e.do(http.MethodDelete, "/me/api-keys/"+id, nil, bearerHeader(tok)); r.status != 204 {
		t.Fatalf("DELETE the acme_ key = %d %s", r.status, r.body)
	}
	if r := e.do(http.MethodGet, "/protected_resource", nil, map[string]string{"X-API-Key": key}); r.status != 401 {
		t.Errorf("deleted acme_ key = %d %s; want 401", r.status, r.body)
	}
}
