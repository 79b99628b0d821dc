package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/gatehouse-auth/gatehouse/internal/testkit"
)

// newReceiver starts a webhook endpoint answering status (a test changes
// it through Status); what it got is verified later with the secret, which
// is only known once the webhook is registered.
func newReceiver(t *testing.T, status int) *testkit.Receiver {
	t.Helper()
	return testkit.NewReceiver(t, status, nil)
}

// accepted returns the bodies of the requests r answered 2xx, each checked
// against secret by the Standard Webhooks reference library, keyed by
// webhook-id, with how many times each id was accepted.
func accepted(t *testing.T, r *testkit.Receiver, secret string) (map[string]map[string]any, map[string]int) {
	t.Helper()
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatalf("the reference library refuses the secret %q...: %v", secret[:10], err)
	}
	bodies, count := map[string]map[string]any{}, map[string]int{}
	for _, d := range r.Requests() {
		if err := wh.Verify(d.Body, d.Header); err != nil {
			t.Errorf("delivery %s fails the reference verification: %v", d.Header.Get("webhook-id"), err)
			continue
		}
		if d.Status/100 != 2 {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal(d.Body, &m); err != nil {
			t.Fatalf("delivery body %q: %v", d.Body, err)
		}
		id := d.Header.Get("webhook-id")
		bodies[id] = m
		count[id]++
	}
	return bodies, count
}

func TestWebhooksOverHTTP(t *testing.T) {
	t.Parallel()
	// Under a key-encryption key, so the secret is stored sealed.
	e := newTestEnv(t, map[string]string{"GATEHOUSE_WEBHOOK_ALLOW_PRIVATE": "true", "GATEHOUSE_KEY_ENCRYPTION_KEY": "an operator key of at least 32 bytes!"})
	admin := bearerHeader(e.adminToken())
	recv := newReceiver(t, http.StatusServiceUnavailable) // down at first
	r := e.do(http.MethodPost, "/admin/webhooks", map[string]any{"url": recv.URL + "/hook", "events": []string{"user.created", "login.failed"}}, admin)
	if r.status != 201 {
		t.Fatalf("POST /admin/webhooks = %d %s", r.status, r.body)
	}
	hook := r.json(t)
	secret, _ := hook["secret"].(string)
	if !strings.HasPrefix(secret, "whsec_") || hook["url"] != recv.URL+"/hook" {
		t.Fatalf("created webhook = %v; want its url and a whsec_ secret", hook)
	}
	id := hook["id"].(string)
	stored, err := e.app.store.ListWebhooks(t.Context())
	if err != nil || len(stored) != 1 || strings.Contains(stored[0].Secret, strings.TrimPrefix(secret, "whsec_")) {
		t.Fatalf("stored webhooks %v, %v; want one, its secret sealed", stored, err)
	}
	if list := e.do(http.MethodGet, "/admin/webhooks", nil, admin); list.status != 200 || strings.Contains(string(list.body), secret) ||
		!strings.Contains(string(list.body), id) {
		t.Errorf("GET /admin/webhooks = %d %s; want the webhook without its secret", list.status, list.body)
	}

	alice := e.signUp("alice", "alice password 1")["id"]
	e.signUp("bob", "bobs password 1")
	e.login("bob", "bobs password 1") // login.succeeded: not subscribed

	// The receiver fails the first attempt of each; a retry about 5 s later
	// finds it recovered.
	testkit.Eventually(t, "a first attempt fails", 5*time.Second, func() bool { return len(recv.Requests()) >= 2 })
	recv.Status.Store(http.StatusNoContent)
	var bodies map[string]map[string]any
	testkit.Eventually(t, "both user.created events are delivered", 20*time.Second, func() bool {
		bodies, _ = accepted(t, recv, secret)
		return len(bodies) == 2
	})
	var sawAlice bool
	for wid, b := range bodies {
		data, _ := b["data"].(map[string]any)
		if b["type"] != "user.created" || data["id"] != wid || data["type"] != "user.created" || b["timestamp"] == nil {
			t.Errorf("delivery %s = %v; want {type, timestamp, data: the event}", wid, b)
		}
		sawAlice = sawAlice || data["user_id"] == alice
	}
	if !sawAlice {
		t.Errorf("no delivery of alice's user.created among %v", bodies)
	}
	for _, d := range recv.Requests() {
		if strings.Contains(string(d.Body), "password 1") {
			t.Errorf("a delivery carries a password: %s", d.Body)
		}
	}

	ds := e.do(http.MethodGet, "/admin/webhooks/"+id+"/deliveries", nil, admin)
	var out struct {
		Deliveries []struct {
			EventID        string     `json:"event_id"`
			Status         string     `json:"status"`
			Attempts       int        `json:"attempts"`
			LastStatusCode *int       `json:"last_status_code"`
			NextAttemptAt  *time.Time `json:"next_attempt_at"`
		} `json:"deliveries"`
	}
	if err := json.Unmarshal(ds.body, &out); err != nil || ds.status != 200 || len(out.Deliveries) != 2 {
		t.Fatalf("GET deliveries = %d %s; want two", ds.status, ds.body)
	}
	for _, d := range out.Deliveries {
		if d.Status != "delivered" || d.Attempts < 2 || d.LastStatusCode == nil || *d.LastStatusCode != 204 || d.NextAttemptAt != nil {
			t.Errorf("delivery %+v; want delivered on a retry, 204, nothing next", d)
		}
	}

	if r := e.do(http.MethodDelete, "/admin/webhooks/"+id, nil, admin); r.status != 204 {
		t.Errorf("DELETE webhook = %d", r.status)
	}
	if r := e.do(http.MethodGet, "/admin/webhooks/"+id+"/deliveries", nil, admin); r.status != 404 {
		t.Errorf("deliveries of a deleted webhook = %d; want 404", r.status)
	}
}

