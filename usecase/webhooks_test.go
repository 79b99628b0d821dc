package usecase

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/domain"
)

// hookStore is a WebhookStore of a map; its Outbox is hookOutbox's.
type hookStore struct {
	*hookOutbox
	mu          sync.Mutex
	hooks       []domain.Webhook
	deliveryLim int // the limit ListDeliveries last got
}

func newHookStore() *hookStore { return &hookStore{hookOutbox: newHookOutbox()} }

func (s *hookStore) CreateWebhook(_ context.Context, w *domain.Webhook, max int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.hooks) >= max {
		return domain.ErrTooManyWebhooks
	}
	c := *w
	c.Events = slices.Clone(w.Events)
	s.hooks = append(s.hooks, c)
	return nil
}

func (s *hookStore) ListWebhooks(context.Context) ([]domain.Webhook, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.hooks), nil
}

func (s *hookStore) DeleteWebhook(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := slices.IndexFunc(s.hooks, func(w domain.Webhook) bool { return w.ID == id })
	if i < 0 {
		return domain.ErrNotFound
	}
	s.hooks = slices.Delete(s.hooks, i, i+1)
	return nil
}

func (s *hookStore) ListDeliveries(_ context.Context, webhookID string, limit int) ([]domain.Delivery, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !slices.ContainsFunc(s.hooks, func(w domain.Webhook) bool { return w.ID == webhookID }) {
		return nil, domain.ErrNotFound
	}
	s.deliveryLim = limit
	return nil, nil
}

// hookDest is a DestinationChecker that refuses the URLs in refuse.
type hookDest struct {
	mu     sync.Mutex
	refuse map[string]string
	calls  []string
}

func (d *hookDest) CheckDestination(_ context.Context, rawURL string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.calls = append(d.calls, rawURL)
	if why, ok := d.refuse[rawURL]; ok {
		return errors.New(why)
	}
	return nil
}

var hookUUIDv7 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func hookNow() time.Time {
	return time.Date(2025, 6, 1, 12, 0, 0, 123456789, time.FixedZone("X", -5*3600))
}

func TestWebhooksCreate(t *testing.T) {
	t.Parallel()
	store := newHookStore()
	w := NewWebhooks(store, &hookDest{}, nil, hookNow)
	hook, err := w.Create(t.Context(), WebhookInput{
		URL:    "https://hooks.example.com/gatehouse?x=1",
		Events: []string{"login.failed", "user.created", "login.failed"},
	})
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	if !hookUUIDv7.MatchString(hook.ID) {
		t.Errorf("ID = %q; want a UUIDv7", hook.ID)
	}
	if want := []domain.EventType{domain.EventLoginFailed, domain.EventUserCreated}; !slices.Equal(hook.Events, want) {
		t.Errorf("Events = %q; want %q (repeats dropped)", hook.Events, want)
	}
	if want := hookNow().UTC().Truncate(time.Microsecond); !hook.CreatedAt.Equal(want) || hook.CreatedAt.Location() != time.UTC {
		t.Errorf("CreatedAt = %v; want %v in UTC", hook.CreatedAt, want)
	}
	key, ok := strings.CutPrefix(hook.Secret, "whsec_")
	if raw, err := base64.StdEncoding.DecodeString(key); !ok || err != nil || len(raw) != 32 {
		t.Errorf("Secret = %q; want whsec_ and the standard base64 of 32 bytes", hook.Secret)
	}

	stored, _ := store.ListWebhooks(t.Context())
	if len(stored) != 1 || stored[0].Secret != hook.Secret {
		t.Fatalf("store holds %+v; want the webhook with its secret", stored)
	}
	listed, err := w.List(t.Context())
	if err != nil || len(listed) != 1 || listed[0].ID != hook.ID || listed[0].Secret != "" {
		t.Errorf("List = %+v, %v; want the webhook without its secret", listed, err)
	}

	other, err := w.Create(t.Context(), WebhookInput{URL: "http://hooks.example.com/2"})
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	if other.Secret == hook.Secret || other.ID == hook.ID {
		t.Error("two webhooks share a secret or an id")
	}
	if len(other.Events) != 0 {
		t.Errorf("Events = %q; want none (every type)", other.Events)
	}
}

