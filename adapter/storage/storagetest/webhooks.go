package storagetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/gatehouse-auth/gatehouse/domain"
	"github.com/gatehouse-auth/gatehouse/internal/testkit"
)

// newWebhook returns a webhook fixture for every event type.
func newWebhook(id string, created time.Time) *domain.Webhook {
	return &domain.Webhook{ID: id, URL: "https://hooks.example.com/" + id, Secret: "whsec_c2VjcmV0LQ" + id, CreatedAt: created}
}

func mustCreateWebhook(t *testing.T, s Stores, w *domain.Webhook) {
	t.Helper()
	testkit.WantErr(t, fmt.Sprintf("CreateWebhook(%q)", w.ID), s.CreateWebhook(ctx(t), w, domain.MaxWebhooks), nil)
}

// storeAssignedID ignores the id a store gives a delivery.
var storeAssignedID = cmpopts.IgnoreFields(domain.Delivery{}, "ID")

// queued is the delivery of e to webhookID as the event write queues it.
func queued(webhookID string, e domain.Event) domain.Delivery {
	return domain.Delivery{WebhookID: webhookID, EventID: e.ID, EventTime: e.Time, Status: domain.DeliveryPending, NextAttemptAt: e.Time, UpdatedAt: e.Time}
}

func mustDeliveries(t *testing.T, s Stores, webhookID string) []domain.Delivery {
	t.Helper()
	ds, err := s.ListDeliveries(ctx(t), webhookID, 0)
	testkit.WantErr(t, fmt.Sprintf("ListDeliveries(%q)", webhookID), err, nil)
	return ds
}

func mustClaim(t *testing.T, s Stores, now time.Time, limit int, token string) []domain.DeliveryJob {
	t.Helper()
	jobs, err := s.ClaimDeliveries(ctx(t), domain.DeliveryClaim{Now: now, Lease: time.Minute, Limit: limit, Token: token})
	testkit.WantErr(t, "ClaimDeliveries("+token+")", err, nil)
	return jobs
}

// jobEvents returns the event ids of jobs, in order.
func jobEvents(jobs []domain.DeliveryJob) []string {
	ids := make([]string, len(jobs))
	for i, j := range jobs {
		ids[i] = j.Delivery.EventID
	}
	return ids
}

