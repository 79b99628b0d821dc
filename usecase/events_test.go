package usecase

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/domain"
	"github.com/gatehouse-auth/gatehouse/internal/testkit"
)

// seededEvents returns an Events over a store holding n events, one a
// second from epoch, alternating between users u1 and u2 and between
// login.failed and user.updated.
func seededEvents(t *testing.T, n int) (*Events, *fakeEventStore) {
	t.Helper()
	st := &fakeEventStore{}
	var events []domain.Event
	for i := range n {
		typ := domain.EventLoginFailed
		if i%2 == 1 {
			typ = domain.EventUserUpdated
		}
		events = append(events, newEvent(context.Background(), epoch.Add(time.Duration(i)*time.Second), typ, fmt.Sprintf("u%d", i%2+1), domain.Actor{}))
	}
	testkit.WantErr(t, "AppendEvents", st.AppendEvents(t.Context(), events), nil)
	return NewEvents(st, 0, newClock().Now, nil), st
}

func TestEventsListValidates(t *testing.T) {
	t.Parallel()
	ev, _ := seededEvents(t, 3)
	tests := []struct {
		name string
		in   EventListInput
	}{
		{"unknown type", EventListInput{Types: []string{"login.failed", "login.exploded"}}},
		{"negative limit", EventListInput{Limit: -1}},
		{"limit too large", EventListInput{Limit: 501}},
		{"since after until", EventListInput{Since: epoch.Add(time.Hour), Until: epoch}},
	}
	for _, tt := range tests {
		_, err := ev.List(t.Context(), tt.in)
		var ve *domain.ValidationError
		if !errors.As(err, &ve) || ve.Code != "invalid_request" {
			t.Errorf("List(%s) = %v; want invalid_request", tt.name, err)
		}
	}
	for name, c := range map[string]*domain.Claims{
		"no user":      {},
		"client token": {Subject: "c1", ClientID: "c1"},
	} {
		if _, err := ev.Mine(t.Context(), c, "", 0); !errors.Is(err, domain.ErrForbidden) {
			t.Errorf("Mine(%s) = %v; want ErrForbidden", name, err)
		}
	}
}

func TestEventsListPages(t *testing.T) {
	t.Parallel()
	ev, st := seededEvents(t, 7)
	var ids []string
	cursor := ""
	for range 5 {
		page, err := ev.List(t.Context(), EventListInput{Cursor: cursor, Limit: 3})
		testkit.WantErr(t, "List", err, nil)
		for _, e := range page.Events {
			ids = append(ids, e.ID)
		}
		if st.lastQ.Limit != 4 || st.lastQ.Before != cursor {
			t.Errorf("query = %+v; want limit 4 (one more than the page) before %q", st.lastQ, cursor)
		}
		if cursor = page.NextCursor; cursor == "" {
			break
		}
		if cursor != page.Events[len(page.Events)-1].ID {
			t.Errorf("NextCursor = %q; want the last id of the page", cursor)
		}
	}
	if len(ids) != 7 || !slices.IsSortedFunc(ids, func(a, b string) int { return strings.Compare(b, a) }) {
		t.Errorf("paged ids = %v; want all 7, newest first", ids)
	}

	// An exact page ends the list: no cursor to an empty page.
	page, err := ev.List(t.Context(), EventListInput{Limit: 7})
	testkit.WantErr(t, "List(7)", err, nil)
	if len(page.Events) != 7 || page.NextCursor != "" {
		t.Errorf("List(limit 7) of 7 = %d events, cursor %q; want 7 and none", len(page.Events), page.NextCursor)
	}
	if _, err := ev.List(t.Context(), EventListInput{}); err != nil || st.lastQ.Limit != eventPageDefault+1 {
		t.Errorf("List() = %v with limit %d; want the default page of %d", err, st.lastQ.Limit, eventPageDefault)
	}
}

func TestEventsFilters(t *testing.T) {
	t.Parallel()
	ev, st := seededEvents(t, 6)
	page, err := ev.List(t.Context(), EventListInput{Types: []string{"user.updated"}, UserID: "u2", Since: epoch.Add(2 * time.Second), Until: epoch.Add(5 * time.Second)})
	testkit.WantErr(t, "List(filtered)", err, nil)
	if len(page.Events) != 1 || !page.Events[0].Time.Equal(epoch.Add(3*time.Second)) {
		t.Errorf("List(filtered) = %+v; want the event at +3s", page.Events)
	}
	q := st.lastQ
	if !slices.Equal(q.Types, []domain.EventType{domain.EventUserUpdated}) || q.UserID != "u2" || !q.Since.Equal(epoch.Add(2*time.Second)) {
		t.Errorf("query = %+v; want the filters passed on", q)
	}
	mine, err := ev.Mine(t.Context(), &domain.Claims{Subject: "u1", SessionID: "s1"}, "", 0)
	testkit.WantErr(t, "Mine(u1)", err, nil)
	if len(mine.Events) != 3 || slices.ContainsFunc(mine.Events, func(e domain.Event) bool { return e.UserID != "u1" }) {
		t.Errorf("Mine(u1) = %+v; want u1's 3 events only", mine.Events)
	}
}

func TestEventsPrune(t *testing.T) {
	t.Parallel()
	st := &fakeEventStore{}
	clk := newClock()
	ev := NewEvents(st, 24*time.Hour, clk.Now, nil)
	jobs := ev.Jobs()
	if len(jobs) != 1 || jobs[0].Every != time.Hour {
		t.Fatalf("Jobs() = %+v; want one hourly job", jobs)
	}
	jobs[0].Run(t.Context())
	if len(st.pruned) != 1 || !st.pruned[0].Equal(epoch.Add(-24*time.Hour)) {
		t.Errorf("PruneEvents(before) = %v; want %v", st.pruned, epoch.Add(-24*time.Hour))
	}
	if NewEvents(st, 0, clk.Now, nil).retention != DefaultEventRetention {
		t.Error("NewEvents(retention 0) does not keep the default retention")
	}
}
