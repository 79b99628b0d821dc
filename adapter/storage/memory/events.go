package memory

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"time"

	"github.com/gatehouse-auth/gatehouse/domain"
)

// delivery is an outbox row with its claim, which the domain type does not
// show.
type delivery struct {
	domain.Delivery
	claim        string
	claimedUntil time.Time
}

// cloneEvent copies e; empty lists become nil.
func cloneEvent(e domain.Event) domain.Event {
	e.Details.Roles = cloneStrings(e.Details.Roles)
	e.Details.PreviousRoles = cloneStrings(e.Details.PreviousRoles)
	if e.Details.Until != nil {
		until := *e.Details.Until
		e.Details.Until = &until
	}
	return e
}

// checkEvents reports ErrConflict if an event id is taken or repeated, so
// that a change can refuse before it alters anything; the caller holds
// s.mu.
func (s *Store) checkEvents(events []domain.Event) error {
	seen := make(map[string]bool, len(events))
	for _, e := range events {
		if _, ok := s.events[e.ID]; ok || seen[e.ID] {
			return fmt.Errorf("write event %s: %w", e.ID, domain.ErrConflict)
		}
		seen[e.ID] = true
	}
	return nil
}

// addEvents stores events checked by checkEvents and queues one delivery
// per event and webhook that wants its type; the caller holds s.mu.
func (s *Store) addEvents(events []domain.Event) {
	for _, e := range events {
		s.events[e.ID] = cloneEvent(e)
		for _, w := range s.webhooks {
			if !w.Wants(e.Type) {
				continue
			}
			d := domain.Delivery{
				ID: newDeliveryID(), WebhookID: w.ID, EventID: e.ID, EventTime: e.Time,
				Status: domain.DeliveryPending, NextAttemptAt: e.Time, UpdatedAt: e.Time,
			}
			s.deliveries[d.ID] = &delivery{Delivery: d}
		}
	}
}

// newDeliveryID returns 128 random bits in hex.
func newDeliveryID() string {
	var b [16]byte
	rand.Read(b[:]) // never fails: crypto/rand crashes the program instead (Go 1.24+)
	return hex.EncodeToString(b[:])
}

// AppendEvents stores copies of events and queues their deliveries under
// the lock; ErrConflict if an event id is taken (nothing is written then).
func (s *Store) AppendEvents(ctx context.Context, events []domain.Event) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.checkEvents(events); err != nil {
		return err
	}
	s.addEvents(events)
	return nil
}

// ListEvents returns copies of up to q.Limit events selected by q, newest
// first (ID descending). A limit of zero or less means no limit.
func (s *Store) ListEvents(ctx context.Context, q domain.EventQuery) ([]domain.Event, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []domain.Event
	for _, e := range s.events {
		if selects(q, e) {
			out = append(out, e)
		}
	}
	slices.SortFunc(out, func(a, b domain.Event) int { return cmp.Compare(b.ID, a.ID) })
	if q.Limit > 0 && len(out) > q.Limit {
		out = out[:q.Limit]
	}
	for i := range out {
		out[i] = cloneEvent(out[i])
	}
	return out, nil
}

// selects reports whether q keeps e.
func selects(q domain.EventQuery, e domain.Event) bool {
	switch {
	case len(q.Types) > 0 && !slices.Contains(q.Types, e.Type),
		q.UserID != "" && e.UserID != q.UserID,
		!q.Since.IsZero() && e.Time.Before(q.Since),
		!q.Until.IsZero() && !e.Time.Before(q.Until),
		q.Before != "" && e.ID >= q.Before:
		return false
	}
	return true
}

// PruneEvents deletes the events whose Time is before before, with their
// deliveries, and returns how many events it deleted.
func (s *Store) PruneEvents(ctx context.Context, before time.Time) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var n int64
	for id, e := range s.events {
		if e.Time.Before(before) {
			delete(s.events, id)
			n++
		}
	}
	for id, d := range s.deliveries {
		if _, ok := s.events[d.EventID]; !ok {
			delete(s.deliveries, id)
		}
	}
	return n, nil
}
