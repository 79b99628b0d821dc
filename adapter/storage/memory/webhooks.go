package memory

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/gatehouse-auth/gatehouse/domain"
)

func cloneWebhook(w domain.Webhook) domain.Webhook {
	if len(w.Events) == 0 {
		w.Events = nil
	} else {
		w.Events = slices.Clone(w.Events)
	}
	return w
}

// CreateWebhook stores a copy of w while fewer than max webhooks exist;
// ErrTooManyWebhooks at the limit, ErrConflict if the id is taken.
func (s *Store) CreateWebhook(ctx context.Context, w *domain.Webhook, max int) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.webhooks) >= max {
		return fmt.Errorf("create webhook %s: %w", w.ID, domain.ErrTooManyWebhooks)
	}
	if _, ok := s.webhooks[w.ID]; ok {
		return fmt.Errorf("create webhook %s: %w", w.ID, domain.ErrConflict)
	}
	s.webhooks[w.ID] = cloneWebhook(*w)
	return nil
}

// ListWebhooks returns copies of every webhook, oldest first (ties by id).
func (s *Store) ListWebhooks(ctx context.Context) ([]domain.Webhook, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]domain.Webhook, 0, len(s.webhooks))
	for _, w := range s.webhooks {
		out = append(out, cloneWebhook(w))
	}
	slices.SortFunc(out, func(a, b domain.Webhook) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
	})
	return out, nil
}

// DeleteWebhook removes the webhook and its deliveries; ErrNotFound if
// absent.
func (s *Store) DeleteWebhook(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.webhooks[id]; !ok {
		return fmt.Errorf("delete webhook %s: %w", id, domain.ErrNotFound)
	}
	delete(s.webhooks, id)
	for did, d := range s.deliveries {
		if d.WebhookID == id {
			delete(s.deliveries, did)
		}
	}
	return nil
}

// ListDeliveries returns up to limit deliveries of the webhook, newest
// event first (ties by event id, descending); ErrNotFound if there is no
// such webhook. A limit of zero or less means no limit.
func (s *Store) ListDeliveries(ctx context.Context, webhookID string, limit int) ([]domain.Delivery, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.webhooks[webhookID]; !ok {
		return nil, fmt.Errorf("list deliveries of webhook %s: %w", webhookID, domain.ErrNotFound)
	}
	var out []domain.Delivery
	for _, d := range s.deliveries {
		if d.WebhookID == webhookID {
			out = append(out, d.Delivery)
		}
	}
	slices.SortFunc(out, func(a, b domain.Delivery) int {
		return cmp.Or(b.EventTime.Compare(a.EventTime), cmp.Compare(b.EventID, a.EventID))
	})
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// ClaimDeliveries claims up to c.Limit due deliveries under the lock,
// oldest NextAttemptAt first (ties by id).
func (s *Store) ClaimDeliveries(ctx context.Context, c domain.DeliveryClaim) ([]domain.DeliveryJob, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if c.Limit <= 0 {
		return nil, nil
	}
	if c.Token == "" {
		return nil, fmt.Errorf("claim deliveries: empty claim token: %w", domain.ErrConflict)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var due []*delivery
	for _, d := range s.deliveries {
		if d.Status == domain.DeliveryPending && !d.NextAttemptAt.After(c.Now) &&
			(d.claimedUntil.IsZero() || !d.claimedUntil.After(c.Now)) {
			due = append(due, d)
		}
	}
	slices.SortFunc(due, func(a, b *delivery) int {
		return cmp.Or(a.NextAttemptAt.Compare(b.NextAttemptAt), cmp.Compare(a.ID, b.ID))
	})
	if len(due) > c.Limit {
		due = due[:c.Limit]
	}
	out := make([]domain.DeliveryJob, 0, len(due))
	for _, d := range due {
		d.claim, d.claimedUntil = c.Token, c.Now.Add(c.Lease)
		w := s.webhooks[d.WebhookID]
		out = append(out, domain.DeliveryJob{
			Delivery: d.Delivery, URL: w.URL, Secret: w.Secret, Event: cloneEvent(s.events[d.EventID]), Claim: c.Token,
		})
	}
	return out, nil
}

// FinishDelivery records the attempt r and releases the claim, if the
// delivery is still claimed with r.Claim (else ErrConflict); ErrNotFound if
// it is gone. A zero r.NextAttemptAt leaves NextAttemptAt as it was.
func (s *Store) FinishDelivery(ctx context.Context, r domain.DeliveryResult) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.deliveries[r.DeliveryID]
	switch {
	case !ok:
		return fmt.Errorf("finish delivery %s: %w", r.DeliveryID, domain.ErrNotFound)
	case d.claim == "" || d.claim != r.Claim:
		return fmt.Errorf("finish delivery %s: claim lost: %w", r.DeliveryID, domain.ErrConflict)
	}
	d.Attempts++
	d.Status, d.LastStatusCode, d.LastError, d.UpdatedAt = r.Status, r.StatusCode, r.Error, r.At
	if !r.NextAttemptAt.IsZero() {
		d.NextAttemptAt = r.NextAttemptAt
	}
	d.claim, d.claimedUntil = "", time.Time{}
	return nil
}

// OutboxStats counts the pending deliveries.
func (s *Store) OutboxStats(ctx context.Context) (domain.OutboxStats, error) {
	if err := ctx.Err(); err != nil {
		return domain.OutboxStats{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var st domain.OutboxStats
	for _, d := range s.deliveries {
		if d.Status != domain.DeliveryPending {
			continue
		}
		st.Pending++
		if st.OldestPending.IsZero() || d.EventTime.Before(st.OldestPending) {
			st.OldestPending = d.EventTime
		}
	}
	return st, nil
}
