package main

import (
	"context"
	"crypto/sha256"
	"errors"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/domain"
	"github.com/gatehouse-auth/gatehouse/internal/testkit"
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

// TestServerPrunesOldAPIKeys: the server's prune job deletes keys that
// expired or were revoked longer than GATEHOUSE_EVENT_RETENTION ago;
// recent ones and live ones stay.
func TestServerPrunesOldAPIKeys(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, map[string]string{"GATEHOUSE_EVENT_RETENTION": "24h"})
	alice := e.signUp("alice", "alice password 1")["id"].(string)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Microsecond)
	old := func(id string, expires time.Time) {
		t.Helper()
		h := sha256.Sum256([]byte(id))
		k := &domain.APIKey{ID: id, UserID: alice, Name: id, Hint: "gth_" + id, Hash: h[:], CreatedAt: now.Add(-1000 * time.Hour), ExpiresAt: expires}
		if err := e.app.store.CreateAPIKey(ctx, k, domain.MaxLiveAPIKeys, nil); err != nil {
			t.Fatalf("CreateAPIKey(%s) = %v", id, err)
		}
	}
	old("expired-long-ago", now.Add(-25*time.Hour))
	old("expired-lately", now.Add(-23*time.Hour))
	old("revoked-long-ago", now.Add(time.Hour))
	if _, err := e.app.store.RevokeAPIKey(ctx, domain.APIKeyRevocation{ID: "revoked-long-ago", At: now.Add(-25 * time.Hour), FeedExpires: now}); err != nil {
		t.Fatal(err)
	}
	tok := e.login("alice", "alice password 1")["access_token"]
	live := e.newAPIKey(tok, map[string]any{"name": "live"})

	loopCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); e.app.maintain(loopCtx, 10*time.Millisecond) }()
	testkit.Eventually(t, "old keys pruned", 10*time.Second, func() bool {
		_, err := e.app.store.APIKeyByID(ctx, "revoked-long-ago")
		return errors.Is(err, domain.ErrNotFound)
	})
	stop()
	<-done
	for id, gone := range map[string]bool{"expired-long-ago": true, "expired-lately": false, live["id"].(string): false} {
		if _, err := e.app.store.APIKeyByID(ctx, id); errors.Is(err, domain.ErrNotFound) != gone {
			t.Errorf("APIKeyByID(%s) after prune = %v; want gone=%v", id, err, gone)
		}
	}
	if r := e.do(http.MethodGet, "/protected_resource", nil, map[string]string{"X-API-Key": live["key"].(string)}); r.status != 200 {
		t.Errorf("live key after prune = %d %s; want 200", r.status, r.body)
	}
	if logs := e.log.String(); !strings.Contains(logs, `"msg":"old api keys pruned","count":2`) {
		t.Errorf("logs lack the key prune line with count 2:\n%s", logs)
	}
}
