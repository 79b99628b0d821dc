package domain

import (
	"encoding/json"
	"time"
)

// eventJSON is the public shape of an event (DESIGN.md): the same in
// GET /me/events, GET /admin/events, `gatehouse events` and webhook
// deliveries.
type eventJSON struct {
	ID        string        `json:"id"`
	Time      time.Time     `json:"time"`
	Type      EventType     `json:"type"`
	UserID    string        `json:"user_id,omitempty"`
	Actor     *actorJSON    `json:"actor,omitempty"`
	IP        string        `json:"ip,omitempty"`
	UserAgent string        `json:"user_agent,omitempty"`
	RequestID string        `json:"request_id,omitempty"`
	SessionID string        `json:"session_id,omitempty"`
	Details   *EventDetails `json:"details,omitempty"`
}

type actorJSON struct {
	Type ActorType `json:"type"`
	ID   string    `json:"id,omitempty"`
}

// MarshalJSON writes the event in its public shape: empty fields are
// absent, times are UTC.
func (e Event) MarshalJSON() ([]byte, error) {
	j := eventJSON{
		ID: e.ID, Time: e.Time.UTC(), Type: e.Type, UserID: e.UserID,
		IP: e.IP, UserAgent: e.UserAgent, RequestID: e.RequestID, SessionID: e.SessionID,
	}
	if e.Actor.Type != "" {
		j.Actor = &actorJSON{Type: e.Actor.Type, ID: e.Actor.ID}
	}
	if !e.Details.IsZero() {
		j.Details = &e.Details
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads the public shape back (clients of the Go API, tests).
func (e *Event) UnmarshalJSON(b []byte) error {
	var j eventJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*e = Event{
		ID: j.ID, Time: j.Time, Type: j.Type, UserID: j.UserID,
		IP: j.IP, UserAgent: j.UserAgent, RequestID: j.RequestID, SessionID: j.SessionID,
	}
	if j.Actor != nil {
		e.Actor = Actor{Type: j.Actor.Type, ID: j.Actor.ID}
	}
	if j.Details != nil {
		e.Details = *j.Details
	}
	return nil
}

// IsZero reports whether no detail is set.
func (d *EventDetails) IsZero() bool {
	return d.Username == "" && d.Reason == "" && d.Grant == "" && d.Count == 0 && d.Until == nil &&
		d.Scope == "" && len(d.Roles) == 0 && len(d.PreviousRoles) == 0 && d.KeyID == "" && d.KeyName == "" &&
		d.ClientID == "" && d.ClientName == "" && d.Kid == "" && d.Alg == "" && d.Method == ""
}
