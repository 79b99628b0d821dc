package main

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/testkit"
)

// keyRevocationWithin bounds how long a replica may take to refuse a key
// revoked elsewhere: the revocation sync interval of these tests (100ms)
// bounds both the key cache and the revoked set's staleness, so about 2×
// the interval, plus slack for a loaded CI machine.
const keyRevocationWithin = 1500 * time.Millisecond

// TestAPIKeyRevocationAcrossProcesses runs two real servers on one SQLite
// file (and, with GATEHOUSE_TEST_POSTGRES_DSN, on one Postgres database):
// a key deleted through one is refused by it at once and by the other
// within keyRevocationWithin; a key whose user the CLI, a third process,
// disables or deletes is refused by both as soon.
func TestAPIKeyRevocationAcrossProcesses(t *testing.T) {
	t.Parallel()
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		bin := binary(t)
		env := []string{
			"GATEHOUSE_DB=" + filepath.Join(t.TempDir(), "gatehouse.db"),
			"GATEHOUSE_REVOCATION_SYNC=100ms",
			"GATEHOUSE_LOG_LEVEL=warn",
			"GATEHOUSE_HASH_CONCURRENCY=2",
		}
		_, a, _ := startServe(t, bin, env)
		_, b, _ := startServe(t, bin, env)
		apiKeyRevocationAcross(t, &cluster{t: t, bin: bin}, a, b, env)
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		c := newCluster(t, 2, "GATEHOUSE_REVOCATION_SYNC=100ms")
		apiKeyRevocationAcross(t, c, c.urls[0], c.urls[1], c.env())
	})
}

func apiKeyRevocationAcross(t *testing.T, c *cluster, a, b string, env []string) {
	c.signUp(a, "alice", "correct horse battery")
	tok := c.login(a, "alice", "correct horse battery")["access_token"].(string)
	auth := map[string]string{"Authorization": "Bearer " + tok}
	newKey := func(name string) (id, key string) {
		s, body := c.call(a, "POST", "/me/api-keys", "application/json", `{"name":"`+name+`"}`, auth)
		if s != 201 {
			t.Fatalf("POST /me/api-keys on a = %d %v", s, body)
		}
		return body["id"].(string), body["key"].(string)
	}
	use := func(base, key string) (int, string) {
		s, body := c.call(base, "GET", "/protected_resource", "", "", map[string]string{"X-API-Key": key})
		msg, _ := body["message"].(string)
		return s, msg
	}
	id, key := newKey("ci")
	for _, u := range []string{a, b} {
		if s, _ := use(u, key); s != 200 {
			t.Fatalf("key on %s = %d; want 200", u, s)
		}
	}

	if s, body := c.call(a, "DELETE", "/me/api-keys/"+id, "", "", auth); s != 204 {
		t.Fatalf("DELETE key on a = %d %v", s, body)
	}
	if s, msg := use(a, key); s != 401 || msg != "Token has been revoked" {
		t.Fatalf("deleting replica: key = %d %q; want 401 Token has been revoked at once", s, msg)
	}
	start := time.Now()
	testkit.Eventually(t, "replica b refuses the deleted key", keyRevocationWithin, func() bool {
		s, _ := use(b, key)
		return s == 401
	})
	t.Logf("replica b refused the deleted key after %v", time.Since(start))

	// A third process (the CLI) disables alice: both servers refuse her
	// other key within the interval.
	_, key2 := newKey("ci2")
	for _, u := range []string{a, b} {
		if s, _ := use(u, key2); s != 200 {
			t.Fatalf("second key on %s = %d; want 200", u, s)
		}
	}
	if _, errOut, code := runBinaryIn(c.bin, env, "", "user", "disable", "alice"); code != 0 {
		t.Fatalf("gatehouse user disable alice: %s", errOut)
	}
	for _, u := range []string{a, b} {
		testkit.Eventually(t, u+" refuses the key of a disabled user", keyRevocationWithin, func() bool {
			s, msg := use(u, key2)
			return s == 401 && strings.Contains(msg, "revoked")
		})
	}

	// The CLI deletes bob: both servers refuse his key, cached on both.
	c.signUp(b, "bob", "bobs password 1")
	bobTok := c.login(b, "bob", "bobs password 1")["access_token"].(string)
	s, body := c.call(b, "POST", "/me/api-keys", "application/json", `{"name":"bob"}`, map[string]string{"Authorization": "Bearer " + bobTok})
	if s != 201 {
		t.Fatalf("POST /me/api-keys on b = %d %v", s, body)
	}
	bobKey := body["key"].(string)
	for _, u := range []string{a, b} {
		if s, _ := use(u, bobKey); s != 200 {
			t.Fatalf("bob's key on %s = %d; want 200", u, s)
		}
	}
	if _, errOut, code := runBinaryIn(c.bin, env, "", "user", "delete", "bob"); code != 0 {
		t.Fatalf("gatehouse user delete bob: %s", errOut)
	}
	start = time.Now()
	for _, u := range []string{a, b} {
		testkit.Eventually(t, u+" refuses the key of a deleted user", keyRevocationWithin, func() bool {
			s, _ := use(u, bobKey)
			return s == 401
		})
	}
	t.Logf("both replicas refused the deleted user's key after %v", time.Since(start))
}
