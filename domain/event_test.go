package domain_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-auth/gatehouse/domain"
)

func TestEventJSONShape(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 12, 2, 7, 0, 0, 123456789, time.FixedZone("CET", 3600))
	until := at.Add(time.Minute).UTC()
	tests := []struct {
		name string
		e    domain.Event
		want string
	}{
		{"bare", domain.Event{ID: "e1", Time: at, Type: domain.EventUserDeleted},
			`{"id":"e1","time":"2026-12-02T06:00:00.123456789Z","type":"user.deleted"}`},
		{"full", domain.Event{ID: "e2", Time: at, Type: domain.EventLoginThrottled, UserID: "u1",
			Actor: domain.Actor{Type: domain.ActorUser, ID: "u1"}, IP: "192.0.2.1", UserAgent: "curl/8", RequestID: "r1", SessionID: "s1",
			Details: domain.EventDetails{Username: "alice", Count: 3, Until: &until}},
			`{"id":"e2","time":"2026-12-02T06:00:00.123456789Z","type":"login.throttled","user_id":"u1","actor":{"type":"user","id":"u1"},` +
				`"ip":"192.0.2.1","user_agent":"curl/8","request_id":"r1","session_id":"s1","details":{"username":"alice","count":3,"until":"2026-12-02T06:01:00.123456789Z"}}`},
		{"system actor without id", domain.Event{ID: "e3", Time: at, Type: domain.EventSigningKeyRotated,
			Actor: domain.Actor{Type: domain.ActorSystem}, Details: domain.EventDetails{Kid: "k1", Alg: "EdDSA"}},
			`{"id":"e3","time":"2026-12-02T06:00:00.123456789Z","type":"signing_key.rotated","actor":{"type":"system"},"details":{"kid":"k1","alg":"EdDSA"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b, err := json.Marshal(tt.e)
			if err != nil || string(b) != tt.want {
				t.Fatalf("Marshal = %s, %v;\nwant %s", b, err, tt.want)
			}
			var back domain.Event
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatal(err)
			}
			want := tt.e
			want.Time = want.Time.UTC()
			if d := cmp.Diff(want, back); d != "" {
				t.Errorf("round trip (-want +got):\n%s", d)
			}
		})
	}
}

func TestParseEventType(t *testing.T) {
	t.Parallel()
	for _, et := range domain.EventTypes {
		if got, err := domain.ParseEventType(string(et)); got != et || err != nil {
			t.Errorf("ParseEventType(%q) = %q, %v", et, got, err)
		}
	}
	if len(domain.EventTypes) != 21 {
		t.Errorf("%d event types; DESIGN.md lists 21", len(domain.EventTypes))
	}
	var ve *domain.ValidationError
	for _, bad := range []string{"", "login", "LOGIN.FAILED", strings.Repeat("x", 1000)} {
		_, err := domain.ParseEventType(bad)
		if !errors.As(err, &ve) || ve.Code != "invalid_request" || len(ve.Message) > 100 {
			t.Errorf("ParseEventType(%.20q) = %v; want a short invalid_request", bad, err)
		}
	}
}

func TestWebhookWants(t *testing.T) {
	t.Parallel()
	all := domain.Webhook{}
	some := domain.Webhook{Events: []domain.EventType{domain.EventLoginFailed}}
	if !all.Wants(domain.EventUserCreated) || !some.Wants(domain.EventLoginFailed) || some.Wants(domain.EventUserCreated) {
		t.Error("Wants: an empty filter wants every type, a filter only its own")
	}
}
