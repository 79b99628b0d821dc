package usecase

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse/domain"
)

// webhookKeyBytes is the length of a webhook signing key.
const webhookKeyBytes = 32

// Page sizes of GET /admin/webhooks/:id/deliveries.
const (
	deliveryPageDefault = 100
	deliveryPageMax     = 500
)

// DestinationChecker refuses webhook URLs the service must not call: by
// default those on loopback, private or link-local addresses (DESIGN.md
// "Sessions, devices and auth events"). Its error says why, in words fit
// for the admin registering the webhook.
type DestinationChecker interface {
	CheckDestination(ctx context.Context, rawURL string) error
}

// Webhooks registers the URLs that receive auth events (the /admin/webhooks
// routes). Delivering to them is the Dispatcher's work.
type Webhooks struct {
	store domain.WebhookStore
	dest  DestinationChecker
	box   domain.SecretBox
	now   func() time.Time
}

// NewWebhooks returns Webhooks keeping its webhooks in store; dest judges
// each new webhook's destination. box seals each secret before it is
// stored (sealWebhookSecret); nil stores secrets as they are.
func NewWebhooks(store domain.WebhookStore, dest DestinationChecker, box domain.SecretBox, now func() time.Time) *Webhooks {
	return &Webhooks{store: store, dest: dest, box: box, now: now}
}

// WebhookInput describes a webhook to register. No Events means every
// event type.
type WebhookInput struct {
	URL    string
	Events []string
}

// Create registers a webhook. The returned Webhook carries its Secret,
// which is shown this once (List leaves it out). Bad input and a refused
// destination are a *domain.ValidationError (invalid_request);
// domain.ErrTooManyWebhooks when domain.MaxWebhooks exist already.
func (w *Webhooks) Create(ctx context.Context, in WebhookInput) (*domain.Webhook, error) {
	if err := validateWebhookURL(in.URL); err != nil {
		return nil, err
	}
	events, err := parseEventTypes(in.Events)
	if err != nil {
		return nil, err
	}
	if err := w.dest.CheckDestination(ctx, in.URL); err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, ctxErr
		}
		return nil, &domain.ValidationError{Code: domain.CodeInvalidRequest, Message: "webhook url refused: " + err.Error()}
	}
	now := w.now().UTC().Truncate(time.Microsecond)
	hook := &domain.Webhook{
		ID:        newID(now),
		URL:       in.URL,
		Events:    events,
		CreatedAt: now,
	}
	secret := newWebhookSecret()
	stored, err := sealWebhookSecret(w.box, secret, hook.ID)
	if err != nil {
		return nil, err
	}
	hook.Secret = stored
	if err := w.store.CreateWebhook(ctx, hook, domain.MaxWebhooks); err != nil {
		return nil, fmt.Errorf("create webhook: %w", err)
	}
	hook.Secret = secret // shown this once
	return hook, nil
}

// sealWebhookSecret is the form a webhook secret is stored in: sealed by
// box (under the key-encryption key, when one is configured) and bound to
// the webhook id, in standard base64 so that it fits a text column. With a
// nil box it is the secret itself.
func sealWebhookSecret(box domain.SecretBox, secret, webhookID string) (string, error) {
	if box == nil {
		return secret, nil
	}
	sealed, err := box.Seal([]byte(secret), webhookID)
	if err != nil {
		return "", fmt.Errorf("seal webhook secret: %w", err)
	}
	return base64.StdEncoding.EncodeToString(sealed), nil
}

// openWebhookSecret reverses sealWebhookSecret.
func openWebhookSecret(box domain.SecretBox, stored, webhookID string) (string, error) {
	if box == nil {
		return stored, nil
	}
	sealed, err := base64.StdEncoding.DecodeString(stored)
	if err != nil {
		return "", fmt.Errorf("open webhook secret: not sealed: %w", err)
	}
	plain, err := box.Open(sealed, webhookID)
	if err != nil {
		return "", fmt.Errorf("open webhook secret: %w", err)
	}
	return string(plain), nil
}

// List returns every webhook, oldest first, without their secrets.
func (w *Webhooks) List(ctx context.Context) ([]domain.Webhook, error) {
	hooks, err := w.store.ListWebhooks(ctx)
	if err != nil {
		return nil, fmt.Errorf("list webhooks: %w", err)
	}
	for i := range hooks {
		hooks[i].Secret = ""
	}
	return hooks, nil
}

// Delete removes a webhook and its deliveries, pending ones included;
// domain.ErrNotFound if there is no such webhook.
func (w *Webhooks) Delete(ctx context.Context, id string) error {
	if err := w.store.DeleteWebhook(ctx, id); err != nil {
		return fmt.Errorf("delete webhook %s: %w", id, err)
	}
	return nil
}

// Deliveries returns up to limit deliveries of a webhook, newest event
// first. A limit of 0 asks for 100; one outside 1..500 is a
// *domain.ValidationError. domain.ErrNotFound if there is no such webhook.
func (w *Webhooks) Deliveries(ctx context.Context, webhookID string, limit int) ([]domain.Delivery, error) {
	limit, err := pageLimit(limit, deliveryPageDefault, deliveryPageMax)
	if err != nil {
		return nil, err
	}
	ds, err := w.store.ListDeliveries(ctx, webhookID, limit)
	if err != nil {
		return nil, fmt.Errorf("list deliveries of webhook %s: %w", webhookID, err)
	}
	return ds, nil
}

// validateWebhookURL accepts an absolute http or https URL with a host, no
// userinfo and no fragment, of at most domain.WebhookURLMax bytes.
func validateWebhookURL(raw string) error {
	invalid := func(msg string) error {
		return &domain.ValidationError{Code: domain.CodeInvalidRequest, Message: msg}
	}
	switch {
	case raw == "":
		return invalid("url is required")
	case len(raw) > domain.WebhookURLMax:
		return invalid(fmt.Sprintf("url must be at most %d bytes", domain.WebhookURLMax))
	}
	u, err := url.Parse(raw)
	if err != nil {
		return invalid("url is not a valid URL")
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return invalid("url must start with http:// or https://")
	case u.Opaque != "" || u.Host == "" || u.Hostname() == "":
		return invalid("url must name a host")
	case u.User != nil:
		return invalid("url must not carry a user name or password")
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return invalid("url must not have a fragment")
	}
	return nil
}

// parseEventTypes parses event type names, dropping repeats; none means
// every type. An unknown name is a *domain.ValidationError.
func parseEventTypes(names []string) ([]domain.EventType, error) {
	var types []domain.EventType
	for _, n := range names {
		t, err := domain.ParseEventType(n)
		if err != nil {
			return nil, err // a *domain.ValidationError already
		}
		if !slices.Contains(types, t) {
			types = append(types, t)
		}
	}
	return types, nil
}

// newWebhookSecret returns "whsec_" and the standard base64 of a new random
// signing key (Standard Webhooks).
func newWebhookSecret() string {
	key := make([]byte, webhookKeyBytes)
	rand.Read(key) // never fails, see newID
	return domain.WebhookSecretPrefix + base64.StdEncoding.EncodeToString(key)
}
