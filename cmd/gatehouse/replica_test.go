package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/infrastructure/database/dbtest"
	"github.com/gatehouse-auth/gatehouse/internal/testkit"
)

// cluster is several real gatehouse processes on one Postgres database.
type cluster struct {
	t     *testing.T
	bin   string
	dsn   string
	urls  []string
	extra []string
}

// newCluster starts n replicas of the built binary on a fresh Postgres
// database (skipped without GATEHOUSE_TEST_POSTGRES_DSN).
func newCluster(t *testing.T, n int, extra ...string) *cluster {
	t.Helper()
	dsn := dbtest.Postgres(t)
	c := &cluster{t: t, bin: binary(t), dsn: dsn, extra: extra}
	for range n {
		c.urls = append(c.urls, c.start())
	}
	return c
}

func (c *cluster) env() []string {
	return append([]string{
		"GATEHOUSE_DB=" + c.dsn,
		"GATEHOUSE_REVOCATION_SYNC=200ms",
		"GATEHOUSE_LOG_LEVEL=warn",
		"GATEHOUSE_HASH_CONCURRENCY=2",
	}, c.extra...)
}

func (c *cluster) start() string {
	_, base, _ := startServe(c.t, c.bin, c.env())
	return base
}

// call sends a request to one replica.
func (c *cluster) call(base, method, path, contentType, body string, header map[string]string) (int, map[string]any) {
	c.t.Helper()
	req, err := http.NewRequest(method, base+path, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	client := &http.Client{Timeout: 20 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s%s: %v", method, base, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var m map[string]any
	_ = json.Unmarshal(raw, &m) // some answers (204) have no body
	return resp.StatusCode, m
}

func (c *cluster) signUp(base, user, pw string) {
	c.t.Helper()
	if s, b := c.call(base, "POST", "/users", "application/json", fmt.Sprintf(`{"username":%q,"password":%q}`, user, pw), nil); s != 201 {
		c.t.Fatalf("signup on %s = %d %v", base, s, b)
	}
}

func (c *cluster) login(base, user, pw string) map[string]any {
	c.t.Helper()
	s, b := c.call(base, "POST", "/get_token", "application/json", fmt.Sprintf(`{"username":%q,"password":%q}`, user, pw), nil)
	if s != 200 {
		c.t.Fatalf("login on %s = %d %v", base, s, b)
	}
	return b
}

func (c *cluster) protected(base string, tok any) int {
	c.t.Helper()
	s, _ := c.call(base, "GET", "/protected_resource", "", "", map[string]string{"Authorization": "Bearer " + tok.(string)})
	return s
}

func TestReplicasShareTokensAndRevocations(t *testing.T) {
	t.Parallel()
	c := newCluster(t, 3)
	a, b, r3 := c.urls[0], c.urls[1], c.urls[2]
	c.signUp(a, "alice", "correct horse battery")
	tok := c.login(b, "alice", "correct horse battery")["access_token"]
	for _, u := range c.urls {
		if s := c.protected(u, tok); s != 200 {
			t.Fatalf("token from replica b on %s = %d; want 200", u, s)
		}
	}

	// Logout on a: refused at once on a, within the sync interval elsewhere.
	if s, _ := c.call(a, "POST", "/logout", "", "", map[string]string{"Authorization": "Bearer " + tok.(string)}); s != 204 {
		t.Fatalf("logout = %d", s)
	}
	if s := c.protected(a, tok); s != 401 {
		t.Fatalf("revoking replica accepts the token: %d", s)
	}
	for _, u := range []string{b, r3} {
		testkit.Eventually(t, "replica "+u+" refuses a logged-out token", 5*time.Second, func() bool { return c.protected(u, tok) == 401 })
	}

	// Disable on one replica (admin API) is enforced by the others.
	_, errOut, code := runBinaryIn(c.bin, c.env(), "boss password 1\n", "user", "add", "boss", "--role", "admin", "--password-stdin")
	if code != 0 {
		t.Fatalf("user add boss: %s", errOut)
	}
	admin := c.login(a, "boss", "boss password 1")["access_token"].(string)
	bobTok := c.login(b, "alice", "correct horse battery")["access_token"]
	_, me := c.call(b, "GET", "/me", "", "", map[string]string{"Authorization": "Bearer " + bobTok.(string)})
	aliceID := me["id"].(string)
	if s, body := c.call(a, "PATCH", "/admin/users/"+aliceID, "application/json", `{"disabled":true}`, map[string]string{"Authorization": "Bearer " + admin}); s != 200 {
		t.Fatalf("disable = %d %v", s, body)
	}
	for _, u := range []string{b, r3} {
		testkit.Eventually(t, "replica "+u+" refuses a disabled user's token", 5*time.Second, func() bool { return c.protected(u, bobTok) == 401 })
	}
}

func TestReplicasFollowKeyRotation(t *testing.T) {
	t.Parallel()
	c := newCluster(t, 2)
	a, b := c.urls[0], c.urls[1]
	c.signUp(a, "alice", "correct horse battery")
	old := c.login(a, "alice", "correct horse battery")["access_token"]

	out, errOut, code := runBinaryIn(c.bin, c.env(), "", "keys", "rotate")
	if code != 0 {
		t.Fatalf("keys rotate: %s", errOut)
	}
	kid := strings.TrimSpace(strings.TrimPrefix(out, "new signing key:"))
	for _, u := range c.urls {
		testkit.Eventually(t, "replica "+u+" publishes the new key", 5*time.Second, func() bool {
			_, jwks := c.call(u, "GET", "/.well-known/jwks.json", "", "", nil)
			return strings.Contains(fmt.Sprint(jwks), kid)
		})
	}
	// Both sign with the new key and accept each other's and the old tokens.
	testkit.Eventually(t, "replica a signs with the new key", 5*time.Second, func() bool {
		tok := c.login(a, "alice", "correct horse battery")["access_token"].(string)
		return strings.Contains(decodeHeader(t, tok), kid)
	})
	fresh := c.login(b, "alice", "correct horse battery")["access_token"]
	for _, u := range c.urls {
		if s := c.protected(u, fresh); s != 200 {
			t.Errorf("new-key token on %s = %d", u, s)
		}
		if s := c.protected(u, old); s != 200 {
			t.Errorf("old-key token on %s = %d; want 200 until it expires", u, s)
		}
	}
}

func TestReplicasConcurrentRefresh(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		interval string
	}{{"within reuse interval", "10s"}, {"no reuse interval", "0s"}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := newCluster(t, 2, "GATEHOUSE_REFRESH_REUSE_INTERVAL="+tc.interval)
			c.signUp(c.urls[0], "alice", "correct horse battery")
			rt := c.login(c.urls[0], "alice", "correct horse battery")["refresh_token"].(string)
			const n = 20
			status, successor := concurrently(n, func(i int) (int, string) {
				s, b := c.call(c.urls[i%2], "POST", "/oauth/token", "application/x-www-form-urlencoded",
					"grant_type=refresh_token&refresh_token="+url.QueryEscape(rt), nil)
				if s != 200 {
					return s, ""
				}
				return s, b["refresh_token"].(string)
			})
			wins := map[string]int{}
			ok := 0
			for i := range n {
				if status[i] == 200 {
					ok++
					wins[successor[i]]++
				} else if status[i] != 400 {
					t.Errorf("request %d = %d; want 200 or 400", i, status[i])
				}
			}
			if len(wins) != 1 {
				t.Fatalf("successors = %v; want exactly one distinct successor", wins)
			}
			if tc.interval == "0s" && ok != 1 {
				t.Errorf("%d requests succeeded without a reuse interval; want exactly 1", ok)
			}
			if tc.interval == "10s" && ok != n {
				t.Errorf("%d of %d requests succeeded within the reuse interval; want all", ok, n)
			}
		})
	}
}

