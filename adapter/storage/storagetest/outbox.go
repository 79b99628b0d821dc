package storagetest

import (
	"slices"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/domain"
	"github.com/gatehouse-auth/gatehouse/internal/testkit"
)

// testClaims walks deliveries through claims, lapsed leases and each
// outcome.
func testClaims(newStores factory) func(*testing.T) {
	return func(t *testing.T) {
		t.Parallel()
		s := newStores(t)
		w := newWebhook("w0001", at(0))
		mustCreateWebhook(t, s, w)
		var events []domain.Event
		for i := range 4 {
			e := newEvent(i+1, domain.EventLoginFailed, "u0001", at(time.Duration(i+1)*time.Minute))
			e.IP, e.Details = "192.0.2.1", domain.EventDetails{Username: "alice", Reason: "invalid_credentials"}
			events = append(events, e)
		}
		mustAppend(t, s, events...)

		if jobs := mustClaim(t, s, at(0), 10, "early"); len(jobs) != 0 {
			t.Errorf("ClaimDeliveries before any is due = %v; want none", jobEvents(jobs))
		}
		now := at(10 * time.Minute)
		a := mustClaim(t, s, now, 2, "A")
		wantJobs := []domain.DeliveryJob{
			{Delivery: queued("w0001", events[0]), URL: w.URL, Secret: w.Secret, Event: events[0], Claim: "A"},
			{Delivery: queued("w0001", events[1]), URL: w.URL, Secret: w.Secret, Event: events[1], Claim: "A"},
		}
		if d := mismatch(a, wantJobs, storeAssignedID); d != "" {
			t.Fatalf("ClaimDeliveries(A): oldest first, with webhook and event (-want +got):\n%s", d)
		}
		b := mustClaim(t, s, now, 10, "B")
		if got := jobEvents(b); !slices.Equal(got, eventIDs(events[2:])) {
			t.Errorf("ClaimDeliveries(B) = %v; want the two A does not hold, %v", got, eventIDs(events[2:]))
		}
		if jobs := mustClaim(t, s, now.Add(time.Minute-time.Microsecond), 10, "C"); len(jobs) != 0 {
			t.Errorf("ClaimDeliveries while the leases hold = %v; want none", jobEvents(jobs))
		}
		// A's lease lapses; C takes A's deliveries (B's are finished first).
		for _, j := range b {
			testkit.WantErr(t, "FinishDelivery(B)", s.FinishDelivery(ctx(t), domain.DeliveryResult{
				DeliveryID: j.Delivery.ID, Claim: "B", At: now.Add(time.Second), Status: domain.DeliveryDelivered, StatusCode: 204,
			}), nil)
		}
		c := mustClaim(t, s, now.Add(time.Minute), 10, "C")
		if got := jobEvents(c); !slices.Equal(got, eventIDs(events[:2])) {
			t.Fatalf("ClaimDeliveries after A's lease lapsed = %v; want A's, %v", got, eventIDs(events[:2]))
		}
		stale := domain.DeliveryResult{DeliveryID: a[0].Delivery.ID, Claim: "A", At: now.Add(time.Minute), Status: domain.DeliveryDelivered, StatusCode: 200}
		testkit.WantErr(t, "FinishDelivery(stale claim)", s.FinishDelivery(ctx(t), stale), domain.ErrConflict)
		testkit.WantErr(t, "FinishDelivery(unknown)", s.FinishDelivery(ctx(t), domain.DeliveryResult{DeliveryID: "nope", Claim: "C", At: now}), domain.ErrNotFound)

		// C's first attempt fails and is retried later; its second gives up.
		retry := domain.DeliveryResult{
			DeliveryID: c[0].Delivery.ID, Claim: "C", At: elsewhere(now.Add(2 * time.Minute)), Status: domain.DeliveryPending,
			StatusCode: 503, Error: "503 Service Unavailable", NextAttemptAt: now.Add(time.Hour),
		}
		testkit.WantErr(t, "FinishDelivery(retry)", s.FinishDelivery(ctx(t), retry), nil)
		testkit.WantErr(t, "FinishDelivery(same claim again)", s.FinishDelivery(ctx(t), retry), domain.ErrConflict)
		failed := domain.DeliveryResult{DeliveryID: c[1].Delivery.ID, Claim: "C", At: now.Add(3 * time.Minute), Status: domain.DeliveryFailed, Error: "connection refused"}
		testkit.WantErr(t, "FinishDelivery(failed)", s.FinishDelivery(ctx(t), failed), nil)

		want := []domain.Delivery{
			{ID: b[1].Delivery.ID, WebhookID: "w0001", EventID: events[3].ID, EventTime: events[3].Time, Status: domain.DeliveryDelivered, Attempts: 1, LastStatusCode: 204, NextAttemptAt: events[3].Time, UpdatedAt: now.Add(time.Second)},
			{ID: b[0].Delivery.ID, WebhookID: "w0001", EventID: events[2].ID, EventTime: events[2].Time, Status: domain.DeliveryDelivered, Attempts: 1, LastStatusCode: 204, NextAttemptAt: events[2].Time, UpdatedAt: now.Add(time.Second)},
			{ID: c[1].Delivery.ID, WebhookID: "w0001", EventID: events[1].ID, EventTime: events[1].Time, Status: domain.DeliveryFailed, Attempts: 1, LastError: "connection refused", NextAttemptAt: events[1].Time, UpdatedAt: now.Add(3 * time.Minute)},
			{ID: c[0].Delivery.ID, WebhookID: "w0001", EventID: events[0].ID, EventTime: events[0].Time, Status: domain.DeliveryPending, Attempts: 1, LastStatusCode: 503, LastError: "503 Service Unavailable", NextAttemptAt: now.Add(time.Hour), UpdatedAt: now.Add(2 * time.Minute)},
		}
		covers(t, &want[3], "ID")
		if d := mismatch(mustDeliveries(t, s, "w0001"), want); d != "" {
			t.Errorf("ListDeliveries after the attempts (-want +got):\n%s", d)
		}
		st, err := s.OutboxStats(ctx(t))
		testkit.WantErr(t, "OutboxStats", err, nil)
		if d := mismatch(st, domain.OutboxStats{Pending: 1, OldestPending: events[0].Time}); d != "" {
			t.Errorf("OutboxStats (-want +got):\n%s", d)
		}
		// The retry is released but not due before its NextAttemptAt;
		// delivered and failed ones are never claimed again.
		if jobs := mustClaim(t, s, now.Add(time.Hour-time.Microsecond), 10, "D"); len(jobs) != 0 {
			t.Errorf("ClaimDeliveries before the retry is due = %v; want none", jobEvents(jobs))
		}
		d := mustClaim(t, s, now.Add(48*time.Hour), 10, "D")
		if got := jobEvents(d); !slices.Equal(got, []string{events[0].ID}) {
			t.Errorf("ClaimDeliveries when the retry is due = %v; want only the retry", got)
		}
		testkit.WantErr(t, "FinishDelivery(D)", s.FinishDelivery(ctx(t), domain.DeliveryResult{DeliveryID: d[0].Delivery.ID, Claim: "D", At: now.Add(48 * time.Hour), Status: domain.DeliveryDelivered, StatusCode: 200}), nil)
		st, err = s.OutboxStats(ctx(t))
		if err != nil || st.Pending != 0 || !st.OldestPending.IsZero() {
			t.Errorf("OutboxStats with nothing pending = %+v, %v; want zero", st, err)
		}
	}
}
