package webhook

import (
	"encoding/json"
	"time"

	"github.com/gatehouse-auth/gatehouse/domain"
)

// Event is the public JSON object of an auth event (DESIGN.md "Sessions,
// devices and auth events"): the data of a webhook delivery, and the shape
// GET /admin/events can answer with. Empty fields are absent.
type Event struct {
	ID        string          `json:"id"`
	Time      string          `json:"time"`
	Type      string          `json:"type"`
	UserID    string          `json:"user_id,omitempty"`
	Actor     *Actor          `json:"actor,omitempty"`
	IP        string          `json:"ip,omitempty"`
	UserAgent string          `json:"user_agent,omitempty"`
	RequestID string          `json:"request_id,omitempty"`
	SessionID string          `json:"session_id,omitempty"`
	Details   json.RawMessage `json:"details,omitempty"`
}

// Actor is who caused an event: a type, and the user or client id where
// there is one.
type Actor struct {
	Type string `json:"type"`
	ID   string `json:"id,omitempty"`
}

// EventJSON returns the public JSON object of e. Times are RFC 3339 with
// nanoseconds, in UTC; the actor is absent when empty, and the details when
// none of their fields is set.
func EventJSON(e domain.Event) Event {
	out := Event{
		ID:        e.ID,
		Time:      FormatTime(e.Time),
		Type:      string(e.Type),
		UserID:    e.UserID,
		IP:        e.IP,
		UserAgent: e.UserAgent,
		RequestID: e.RequestID,
		SessionID: e.SessionID,
	}
	if e.Actor.Type != "" || e.Actor.ID != "" {
		out.Actor = &Actor{Type: string(e.Actor.Type), ID: e.Actor.ID}
	}
	d := e.Details
	if d.Until != nil {
		until := d.Until.UTC()
		d.Until = &until
	}
	// EventDetails carries its own JSON names and omitempty: whatever field
	// it grows is carried without a change here, and "{}" means none is set.
	if b, err := json.Marshal(d); err == nil && string(b) != "{}" {
		out.Details = b
	}
	return out
}

// FormatTime writes t as the events' JSON does: RFC 3339 with nanoseconds,
// in UTC.
func FormatTime(t time.Time) string {
	return t.UTC().Format(time.RFC3339Nano)
}