func testWebhooks(t *testing.T, newStores factory) {
	t.Run("create, list, delete, limit", func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		w1 := newWebhook("w0001", elsewhere(at(time.Hour)))
		w1.Events = []domain.EventType{domain.EventLoginFailed, domain.EventAPIKeyCreated}
		covers(t, w1)
		w2 := newWebhook("w0002", at(0))
		mustCreateWebhook(t, s, w1)
		mustCreateWebhook(t, s, w2)
		w1.Events[0] = domain.EventLoginFailed
		list, err := s.ListWebhooks(ctx(t))
		testkit.WantErr(t, "ListWebhooks", err, nil)
		if d := mismatch(list, []domain.Webhook{*w2, *w1}); d != "" {
			t.Errorf("ListWebhooks: oldest first (-want +got):\n%s", d)
		}
		testkit.WantErr(t, "CreateWebhook(taken id)", s.CreateWebhook(ctx(t), newWebhook("w0001", at(0)), 10), domain.ErrConflict)
		testkit.WantErr(t, "CreateWebhook(at the limit)", s.CreateWebhook(ctx(t), newWebhook("w0003", at(0)), 2), domain.ErrTooManyWebhooks)
		testkit.WantErr(t, "DeleteWebhook", s.DeleteWebhook(ctx(t), "w0002"), nil)
		testkit.WantErr(t, "DeleteWebhook(again)", s.DeleteWebhook(ctx(t), "w0002"), domain.ErrNotFound)
		_, err = s.ListDeliveries(ctx(t), "w0002", 10)
		testkit.WantErr(t, "ListDeliveries(deleted webhook)", err, domain.ErrNotFound)
		testkit.WantErr(t, "CreateWebhook(below the limit again)", s.CreateWebhook(ctx(t), newWebhook("w0003", at(0)), 2), nil)
	})

	t.Run("creations racing at the limit", func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		const n, max = 12, 5
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { errs[i] = s.CreateWebhook(ctx(t), newWebhook(fmt.Sprintf("w%04d", i), at(0)), max) })
		}
		wg.Wait()
		created := 0
		for i, err := range errs {
			switch {
			case err == nil:
				created++
			case !errors.Is(err, domain.ErrTooManyWebhooks):
				t.Errorf("CreateWebhook #%d = %v; want nil or ErrTooManyWebhooks", i, err)
			}
		}
		list, err := s.ListWebhooks(ctx(t))
		if err != nil || created != max || len(list) != max {
			t.Errorf("%d racing creations: %d succeeded, %d stored (%v); want %d", n, created, len(list), err, max)
		}
	})

	t.Run("deliveries go to wanting webhooks, for later events only", func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		early := newEvent(1, domain.EventLoginFailed, "", at(0))
		mustAppend(t, s, early)
		all := newWebhook("w0001", at(time.Minute))
		some := newWebhook("w0002", at(time.Minute))
		some.Events = []domain.EventType{domain.EventLoginFailed, domain.EventAPIKeyCreated}
		mustCreateWebhook(t, s, all)
		mustCreateWebhook(t, s, some)
		e2 := newEvent(2, domain.EventLoginFailed, "u0001", elsewhere(at(2*time.Minute)))
		e3 := newEvent(3, domain.EventLoginSucceeded, "u0001", at(3*time.Minute))
		e4 := newEvent(4, domain.EventAPIKeyRevoked, "u0001", at(4*time.Minute))
		mustAppend(t, s, e2, e3, e4)
		e5 := newEvent(5, domain.EventUserCreated, "u0002", at(5*time.Minute))
		testkit.WantErr(t, "CreateUser", s.CreateUser(ctx(t), &domain.User{ID: "u0002", Username: "bob", PasswordHash: "h", CreatedAt: at(0), UpdatedAt: at(0)}, []domain.Event{e5}), nil)
		mustCreateUser(t, s, "u0001", "alice")
		e6 := newEvent(6, domain.EventAPIKeyCreated, "u0001", at(6*time.Minute))
		testkit.WantErr(t, "CreateAPIKey", s.CreateAPIKey(ctx(t), newKey("u0001", "k0001", at(0)), 10, []domain.Event{e6}), nil)

		want := map[string][]domain.Delivery{
			"w0001": {queued("w0001", e6), queued("w0001", e5), queued("w0001", e4), queued("w0001", e3), queued("w0001", e2)},
			"w0002": {queued("w0002", e6), queued("w0002", e2)},
		}
		ids := map[string]bool{}
		for w, wantDs := range want {
			got := mustDeliveries(t, s, w)
			if d := mismatch(got, wantDs, storeAssignedID); d != "" {
				t.Errorf("ListDeliveries(%q): newest event first (-want +got):\n%s", w, d)
			}
			for _, d := range got {
				if d.ID == "" || ids[d.ID] {
					t.Errorf("delivery id %q: want a unique, non-empty id", d.ID)
				}
				ids[d.ID] = true
			}
		}
		got, err := s.ListDeliveries(ctx(t), "w0001", 2)
		testkit.WantErr(t, "ListDeliveries(limit 2)", err, nil)
		if d := mismatch(got, want["w0001"][:2], storeAssignedID); d != "" {
			t.Errorf("ListDeliveries(limit 2) (-want +got):\n%s", d)
		}
		st, err := s.OutboxStats(ctx(t))
		testkit.WantErr(t, "OutboxStats", err, nil)
		if d := mismatch(st, domain.OutboxStats{Pending: 7, OldestPending: e2.Time}); d != "" {
			t.Errorf("OutboxStats (-want +got):\n%s", d)
		}
	})

	t.Run("claim, lease and finish", testClaims(newStores))

	t.Run("concurrent claims never share a delivery", func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		for _, id := range []string{"w0001", "w0002", "w0003"} {
			mustCreateWebhook(t, s, newWebhook(id, at(0)))
		}
		var events []domain.Event
		for i := range 40 {
			events = append(events, newEvent(i+1, domain.EventLoginFailed, "", at(time.Duration(i)*time.Second)))
		}
		mustAppend(t, s, events...)
		const claimers, total = 20, 120
		got := make([][]string, claimers)
		var wg sync.WaitGroup
		for i := range claimers {
			wg.Go(func() {
				for round := 0; ; round++ {
					jobs, err := s.ClaimDeliveries(ctx(t), domain.DeliveryClaim{Now: at(time.Hour), Lease: time.Hour, Limit: 3, Token: fmt.Sprintf("claimer-%d-%d", i, round)})
					if err != nil {
						t.Errorf("ClaimDeliveries = %v", err)
						return
					}
					if len(jobs) == 0 {
						return
					}
					for _, j := range jobs {
						got[i] = append(got[i], j.Delivery.ID)
					}
				}
			})
		}
		wg.Wait()
		seen := map[string]int{}
		for i, ids := range got {
			for _, id := range ids {
				if prev, ok := seen[id]; ok {
					t.Errorf("delivery %s claimed by claimer %d and by claimer %d", id, prev, i)
				}
				seen[id] = i
			}
		}
		if len(seen) != total {
			t.Errorf("%d deliveries claimed; want all %d", len(seen), total)
		}
	})

	t.Run("deleting a webhook removes its deliveries", func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		mustCreateWebhook(t, s, newWebhook("w0001", at(0)))
		mustCreateWebhook(t, s, newWebhook("w0002", at(0)))
		e1 := newEvent(1, domain.EventLoginFailed, "", at(time.Minute))
		mustAppend(t, s, e1)
		testkit.WantErr(t, "DeleteWebhook", s.DeleteWebhook(ctx(t), "w0001"), nil)
		st, err := s.OutboxStats(ctx(t))
		if err != nil || st.Pending != 1 {
			t.Errorf("OutboxStats after DeleteWebhook = %+v, %v; want 1 pending (w0002's)", st, err)
		}
		jobs := mustClaim(t, s, at(time.Hour), 10, "c1")
		if len(jobs) != 1 || jobs[0].Delivery.WebhookID != "w0002" {
			t.Errorf("claimed %+v; want only w0002's delivery", jobs)
		}
		// A webhook made again with the old id starts with no deliveries.
		mustCreateWebhook(t, s, newWebhook("w0001", at(2*time.Minute)))
		if ds := mustDeliveries(t, s, "w0001"); len(ds) != 0 {
			t.Errorf("deliveries of a re-created webhook: %+v; want none", ds)
		}
	})
}
