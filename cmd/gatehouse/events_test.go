package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/testkit"
)

// eventsOf reads every page of path (GET /me/events or /admin/events with
// its query) with the headers h, limit per page, and returns the events in
// the order served.
func (e *testEnv) eventsOf(path string, limit int, h map[string]string) []map[string]any {
	e.t.Helper()
	var all []map[string]any
	cursor := ""
	for range 1000 {
		sep := "?"
		if strings.Contains(path, "?") {
			sep = "&"
		}
		r := e.do(http.MethodGet, fmt.Sprintf("%s%slimit=%d&cursor=%s", path, sep, limit, url.QueryEscape(cursor)), nil, h)
		if r.status != http.StatusOK {
			e.t.Fatalf("GET %s = %d %s", path, r.status, r.body)
		}
		var page struct {
			Events     []map[string]any `json:"events"`
			NextCursor string           `json:"next_cursor"`
		}
		if err := json.Unmarshal(r.body, &page); err != nil {
			e.t.Fatal(err)
		}
		if len(page.Events) > limit {
			e.t.Fatalf("GET %s answered %d events; limit %d", path, len(page.Events), limit)
		}
		all = append(all, page.Events...)
		if page.NextCursor == "" {
			return all
		}
		cursor = page.NextCursor
	}
	e.t.Fatalf("GET %s: the cursor never ends", path)
	return nil
}

// types lists the events' types in order.
func types(events []map[string]any) []string {
	var out []string
	for _, ev := range events {
		out = append(out, ev["type"].(string))
	}
	return out
}

// find returns the first event of type typ, or nil.
func find(events []map[string]any, typ string) map[string]any {
	for _, ev := range events {
		if ev["type"] == typ {
			return ev
		}
	}
	return nil
}

func TestAuthEventsOverHTTP(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, nil)
	admin := bearerHeader(e.adminToken())
	adminID := e.do(http.MethodGet, "/me", nil, admin).json(t)["id"]
	alice := e.signUp("alice", "alice password 1")["id"]
	bob := e.signUp("bob", "bobs password 1")["id"]

	ua := map[string]string{"User-Agent": "events-test/1.0", "X-Request-ID": "req-login-1"}
	tok := e.login("alice", "alice password 1")
	_ = e.do(http.MethodPost, "/get_token", map[string]string{"username": "alice", "password": "wrong password"}, ua)
	_ = e.do(http.MethodPost, "/get_token", map[string]string{"username": "nobody-here", "password": "whatever 1"}, ua)
	if r := e.do(http.MethodPost, "/me/password", map[string]string{"current_password": "alice password 1", "new_password": "alice password 2"},
		bearerHeader(tok["access_token"])); r.status != 204 {
		t.Fatalf("POST /me/password = %d %s", r.status, r.body)
	}
	disable := map[string]string{"Authorization": admin["Authorization"], "X-Request-ID": "req-disable-bob"}
	if r := e.do(http.MethodPatch, "/admin/users/"+bob.(string), map[string]any{"disabled": true}, disable); r.status != 200 {
		t.Fatalf("PATCH bob = %d %s", r.status, r.body)
	}

	// Login events are written in batches within a second.
	var all []map[string]any
	testkit.Eventually(t, "the login events are written", 5*time.Second, func() bool {
		all = e.eventsOf("/admin/events", 500, admin)
		return find(all, "login.failed") != nil && find(all, "login.succeeded") != nil
	})
	for i := 1; i < len(all); i++ {
		if all[i-1]["id"].(string) <= all[i]["id"].(string) {
			t.Fatalf("GET /admin/events is not newest first: %v before %v", all[i-1]["id"], all[i]["id"])
		}
	}

	failed := e.eventsOf("/admin/events?type=login.failed", 500, admin)
	if got := types(failed); !slices.Equal(got, []string{"login.failed", "login.failed"}) {
		t.Fatalf("type=login.failed = %v; want two", got)
	}
	var known, unknown map[string]any
	for _, ev := range failed {
		if ev["user_id"] == alice {
			known = ev
		} else {
			unknown = ev
		}
	}
	if known == nil || unknown == nil || unknown["user_id"] != nil {
		t.Fatalf("login.failed events = %v; want one of alice's, one without a user", failed)
	}
	if known["ip"] != "127.0.0.1" || known["user_agent"] != "events-test/1.0" || known["request_id"] != "req-login-1" {
		t.Errorf("login.failed = %v; want the client address, User-Agent and request id", known)
	}
	if d, _ := unknown["details"].(map[string]any); d["username"] != "nobody-here" || d["grant"] != "get_token" {
		t.Errorf("login.failed of an unknown user = %v; want the attempted username and grant get_token", unknown)
	}

	dis := find(all, "user.disabled")
	if actor, _ := dis["actor"].(map[string]any); dis == nil || dis["user_id"] != bob || actor["type"] != "admin" ||
		actor["id"] != adminID || dis["request_id"] != "req-disable-bob" {
		t.Errorf("user.disabled = %v; want bob's, by the admin, with the request id", dis)
	}
	pw := find(all, "password.changed")
	if actor, _ := pw["actor"].(map[string]any); pw == nil || pw["user_id"] != alice || actor["type"] != "user" || actor["id"] != alice {
		t.Errorf("password.changed = %v; want alice's, by alice", pw)
	}
	for _, typ := range []string{"user.created", "login.succeeded", "login.failed", "password.changed", "user.disabled"} {
		if find(all, typ) == nil {
			t.Errorf("no %s event in %v", typ, types(all))
		}
	}

	// Paging with a small limit visits every event once, in the same order.
	paged := e.eventsOf("/admin/events", 2, admin)
	if !slices.Equal(types(paged), types(all)) {
		t.Errorf("paged by 2 = %v; want %v", types(paged), types(all))
	}
	// Filters: by user, by time range.
	for _, ev := range e.eventsOf("/admin/events?user_id="+bob.(string), 100, admin) {
		if ev["user_id"] != bob {
			t.Errorf("user_id filter let through %v", ev)
		}
	}
	future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	if got := e.eventsOf("/admin/events?since="+future, 100, admin); len(got) != 0 {
		t.Errorf("since an hour ahead = %v; want none", types(got))
	}
	if got := e.eventsOf("/admin/events?until="+future, 500, admin); len(got) != len(all) {
		t.Errorf("until an hour ahead = %d events; want all %d", len(got), len(all))
	}

	// A user sees their own events only.
	aliceTok := bearerHeader(e.login("alice", "alice password 2")["access_token"])
	mine := e.eventsOf("/me/events", 100, aliceTok)
	if len(mine) == 0 {
		t.Fatal("GET /me/events is empty")
	}
	for _, ev := range mine {
		if ev["user_id"] != alice {
			t.Errorf("GET /me/events shows %v; want alice's events only", ev)
		}
	}

	// Nothing secret in any event.
	raw := e.do(http.MethodGet, "/admin/events?limit=500", nil, admin).body
	for _, secret := range []string{"alice password", "wrong password", "whatever 1", "bobs password", tok["access_token"].(string), tok["refresh_token"].(string)} {
		if strings.Contains(string(raw), secret) {
			t.Errorf("an event carries the secret %.12q...", secret)
		}
	}
}