// TestReplicasShareLoginThrottle spreads wrong passwords over two replicas:
// the (user, address) limit counts them together, so the sixth attempt is
// throttled on either replica, even with the right password. The backoff
// after five failures lasts 1 s; a round whose checks end later than that
// proves nothing (a loaded machine), so it is tried again with a new user.
func TestReplicasShareLoginThrottle(t *testing.T) {
	t.Parallel()
	c := newCluster(t, 2)
	for round := range 3 {
		user := fmt.Sprintf("alice%d", round)
		c.signUp(c.urls[0], user, "correct horse battery")
		for i := range 5 {
			s, b := c.call(c.urls[i%2], "POST", "/get_token", "application/json",
				`{"username":"`+user+`","password":"wrong wrong wrong"}`, nil)
			if s != 401 {
				t.Fatalf("wrong password #%d = %d %v; want 401", i+1, s, b)
			}
		}
		fifth := time.Now()
		var got []string
		for _, u := range c.urls {
			s, b := c.call(u, "POST", "/get_token", "application/json",
				`{"username":"`+user+`","password":"correct horse battery"}`, nil)
			got = append(got, fmt.Sprintf("%d %v", s, b["error"]))
		}
		if time.Since(fifth) >= time.Second {
			t.Logf("round %d: the checks ended %v after the fifth failure, past the backoff; trying again", round, time.Since(fifth))
			continue
		}
		for i, g := range got {
			if g != "429 too_many_requests" {
				t.Errorf("correct password on replica %d after 5 failures across replicas = %s; want 429 too_many_requests", i, g)
			}
		}
		return
	}
	t.Skip("every round was slower than the 1 s backoff: this machine is too loaded to judge")
}