func TestWebhookBadInputAndSSRF(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, nil) // private destinations refused
	admin := bearerHeader(e.adminToken())
	for _, body := range []map[string]any{
		{"url": "http://127.0.0.1:9/hook"},
		{"url": "http://localhost/hook"},
		{"url": "http://[::1]/hook"},
		{"url": "http://10.1.2.3/hook"},
		{"url": "http://169.254.169.254/latest/meta-data"},
		{"url": "http://[::ffff:127.0.0.1]/hook"},
		{"url": "ftp://example.com/hook"},
		{"url": "not a url"},
		{"url": "http://user:pass@example.com/hook"},
		{"url": "https://example.com/" + strings.Repeat("a", 3000)},
		{"url": ""},
		{"url": "https://example.com/hook", "events": []string{"bogus"}},
		{"url": 42},
	} {
		r := e.do(http.MethodPost, "/admin/webhooks", body, admin)
		if r.status != 400 || r.json(t)["error"] != "invalid_request" {
			t.Errorf("POST /admin/webhooks %.60v = %d %s; want 400 invalid_request", body, r.status, r.body)
		}
	}
	if r := e.do(http.MethodGet, "/admin/webhooks", nil, admin); r.status != 200 || strings.Contains(string(r.body), `"id"`) {
		t.Errorf("after refusals GET /admin/webhooks = %d %s; want none stored", r.status, r.body)
	}
	for _, path := range []string{"/admin/webhooks/nope/deliveries", "/admin/webhooks/00000000-0000-7000-8000-000000000000/deliveries"} {
		if r := e.do(http.MethodGet, path, nil, admin); r.status != 404 {
			t.Errorf("GET %s = %d; want 404", path, r.status)
		}
	}
	if r := e.do(http.MethodDelete, "/admin/webhooks/nope", nil, admin); r.status != 404 {
		t.Errorf("DELETE unknown webhook = %d; want 404", r.status)
	}
	e.signUp("alice", "alice password 1")
	user := bearerHeader(e.login("alice", "alice password 1")["access_token"])
	if r := e.do(http.MethodPost, "/admin/webhooks", map[string]any{"url": "https://example.com/hook"}, user); r.status != 403 {
		t.Errorf("POST /admin/webhooks as a user = %d; want 403", r.status)
	}
}

// adminOn creates an admin with the CLI and logs in on base.
func adminOn(t *testing.T, c *cluster, env []string, base string) map[string]string {
	t.Helper()
	if _, errOut, code := runBinaryIn(c.bin, env, "admin password 1\n", "user", "add", "root", "--role", "admin", "--password-stdin"); code != 0 {
		t.Fatalf("user add root: %s", errOut)
	}
	return bearerHeader(c.login(base, "root", "admin password 1")["access_token"])
}