func TestAuthEventsBadInput(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, nil)
	admin := bearerHeader(e.adminToken())
	e.signUp("alice", "alice password 1")
	alice := bearerHeader(e.login("alice", "alice password 1")["access_token"])
	for _, q := range []string{
		"type=bogus", "type=login.failed,nope", "limit=0", "limit=-1", "limit=100000", "limit=ten",
		"since=yesterday", "until=2026-13-01T00:00:00Z",
		"since=2026-12-02T00:00:00Z&until=2026-12-01T00:00:00Z",
	} {
		r := e.do(http.MethodGet, "/admin/events?"+q, nil, admin)
		if r.status != 400 || r.json(t)["error"] != "invalid_request" {
			t.Errorf("GET /admin/events?%s = %d %s; want 400 invalid_request", q, r.status, r.body)
		}
	}
	if r := e.do(http.MethodGet, "/me/events?limit=100000", nil, alice); r.status != 400 {
		t.Errorf("GET /me/events?limit=100000 = %d; want 400", r.status)
	}
	if r := e.do(http.MethodGet, "/admin/events", nil, alice); r.status != 403 {
		t.Errorf("GET /admin/events as a user = %d; want 403", r.status)
	}
	if r := e.do(http.MethodGet, "/me/events", nil, nil); r.status != 401 {
		t.Errorf("GET /me/events without a token = %d; want 401", r.status)
	}
}

func TestEventsCommand(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "gatehouse.db")
	mustRun := mustCLI(t, db)
	mustRun("correct horse battery\n", "user", "add", "root", "--role", "admin", "--password-stdin")
	mustRun("another fine password\n", "user", "add", "alice", "--password-stdin")
	mustRun("", "user", "disable", "alice")
	mustRun("", "user", "delete", "alice")

	lines := strings.Split(strings.TrimSpace(mustRun("", "events")), "\n")
	var got []string
	for _, l := range lines {
		var ev map[string]any
		if err := json.Unmarshal([]byte(l), &ev); err != nil {
			t.Fatalf("line %q is not a JSON object: %v", l, err)
		}
		if a, _ := ev["actor"].(map[string]any); a["type"] != "cli" {
			t.Errorf("event %v; want actor cli", ev)
		}
		got = append(got, ev["type"].(string))
	}
	if want := []string{"user.deleted", "user.disabled", "user.created", "user.created"}; !slices.Equal(got, want) {
		t.Errorf("gatehouse events = %v; want %v (newest first)", got, want)
	}
	// A deleted user's events stay, found by their id; --limit and --type.
	if out := mustRun("", "events", "--type", "user.created", "--limit", "1"); strings.Count(out, "\n") != 1 || !strings.Contains(out, `"user.created"`) {
		t.Errorf("--type user.created --limit 1 = %q; want one line", out)
	}
	if out := mustRun("", "events", "--since", "1h", "--type", "user.disabled,user.deleted"); strings.Count(out, "\n") != 2 {
		t.Errorf("--since 1h --type user.disabled,user.deleted = %q; want two lines", out)
	}
	if out := mustRun("", "events", "--user", "root"); strings.Count(out, "\n") != 1 {
		t.Errorf("--user root = %q; want root's one event", out)
	}
	for _, bad := range [][]string{{"events", "--type", "nope"}, {"events", "--since", "soon"}, {"events", "--limit", "0"}} {
		if _, errOut, code := cli(t, db, "", bad...); code == 0 || !strings.Contains(errOut, bad[1]) {
			t.Errorf("gatehouse %v = exit %d %q; want a failure naming %s", bad, code, errOut, bad[1])
		}
	}
}
