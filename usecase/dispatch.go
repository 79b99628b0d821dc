package usecase

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse-auth/gatehouse/domain"
)

const (
	// dispatchBatch is the most deliveries one round claims.
	dispatchBatch = 16
	// dispatchWorkers is how many of them are sent at once.
	dispatchWorkers = 8
	// dispatchLease is how long a claim holds: comfortably longer than a
	// round can take (two waves of sends bounded by domain.WebhookTimeout).
	dispatchLease = 60 * time.Second
	// deliveryFinishTimeout bounds recording an attempt, also after shutdown began:
	// a delivered event must not be sent again for want of a write.
	deliveryFinishTimeout = 5 * time.Second
	// deliveryErrorMax is the longest attempt error kept or logged, in bytes.
	deliveryErrorMax = 200
)

// WebhookSender makes one attempt to deliver a claimed job. It returns the
// receiver's status code, whatever it is, or an error when no answer came
// (a refused destination, a network error, the timeout). Its errors must
// not carry the secret or the signature.
type WebhookSender interface {
	Send(ctx context.Context, job domain.DeliveryJob) (statusCode int, err error)
}

// DeliveryMetrics is told how webhook deliveries go, to count them.
// Implementations must be safe for concurrent use. The Dispatcher takes
// one in its constructor; nil reports nothing.
type DeliveryMetrics interface {
	// WebhookDelivery reports one delivery attempt by outcome: one of the
	// Webhook* outcome constants.
	WebhookDelivery(outcome string)
	// OutboxStats reports the pending deliveries, after each claim round.
	OutboxStats(domain.OutboxStats)
}

// Webhook delivery outcomes reported through DeliveryMetrics.WebhookDelivery.
const (
	WebhookDelivered = "delivered"  // a 2xx answer in time
	WebhookRetry     = "retry"      // failed; tried again later
	WebhookFailed    = "failed"     // failed for good (past domain.WebhookRetryFor)
	WebhookLostClaim = "lost_claim" // the claim lapsed and another replica took the delivery
)

// Dispatcher delivers the outbox: every round it claims due deliveries,
// sends them and records each attempt. Replicas may run one each; the
// outbox's claims keep them from sending a delivery twice at once.
type Dispatcher struct {
	outbox  domain.Outbox
	sender  WebhookSender
	box     domain.SecretBox
	now     func() time.Time
	log     *slog.Logger
	metrics DeliveryMetrics
	tracer  Tracer
	batch   int
	workers int
}

// NewDispatcher returns a Dispatcher of outbox through sender; box opens
// the secrets Webhooks sealed with it (nil: they are stored as they are).
// A nil metrics reports nothing; a nil log logs nothing; each attempt is a
// span of tracer (nil traces nothing).
func NewDispatcher(outbox domain.Outbox, sender WebhookSender, box domain.SecretBox, now func() time.Time, log *slog.Logger,
	metrics DeliveryMetrics, tracer Tracer) *Dispatcher {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if metrics == nil {
		metrics = noDeliveryMetrics{}
	}
	return &Dispatcher{outbox: outbox, sender: sender, box: box, now: now, log: log, metrics: metrics,
		tracer: orNoTracer(tracer), batch: dispatchBatch, workers: dispatchWorkers}
}

// noDeliveryMetrics is the DeliveryMetrics of a Dispatcher given none.
type noDeliveryMetrics struct{}

func (noDeliveryMetrics) WebhookDelivery(string)         {}
func (noDeliveryMetrics) OutboxStats(domain.OutboxStats) {}

// Jobs returns the background job that runs a round every `every`, and
// runs the next one at once while rounds come back full.
func (d *Dispatcher) Jobs(every time.Duration) []Job {
	return []Job{{Name: "webhook deliveries", Every: every, Run: d.drain}}
}

// drain runs rounds until one is not full.
func (d *Dispatcher) drain(ctx context.Context) {
	for ctx.Err() == nil {
		n, err := d.RunOnce(ctx)
		if err != nil {
			if ctx.Err() == nil {
				d.log.WarnContext(ctx, "webhook delivery round failed", "err", err)
			}
			return
		}
		if n < d.batch {
			return
		}
	}
}

