package domain

import (
	"errors"
	"time"
)

// Webhook limits and timing (DESIGN.md "Sessions, devices and auth events").
const (
	// WebhookSecretPrefix starts every webhook secret (Standard Webhooks).
	WebhookSecretPrefix = "whsec_"
	// WebhookURLMax is the longest webhook URL, in bytes.
	WebhookURLMax = 2048
	// MaxWebhooks is how many webhooks may be registered.
	MaxWebhooks = 100
	// WebhookFirstRetry is the delay after the first failed attempt; each
	// later one doubles it.
	WebhookFirstRetry = 5 * time.Second
	// WebhookRetryFor is how long after its event a delivery is retried
	// before it is given up (status failed).
	WebhookRetryFor = 24 * time.Hour
	// WebhookTimeout bounds one attempt: a 2xx within it is a delivery.
	WebhookTimeout = 10 * time.Second
)

// ErrTooManyWebhooks means MaxWebhooks webhooks are registered already.
var ErrTooManyWebhooks = errors.New("too many webhooks")

// Webhook is a URL that receives auth events.
type Webhook struct {
	ID  string
	URL string
	// Events are the types delivered; empty means every type.
	Events []EventType
	// Secret is "whsec_" and the base64 of the signing key. The store
	// keeps it as it is: signing needs it.
	Secret    string
	CreatedAt time.Time
}

// Wants reports whether events of type t go to the webhook.
func (w *Webhook) Wants(t EventType) bool {
	if len(w.Events) == 0 {
		return true
	}
	for _, e := range w.Events {
		if e == t {
			return true
		}
	}
	return false
}

// DeliveryStatus is where a delivery stands.
type DeliveryStatus string

// Delivery statuses.
const (
	DeliveryPending   DeliveryStatus = "pending"
	DeliveryDelivered DeliveryStatus = "delivered"
	DeliveryFailed    DeliveryStatus = "failed" // given up after WebhookRetryFor
)

// Delivery is one event's way to one webhook: a row of the outbox. It is
// written in the transaction that writes its event.
type Delivery struct {
	ID        string
	WebhookID string
	EventID   string
	// EventTime is the event's time: the delivery is given up
	// WebhookRetryFor after it.
	EventTime      time.Time
	Status         DeliveryStatus
	Attempts       int
	LastStatusCode int // 0 when no answer came (or no attempt yet)
	// LastError says why the last attempt failed, without secrets.
	LastError     string
	NextAttemptAt time.Time // when pending: not before then
	UpdatedAt     time.Time
}

// DeliveryJob is a claimed delivery with what sending it needs.
type DeliveryJob struct {
	Delivery Delivery
	URL      string
	Secret   string
	Event    Event
	// Claim is the token the claim wrote; FinishDelivery must present it.
	Claim string
}

// DeliveryClaim asks for due deliveries: pending, NextAttemptAt not after
// Now, and not claimed by anyone at Now.
type DeliveryClaim struct {
	Now time.Time
	// Lease is how long the claim holds: another replica may claim the
	// delivery again after Now+Lease (the claimer died).
	Lease time.Duration
	Limit int
	// Token marks the claim (unique per call).
	Token string
}

// DeliveryResult is the outcome of one attempt of a claimed delivery.
type DeliveryResult struct {
	DeliveryID string
	Claim      string
	At         time.Time
	// Status is the delivery's new status: delivered, pending (retry at
	// NextAttemptAt) or failed.
	Status        DeliveryStatus
	StatusCode    int
	Error         string
	NextAttemptAt time.Time
}

// OutboxStats describes the pending deliveries.
type OutboxStats struct {
	Pending int64
	// OldestPending is the EventTime of the oldest pending delivery; zero
	// when none is pending.
	OldestPending time.Time
}