func TestWebhooksCreateRefusesBadInput(t *testing.T) {
	t.Parallel()
	long := "https://example.com/" + strings.Repeat("a", domain.WebhookURLMax)
	tests := []struct {
		name string
		in   WebhookInput
	}{
		{"empty url", WebhookInput{URL: ""}},
		{"not a url", WebhookInput{URL: "://nope"}},
		{"relative", WebhookInput{URL: "/hooks"}},
		{"no scheme", WebhookInput{URL: "example.com/hooks"}},
		{"ftp", WebhookInput{URL: "ftp://example.com/hooks"}},
		{"javascript", WebhookInput{URL: "javascript:alert(1)"}},
		{"opaque", WebhookInput{URL: "https:example.com"}},
		{"no host", WebhookInput{URL: "https:///hooks"}},
		{"port only", WebhookInput{URL: "https://:443/hooks"}},
		{"userinfo", WebhookInput{URL: "https://user:pass@example.com/hooks"}},
		{"user only", WebhookInput{URL: "https://user@example.com/hooks"}},
		{"fragment", WebhookInput{URL: "https://example.com/hooks#part"}},
		{"empty fragment", WebhookInput{URL: "https://example.com/hooks#"}},
		{"too long", WebhookInput{URL: long}},
		{"unknown event", WebhookInput{URL: "https://example.com/hooks", Events: []string{"user.created", "user.exploded"}}},
		{"empty event", WebhookInput{URL: "https://example.com/hooks", Events: []string{""}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			store, dest := newHookStore(), &hookDest{}
			_, err := NewWebhooks(store, dest, nil, hookNow).Create(t.Context(), tt.in)
			var ve *domain.ValidationError
			if !errors.As(err, &ve) || ve.Code != "invalid_request" {
				t.Fatalf("Create(%.60q) = %v; want a invalid_request ValidationError", tt.in.URL, err)
			}
			if len(dest.calls) != 0 {
				t.Errorf("Create(%.60q) checked the destination of invalid input", tt.in.URL)
			}
			if hooks, _ := store.ListWebhooks(t.Context()); len(hooks) != 0 {
				t.Errorf("Create(%.60q) stored %d webhooks; want 0", tt.in.URL, len(hooks))
			}
		})
	}
	// At the limit exactly, a URL is fine.
	exact := "https://example.com/" + strings.Repeat("a", domain.WebhookURLMax-len("https://example.com/"))
	if _, err := NewWebhooks(newHookStore(), &hookDest{}, nil, hookNow).Create(t.Context(), WebhookInput{URL: exact}); err != nil {
		t.Errorf("Create(a URL of WebhookURLMax bytes) = %v; want nil", err)
	}
}

func TestWebhooksCreateRefusedDestination(t *testing.T) {
	t.Parallel()
	store := newHookStore()
	dest := &hookDest{refuse: map[string]string{"http://10.0.0.1/hook": "destination 10.0.0.1 (private address) is refused"}}
	_, err := NewWebhooks(store, dest, nil, hookNow).Create(t.Context(), WebhookInput{URL: "http://10.0.0.1/hook"})
	var ve *domain.ValidationError
	if !errors.As(err, &ve) || ve.Code != "invalid_request" || !strings.Contains(ve.Message, "private address") {
		t.Fatalf("Create(refused destination) = %v; want invalid_request saying why", err)
	}
	if hooks, _ := store.ListWebhooks(t.Context()); len(hooks) != 0 {
		t.Errorf("a refused destination was stored")
	}
}

func TestWebhooksCreateLimit(t *testing.T) {
	t.Parallel()
	w := NewWebhooks(newHookStore(), &hookDest{}, nil, hookNow)
	for i := range domain.MaxWebhooks {
		if _, err := w.Create(t.Context(), WebhookInput{URL: fmt.Sprintf("https://example.com/%d", i)}); err != nil {
			t.Fatalf("Create #%d: %v", i+1, err)
		}
	}
	if _, err := w.Create(t.Context(), WebhookInput{URL: "https://example.com/one-too-many"}); !errors.Is(err, domain.ErrTooManyWebhooks) {
		t.Errorf("Create past MaxWebhooks = %v; want ErrTooManyWebhooks", err)
	}
}

func TestWebhooksDeleteAndDeliveries(t *testing.T) {
	t.Parallel()
	store := newHookStore()
	w := NewWebhooks(store, &hookDest{}, nil, hookNow)
	hook, err := w.Create(t.Context(), WebhookInput{URL: "https://example.com/hook"})
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	for _, tt := range []struct{ limit, want int }{{0, 100}, {1, 1}, {500, 500}} {
		if _, err := w.Deliveries(t.Context(), hook.ID, tt.limit); err != nil || store.deliveryLim != tt.want {
			t.Errorf("Deliveries(limit %d) = %v, store asked for %d; want nil, %d", tt.limit, err, store.deliveryLim, tt.want)
		}
	}
	for _, limit := range []int{-1, 501} {
		var ve *domain.ValidationError
		if _, err := w.Deliveries(t.Context(), hook.ID, limit); !errors.As(err, &ve) || ve.Code != "invalid_request" {
			t.Errorf("Deliveries(limit %d) = %v; want invalid_request", limit, err)
		}
	}
	if err := w.Delete(t.Context(), hook.ID); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if err := w.Delete(t.Context(), hook.ID); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("Delete again = %v; want ErrNotFound", err)
	}
	if _, err := w.Deliveries(t.Context(), hook.ID, 0); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("Deliveries of a deleted webhook = %v; want ErrNotFound", err)
	}
}
