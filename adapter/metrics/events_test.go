package metrics_test

import (
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/adapter/metrics"
	"github.com/gatehouse-auth/gatehouse/domain"
)

// eventMetrics is the part of usecase.Metrics and usecase.DeliveryMetrics
// this file covers (an adapter does not import usecase; cmd's wiring checks
// the whole interfaces).
type eventMetrics interface {
	EventsWritten(t domain.EventType, n int)
	EventsDropped(n int)
	WebhookDelivery(outcome string)
	OutboxStats(stats domain.OutboxStats)
}

var _ eventMetrics = (*metrics.Metrics)(nil)

func TestEventAndWebhookMetrics(t *testing.T) {
	t.Parallel()
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	m := metrics.New(metrics.Sources{Now: func() time.Time { return now }})

	body := scrape(t, m)
	for _, series := range []string{
		`gatehouse_auth_events_total{type="login.failed"}`,
		`gatehouse_auth_events_total{type="mfa.recovery_code_used"}`,
		`gatehouse_auth_events_dropped_total`,
		`gatehouse_webhook_deliveries_total{outcome="lost_claim"}`,
		`gatehouse_webhook_outbox_pending`,
		`gatehouse_webhook_outbox_oldest_pending_seconds`,
	} {
		if v, ok := value(body, series); !ok || v != 0 {
			t.Errorf("before any report %s = %v (present %v); want 0", series, v, ok)
		}
	}

	m.EventsWritten(domain.EventLoginFailed, 3)
	m.EventsWritten(domain.EventLoginFailed, 2)
	m.EventsWritten(domain.EventUserCreated, 1)
	m.EventsWritten("made.up", 4)
	m.EventsWritten(domain.EventUserDeleted, 0)
	m.EventsDropped(7)
	m.WebhookDelivery("delivered")
	m.WebhookDelivery("delivered")
	m.WebhookDelivery("retry")
	m.WebhookDelivery("failed")
	m.WebhookDelivery("lost_claim")
	m.OutboxStats(domain.OutboxStats{Pending: 12, OldestPending: now.Add(-90 * time.Second)})

	body = scrape(t, m)
	want := map[string]float64{
		`gatehouse_auth_events_total{type="login.failed"}`:         5,
		`gatehouse_auth_events_total{type="user.created"}`:         1,
		`gatehouse_auth_events_total{type="other"}`:                4,
		`gatehouse_auth_events_total{type="user.deleted"}`:         0,
		`gatehouse_auth_events_dropped_total`:                      7,
		`gatehouse_webhook_deliveries_total{outcome="delivered"}`:  2,
		`gatehouse_webhook_deliveries_total{outcome="retry"}`:      1,
		`gatehouse_webhook_deliveries_total{outcome="failed"}`:     1,
		`gatehouse_webhook_deliveries_total{outcome="lost_claim"}`: 1,
		`gatehouse_webhook_outbox_pending`:                         12,
		`gatehouse_webhook_outbox_oldest_pending_seconds`:          90,
	}
	for series, w := range want {
		if v, ok := value(body, series); !ok || v != w {
			t.Errorf("%s = %v (present %v); want %v", series, v, ok, w)
		}
	}
	if _, ok := value(body, `gatehouse_auth_events_total{type="made.up"}`); ok {
		t.Error(`an unknown event type became a label: gatehouse_auth_events_total{type="made.up"}`)
	}

	m.OutboxStats(domain.OutboxStats{})
	body = scrape(t, m)
	for _, series := range []string{`gatehouse_webhook_outbox_pending`, `gatehouse_webhook_outbox_oldest_pending_seconds`} {
		if v, ok := value(body, series); !ok || v != 0 {
			t.Errorf("with nothing pending %s = %v (present %v); want 0", series, v, ok)
		}
	}
}