// RunOnce runs one round: when any delivery is pending, it claims due deliveries under a fresh claim
// token, sends them concurrently (at most a few at once), records each
// attempt and reports the outbox's stats. It returns how many deliveries
// it claimed, and the first store error.
func (d *Dispatcher) RunOnce(ctx context.Context) (int, error) {
	// An idle outbox costs one read a second per replica, not a claim: a
	// claim is a write, and on SQLite it would take the one connection
	// from the requests every second.
	stats, err := d.outbox.OutboxStats(ctx)
	if err != nil {
		return 0, fmt.Errorf("outbox stats: %w", err)
	}
	if stats.Pending == 0 {
		d.metrics.OutboxStats(stats)
		return 0, nil
	}
	jobs, err := d.outbox.ClaimDeliveries(ctx, domain.DeliveryClaim{
		Now:   d.now(),
		Lease: dispatchLease,
		Limit: d.batch,
		Token: newSecret(16),
	})
	if err != nil {
		return 0, fmt.Errorf("claim deliveries: %w", err)
	}

	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
		slots    = make(chan struct{}, d.workers)
	)
	for _, job := range jobs {
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			if err := d.deliver(ctx, job); err != nil {
				mu.Lock()
				if firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()

	if stats, err = d.outbox.OutboxStats(ctx); err != nil {
		return len(jobs), errors.Join(firstErr, fmt.Errorf("outbox stats: %w", err))
	}
	d.metrics.OutboxStats(stats)
	return len(jobs), firstErr
}

// deliver makes one attempt of job and records it. The attempt is the
// span webhook.deliver, the parent of the HTTP request's: it carries the
// webhook, event and delivery ids, the event type, the attempt number, the
// receiver's status code and the outcome, never the URL, the secret or the
// signature.
func (d *Dispatcher) deliver(ctx context.Context, job domain.DeliveryJob) error {
	ctx, span := d.tracer.Start(ctx, spanDeliver)
	defer span.End()
	if span.Recording() {
		span.SetString(attrWebhookID, job.Delivery.WebhookID)
		span.SetString(attrEventID, job.Event.ID)
		span.SetString(attrEventType, string(job.Event.Type))
		span.SetString(attrDeliveryID, job.Delivery.ID)
		span.SetInt(attrAttempt, job.Delivery.Attempts+1)
	}
	outcome, code, err := d.attempt(ctx, job)
	if code != 0 && span.Recording() {
		span.SetInt(attrStatusCode, code)
	}
	switch outcome {
	case WebhookDelivered, WebhookLostClaim, webhookGone:
		traceOutcome(span, outcome, false)
	default:
		traceOutcome(span, outcome, true)
	}
	return err
}

// attempt sends job and records the attempt; it returns the outcome, the
// receiver's status code (0 for none) and a store error.
func (d *Dispatcher) attempt(ctx context.Context, job domain.DeliveryJob) (outcome string, code int, err error) {
	var sendErr error
	if job.Secret, sendErr = openWebhookSecret(d.box, job.Secret, job.Delivery.WebhookID); sendErr != nil {
		// Nothing is sent unsigned: the attempt fails and is retried, in
		// case the key-encryption key comes back.
		sendErr = fmt.Errorf("%w (was GATEHOUSE_KEY_ENCRYPTION_KEY changed?)", sendErr)
	} else {
		code, sendErr = d.sender.Send(ctx, job)
	}
	delivered := sendErr == nil && code >= 200 && code <= 299
	if !delivered && ctx.Err() != nil {
		// Shutdown interrupted the attempt: it says nothing about the
		// receiver. The claim lapses and a later round sends it again.
		d.log.DebugContext(ctx, "webhook delivery interrupted", "webhook_id", job.Delivery.WebhookID, "event_id", job.Event.ID)
		return webhookInterrupted, code, nil
	}

	at := d.now()
	attempts := job.Delivery.Attempts + 1
	res := domain.DeliveryResult{DeliveryID: job.Delivery.ID, Claim: job.Claim, At: at, StatusCode: code}
	outcome = WebhookDelivered
	if delivered {
		res.Status = domain.DeliveryDelivered
	} else {
		res.Error = deliveryError(job, code, sendErr)
		next := at.Add(webhookRetryDelay(attempts))
		if next.After(job.Delivery.EventTime.Add(domain.WebhookRetryFor)) {
			res.Status, outcome = domain.DeliveryFailed, WebhookFailed
		} else {
			res.Status, res.NextAttemptAt, outcome = domain.DeliveryPending, next, WebhookRetry
		}
	}

	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), deliveryFinishTimeout)
	defer cancel()
	attrs := []any{"webhook_id", job.Delivery.WebhookID, "event_id", job.Event.ID, "delivery_id", job.Delivery.ID, "attempts", attempts}
	switch err = d.outbox.FinishDelivery(fctx, res); {
	case errors.Is(err, domain.ErrConflict):
		d.metrics.WebhookDelivery(WebhookLostClaim)
		d.log.DebugContext(ctx, "webhook delivery claim lost to another replica", attrs...)
		return WebhookLostClaim, code, nil
	case errors.Is(err, domain.ErrNotFound):
		d.log.DebugContext(ctx, "webhook delivery gone (webhook deleted)", attrs...)
		return webhookGone, code, nil
	case err != nil:
		return webhookError, code, fmt.Errorf("finish delivery %s: %w", job.Delivery.ID, err)
	}

	d.metrics.WebhookDelivery(outcome)
	attrs = append(attrs, "status_code", code)
	switch outcome {
	case WebhookDelivered:
		d.log.DebugContext(ctx, "webhook delivered", attrs...)
	case WebhookRetry:
		d.log.InfoContext(ctx, "webhook delivery failed; will retry", append(attrs, "err", res.Error, "next_attempt_at", res.NextAttemptAt)...)
	default:
		d.log.WarnContext(ctx, "webhook delivery given up", append(attrs, "err", res.Error)...)
	}
	return outcome, code, nil
}

// webhookRetryDelay is the wait after a failed attempt, attempts counting it:
// domain.WebhookFirstRetry, then doubling (5 s, 10 s, 20 s, ...), capped
// past domain.WebhookRetryFor so it cannot overflow.
func webhookRetryDelay(attempts int) time.Duration {
	delay := domain.WebhookFirstRetry
	for i := 1; i < attempts && delay <= domain.WebhookRetryFor; i++ {
		delay *= 2
	}
	return delay
}

// deliveryError says briefly why an attempt failed, fit to store and log:
// never the secret, never the URL (its path or query may be a credential),
// at most deliveryErrorMax bytes.
func deliveryError(job domain.DeliveryJob, code int, err error) string {
	msg := fmt.Sprintf("answered %d", code)
	if err != nil {
		msg = err.Error()
	}
	for _, s := range []string{job.Secret, strings.TrimPrefix(job.Secret, domain.WebhookSecretPrefix), job.URL} {
		if s != "" {
			msg = strings.ReplaceAll(msg, s, "[redacted]")
		}
	}
	if len(msg) > deliveryErrorMax {
		msg = strings.ToValidUTF8(msg[:deliveryErrorMax], "")
	}
	return msg
}