// registerWebhook registers url for types on base and returns the secret.
func registerWebhook(t *testing.T, c *cluster, base string, admin map[string]string, url string, types ...string) (id, secret string) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"url": url, "events": types})
	s, b := c.call(base, "POST", "/admin/webhooks", "application/json", string(body), admin)
	if s != 201 {
		t.Fatalf("POST /admin/webhooks = %d %v", s, b)
	}
	return b["id"].(string), b["secret"].(string)
}

// TestWebhookDeliverySurvivesKill9: a delivery that failed is pending in
// the store; the server is killed with SIGKILL; a new server on the same
// database delivers it once the receiver recovers.
func TestWebhookDeliverySurvivesKill9(t *testing.T) {
	t.Parallel()
	bin := binary(t)
	env := []string{"GATEHOUSE_DB=" + filepath.Join(t.TempDir(), "gatehouse.db"), "GATEHOUSE_LOG_LEVEL=warn", "GATEHOUSE_WEBHOOK_ALLOW_PRIVATE=true"}
	cmd, base, _ := startServe(t, bin, env)
	c := &cluster{t: t, bin: bin}
	admin := adminOn(t, c, env, base)
	recv := newReceiver(t, http.StatusInternalServerError)
	hook, secret := registerWebhook(t, c, base, admin, recv.URL, "user.created")
	c.signUp(base, "alice", "alice password 1")
	// Killed once the failed attempt is recorded (killed during the
	// attempt, the claim would hold it for a minute before a retry).
	testkit.Eventually(t, "the failed first attempt is recorded", 10*time.Second, func() bool {
		_, b := c.call(base, "GET", "/admin/webhooks/"+hook+"/deliveries", "", "", admin)
		ds, _ := b["deliveries"].([]any)
		if len(ds) != 1 {
			return false
		}
		d := ds[0].(map[string]any)
		return d["status"] == "pending" && d["attempts"] == 1.0 && d["last_status_code"] == 500.0
	})

	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	recv.Status.Store(http.StatusOK)
	_, base, _ = startServe(t, bin, env)
	var count map[string]int
	testkit.Eventually(t, "the restarted server delivers the pending event", 20*time.Second, func() bool {
		_, count = accepted(t, recv, secret)
		return len(count) == 1
	})
	time.Sleep(2 * time.Second) // no second delivery follows
	if _, count = accepted(t, recv, secret); len(count) != 1 {
		t.Errorf("accepted deliveries = %v; want one event once", count)
	}
	for id, n := range count {
		if n != 1 {
			t.Errorf("event %s delivered %d times; want once", id, n)
		}
	}
	_ = base
}

// TestReplicasDeliverEachEventOnce runs two replicas on one Postgres
// database: every event reaches the receiver, each exactly once.
func TestReplicasDeliverEachEventOnce(t *testing.T) {
	t.Parallel()
	c := newCluster(t, 2, "GATEHOUSE_WEBHOOK_ALLOW_PRIVATE=true")
	admin := adminOn(t, c, c.env(), c.urls[0])
	recv := newReceiver(t, http.StatusOK)
	_, secret := registerWebhook(t, c, c.urls[1], admin, recv.URL, "user.created")
	const users = 30
	var wg sync.WaitGroup
	for i := range users {
		wg.Go(func() { c.signUp(c.urls[i%2], fmt.Sprintf("user%02d", i), "correct horse battery") })
	}
	wg.Wait()
	var count map[string]int
	testkit.Eventually(t, "every user.created is delivered", 30*time.Second, func() bool {
		_, count = accepted(t, recv, secret)
		return len(count) == users
	})
	time.Sleep(3 * time.Second) // both replicas poll a few more times
	_, count = accepted(t, recv, secret)
	if len(count) != users {
		t.Errorf("%d distinct events delivered; want %d", len(count), users)
	}
	for id, n := range count {
		if n != 1 {
			t.Errorf("event %s delivered %d times by the two replicas; want once", id, n)
		}
	}
}
