package usecase

import (
	"context"
	"errors"

	"github.com/gatehouse-auth/gatehouse/domain"
)

// Tracer starts the spans of the use cases (DESIGN.md "Tracing"). Start
// returns ctx carrying the new span, so that what the use case then calls
// with it (the hasher, the store, the webhook sender) traces below it.
// Implementations must be safe for concurrent use; cmd/gatehouse wires
// the OpenTelemetry one. Login, Refresh, APIKeys and Dispatcher take a
// Tracer in their constructor; nil traces nothing and costs nothing.
//
// What a span carries is fixed words and ids: never a token, password,
// key, secret, code, URL or username, and never an error's text (it may
// quote input). Attributes are set only on a recording span.
type Tracer interface {
	Start(ctx context.Context, name string) (context.Context, Span)
}

// Span is one traced operation, as far as the use cases mark it.
type Span interface {
	// Recording reports whether the span keeps what it is given; callers
	// skip building attributes for one that does not.
	Recording() bool
	// SetString sets the attribute key to a fixed word or an id.
	SetString(key, value string)
	// SetInt sets the attribute key to n.
	SetInt(key string, n int)
	// AddEvent records that something named name happened now.
	AddEvent(name string)
	// Fail marks the operation failed, with description (a fixed word,
	// never an error's text) as the reason.
	Fail(description string)
	// End ends the span; nothing is recorded on it after.
	End()
}

// NoSpan is the span that records nothing: the no-op Tracer's, and what
// an implementation may hand out for a span it does not record. It is
// empty, so handing it out allocates nothing.
type NoSpan struct{}

// Recording is false: NoSpan keeps nothing.
func (NoSpan) Recording() bool { return false }

// SetString does nothing.
func (NoSpan) SetString(string, string) {}

// SetInt does nothing.
func (NoSpan) SetInt(string, int) {}

// AddEvent does nothing.
func (NoSpan) AddEvent(string) {}

// Fail does nothing.
func (NoSpan) Fail(string) {}

// End does nothing.
func (NoSpan) End() {}

// noTracer is the Tracer of a use case given none: ctx unchanged and
// NoSpan, with no allocation, so tracing off costs a method call.
type noTracer struct{}

func (noTracer) Start(ctx context.Context, _ string) (context.Context, Span) { return ctx, NoSpan{} }

// orNoTracer returns t, or noTracer when t is nil.
func orNoTracer(t Tracer) Tracer {
	if t == nil {
		return noTracer{}
	}
	return t
}

// Span names.
const (
	spanLogin       = "usecase.Login"
	spanCompleteMFA = "usecase.CompleteMFA"
	spanRefresh     = "usecase.Refresh"
	spanExchange    = "usecase.Exchange"
	spanDeliver     = "webhook.deliver"
)

// Span attributes.
const (
	attrGrant     = "gatehouse.grant"   // a Grant* or LoginGrant* word
	attrOutcome   = "gatehouse.outcome" // a Login*, grant* or Webhook* outcome word
	attrUserID    = "enduser.id"
	attrSessionID = "session.id"
	attrAPIKeyID  = "gatehouse.api_key.id"
	attrMFAMethod = "gatehouse.mfa.method" // methodTOTP or methodRecoveryCode

	attrWebhookID  = "gatehouse.webhook.id"
	attrEventID    = "gatehouse.event.id"
	attrEventType  = "gatehouse.event.type"
	attrDeliveryID = "gatehouse.delivery.id"
	attrAttempt    = "gatehouse.delivery.attempt"
	attrStatusCode = "http.response.status_code"
)

// Outcomes of the refresh and token-exchange grants on their spans.
const (
	grantSuccess             = "success"
	grantInvalid             = "invalid_grant"
	grantInvalidSubjectToken = "invalid_subject_token"
	grantInvalidScope        = "invalid_scope"
	grantError               = "error"
)

// Webhook delivery outcomes on the span only (the metrics count neither).
const (
	webhookGone        = "gone"        // the webhook was deleted meanwhile
	webhookInterrupted = "interrupted" // shutdown cut the attempt short
	webhookError       = "error"       // the attempt could not be recorded
)

// grantOutcome names the outcome of a refresh or token exchange that
// returned err.
func grantOutcome(err error) string {
	switch {
	case err == nil:
		return grantSuccess
	case errors.Is(err, domain.ErrInvalidSubjectToken):
		return grantInvalidSubjectToken
	case errors.Is(err, domain.ErrInvalidGrant):
		return grantInvalid
	case errors.Is(err, domain.ErrInvalidScope):
		return grantInvalidScope
	}
	return grantError
}

// traceOutcome records on span how its operation ended: outcome is a fixed
// word, and a failure gets the error status with that word as its
// description, never the error's text.
func traceOutcome(span Span, outcome string, failed bool) {
	if !span.Recording() {
		return
	}
	span.SetString(attrOutcome, outcome)
	if failed {
		span.Fail(outcome)
	}
}

// traceIDs sets the user id and the session id (those not empty) on span
// when it records. Ids only: the username is personal data and stays out.
func traceIDs(span Span, userID, sessionID string) {
	if !span.Recording() {
		return
	}
	if userID != "" {
		span.SetString(attrUserID, userID)
	}
	if sessionID != "" {
		span.SetString(attrSessionID, sessionID)
	}
}

// loginGrant is the grant word of a login for its span: one of the
// LoginGrant* constants, whatever the caller put in LoginInput.Grant.
func loginGrant(grant string) string {
	if grant == LoginGrantGetToken {
		return LoginGrantGetToken
	}
	return LoginGrantPassword
}
