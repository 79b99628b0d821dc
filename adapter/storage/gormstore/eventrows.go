package gormstore

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse/domain"
)

// The rows of the auth-event tables: events, webhooks and their deliveries
// (the encodings are rows.go's).

type eventRow struct {
	ID        string    `gorm:"column:id;primaryKey"`
	Time      time.Time `gorm:"column:time"`
	Type      string    `gorm:"column:type"`
	UserID    string    `gorm:"column:user_id"`
	ActorType string    `gorm:"column:actor_type"`
	ActorID   string    `gorm:"column:actor_id"`
	IP        string    `gorm:"column:ip"`
	UserAgent string    `gorm:"column:user_agent"`
	RequestID string    `gorm:"column:request_id"`
	SessionID string    `gorm:"column:session_id"`
	Details   string    `gorm:"column:details"`
}

func (eventRow) TableName() string { return "events" }

func toEventRow(e *domain.Event) (eventRow, error) {
	d := e.Details
	if d.Until != nil {
		u := d.Until.UTC()
		d.Until = &u
	}
	details, err := json.Marshal(d)
	return eventRow{
		ID: e.ID, Time: utc(e.Time), Type: string(e.Type), UserID: e.UserID,
		ActorType: string(e.Actor.Type), ActorID: e.Actor.ID,
		IP: e.IP, UserAgent: e.UserAgent, RequestID: e.RequestID, SessionID: e.SessionID,
		Details: string(details),
	}, err
}

func (r *eventRow) toDomain() (domain.Event, error) {
	var d domain.EventDetails
	if r.Details != "" {
		if err := json.Unmarshal([]byte(r.Details), &d); err != nil {
			return domain.Event{}, err
		}
	}
	if d.Until != nil {
		u := d.Until.UTC()
		d.Until = &u
	}
	return domain.Event{
		ID: r.ID, Time: utc(r.Time), Type: domain.EventType(r.Type), UserID: r.UserID,
		Actor: domain.Actor{Type: domain.ActorType(r.ActorType), ID: r.ActorID},
		IP:    r.IP, UserAgent: r.UserAgent, RequestID: r.RequestID, SessionID: r.SessionID,
		Details: d,
	}, nil
}

type webhookRow struct {
	ID        string    `gorm:"column:id;primaryKey"`
	URL       string    `gorm:"column:url"`
	Events    string    `gorm:"column:events"`
	Secret    string    `gorm:"column:secret"`
	CreatedAt time.Time `gorm:"column:created_at;autoCreateTime:false"`
}

func (webhookRow) TableName() string { return "webhooks" }

// encodeTypes stores a webhook's event types as " a b ": every type with a
// space on each side, so SQL finds one with a substring search for
// " type ". No types (every type) is "".
func encodeTypes(types []domain.EventType) string {
	if len(types) == 0 {
		return ""
	}
	var b strings.Builder
	for _, t := range types {
		b.WriteString(" ")
		b.WriteString(string(t))
	}
	b.WriteString(" ")
	return b.String()
}

// decodeTypes reads encodeTypes's text; "" becomes nil.
func decodeTypes(s string) []domain.EventType {
	var out []domain.EventType
	for _, f := range strings.Fields(s) {
		out = append(out, domain.EventType(f))
	}
	return out
}

func toWebhookRow(w *domain.Webhook) webhookRow {
	return webhookRow{ID: w.ID, URL: w.URL, Events: encodeTypes(w.Events), Secret: w.Secret, CreatedAt: utc(w.CreatedAt)}
}

func (r *webhookRow) toDomain() domain.Webhook {
	return domain.Webhook{ID: r.ID, URL: r.URL, Events: decodeTypes(r.Events), Secret: r.Secret, CreatedAt: utc(r.CreatedAt)}
}

type deliveryRow struct {
	ID             string     `gorm:"column:id;primaryKey"`
	WebhookID      string     `gorm:"column:webhook_id"`
	EventID        string     `gorm:"column:event_id"`
	EventTime      time.Time  `gorm:"column:event_time"`
	Status         string     `gorm:"column:status"`
	Attempts       int64      `gorm:"column:attempts"`
	LastStatusCode int64      `gorm:"column:last_status_code"`
	LastError      string     `gorm:"column:last_error"`
	NextAttemptAt  time.Time  `gorm:"column:next_attempt_at"`
	Claim          string     `gorm:"column:claim"`
	ClaimedUntil   *time.Time `gorm:"column:claimed_until"`
	UpdatedAt      time.Time  `gorm:"column:updated_at;autoUpdateTime:false"`
}

func (deliveryRow) TableName() string { return "deliveries" }

func (r *deliveryRow) toDomain() domain.Delivery {
	return domain.Delivery{
		ID: r.ID, WebhookID: r.WebhookID, EventID: r.EventID, EventTime: utc(r.EventTime),
		Status: domain.DeliveryStatus(r.Status), Attempts: int(r.Attempts), LastStatusCode: int(r.LastStatusCode),
		LastError: r.LastError, NextAttemptAt: utc(r.NextAttemptAt), UpdatedAt: utc(r.UpdatedAt),
	}
}
