package webhook

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-auth/gatehouse/domain"
)

// decode parses JSON into generic values, to compare shapes.
func decode(t *testing.T, b []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("unmarshal %s: %v", b, err)
	}
	return v
}

func TestBodyShape(t *testing.T) {
	t.Parallel()
	zone := time.FixedZone("UTC+2", 2*3600)
	until := time.Date(2025, 3, 4, 5, 21, 7, 0, zone)
	full := domain.Event{
		ID:        "0190a5f4-8c3e-7b12-9a4f-3c2d1e0f9a8b",
		Time:      time.Date(2025, 3, 4, 5, 6, 7, 123456789, zone),
		Type:      domain.EventLoginThrottled,
		UserID:    "u1",
		Actor:     domain.Actor{Type: domain.ActorClient, ID: "c1"},
		IP:        "203.0.113.9",
		UserAgent: "curl/8",
		RequestID: "req-1",
		SessionID: "s1",
		Details:   domain.EventDetails{Count: 3, Until: &until, Roles: []string{"admin"}},
	}
	bare := domain.Event{
		ID:      "0190a5f4-8c3e-7b12-9a4f-3c2d1e0f9a8c",
		Time:    time.Date(2025, 3, 4, 3, 6, 7, 0, time.UTC),
		Type:    domain.EventSigningKeyRotated,
		Actor:   domain.Actor{},
		Details: domain.EventDetails{Roles: []string{}}, // empty, not nil: still no details
	}
	tests := []struct {
		name  string
		event domain.Event
		want  string
	}{
		{"every field", full, `{
			"type": "login.throttled",
			"timestamp": "2025-03-04T03:06:07.123456789Z",
			"data": {
				"id": "0190a5f4-8c3e-7b12-9a4f-3c2d1e0f9a8b",
				"time": "2025-03-04T03:06:07.123456789Z",
				"type": "login.throttled",
				"user_id": "u1",
				"actor": {"type": "client", "id": "c1"},
				"ip": "203.0.113.9",
				"user_agent": "curl/8",
				"request_id": "req-1",
				"session_id": "s1",
				"details": {"count": 3, "until": "2025-03-04T03:21:07Z", "roles": ["admin"]}
			}
		}`},
		{"empty fields absent", bare, `{
			"type": "signing_key.rotated",
			"timestamp": "2025-03-04T03:06:07Z",
			"data": {
				"id": "0190a5f4-8c3e-7b12-9a4f-3c2d1e0f9a8c",
				"time": "2025-03-04T03:06:07Z",
				"type": "signing_key.rotated"
			}
		}`},
		{"actor without id", domain.Event{ID: "e", Time: bare.Time, Type: domain.EventSigningKeyRotated, Actor: domain.Actor{Type: domain.ActorCLI}}, `{
			"type": "signing_key.rotated",
			"timestamp": "2025-03-04T03:06:07Z",
			"data": {"id": "e", "time": "2025-03-04T03:06:07Z", "type": "signing_key.rotated", "actor": {"type": "cli"}}
		}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			body, err := Body(tt.event)
			if err != nil {
				t.Fatalf("Body: %v", err)
			}
			if diff := cmp.Diff(decode(t, []byte(tt.want)), decode(t, body)); diff != "" {
				t.Errorf("Body(%s) mismatch (-want +got):\n%s", tt.name, diff)
			}
			data, err := json.Marshal(EventJSON(tt.event))
			if err != nil {
				t.Fatalf("marshal EventJSON: %v", err)
			}
			wantData := decode(t, []byte(tt.want)).(map[string]any)["data"]
			if diff := cmp.Diff(wantData, decode(t, data)); diff != "" {
				t.Errorf("EventJSON(%s) mismatch (-want +got):\n%s", tt.name, diff)
			}
		})
	}
}

func TestEventJSONLeavesEventAlone(t *testing.T) {
	t.Parallel()
	until := time.Date(2025, 1, 1, 0, 0, 0, 0, time.FixedZone("X", 3600))
	e := domain.Event{ID: "e", Time: until, Type: domain.EventLoginThrottled, Details: domain.EventDetails{Until: &until}}
	EventJSON(e)
	if e.Details.Until.Location().String() != "X" || until.Location().String() != "X" {
		t.Error("EventJSON changed the event's Until")
	}
}
