package main

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/adapter/storage/memory"
	"github.com/gatehouse-auth/gatehouse/domain"
	"github.com/gatehouse-auth/gatehouse/usecase"
)

// TestPageLimits: every paged list follows one rule (usecase): no limit is
// the default page, a limit up to the list's maximum is served, and any
// other (0, negative, too large, not a number) is 400 invalid_request with
// the list's bounds as the message: never a 500, never silently changed,
// and never a second wording from the HTTP layer.
func TestPageLimits(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, nil)
	admin := bearerHeader(e.adminToken())
	lists := []struct {
		path string
		most string
	}{
		{"/admin/users", "500"},
		{"/admin/events", "500"},
		{"/me/events", "500"},
		{"/oauth/revocations", "1000"},
	}
	for _, l := range lists {
		for _, q := range []string{"", "?limit=", "?limit=1", "?limit=" + l.most} {
			if r := e.do(http.MethodGet, l.path+q, nil, admin); r.status != http.StatusOK {
				t.Errorf("GET %s%s = %d %s; want 200", l.path, q, r.status, r.body)
			}
		}
		over := map[string]string{"500": "501", "1000": "1001"}[l.most]
		for _, v := range []string{"0", "-1", over, "ten", "99999999999999999999"} {
			path := l.path + "?limit=" + v
			r := e.do(http.MethodGet, path, nil, admin)
			if r.status != http.StatusBadRequest {
				t.Errorf("GET %s = %d %s; want 400", path, r.status, r.body)
				continue
			}
			want := "limit must be between 1 and " + l.most
			if b := r.json(t); b["error"] != "invalid_request" || b["message"] != want {
				t.Errorf("GET %s = %s; want invalid_request %q", path, r.body, want)
			}
		}
	}
}

// TestEventsCommandPages: "gatehouse events" reads the use case's pages
// one after another and stops at --limit, whatever the page size.
func TestEventsCommandPages(t *testing.T) {
	t.Parallel()
	st := memory.New()
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	evs := make([]domain.Event, 250)
	for i := range evs {
		evs[i] = domain.Event{ID: fmt.Sprintf("event-%04d", i), Time: now.Add(time.Duration(i) * time.Second), Type: domain.EventLoginSucceeded, UserID: "u1"}
	}
	if err := st.AppendEvents(t.Context(), evs); err != nil {
		t.Fatal(err)
	}
	events := usecase.NewEvents(st, 0, func() time.Time { return now }, nil)
	for _, tt := range []struct{ limit, want int }{{1, 1}, {230, 230}, {1000, 250}} {
		var out bytes.Buffer
		if err := printEvents(t.Context(), env{stdout: &out}, events, usecase.EventListInput{}, tt.limit); err != nil {
			t.Fatalf("printEvents(limit %d) = %v", tt.limit, err)
		}
		lines := strings.Split(strings.TrimSpace(out.String()), "\n")
		if len(lines) != tt.want || !strings.Contains(lines[0], "event-0249") {
			t.Errorf("printEvents(limit %d) = %d lines starting %.60s; want %d, newest first", tt.limit, len(lines), lines[0], tt.want)
		}
	}
}
