package usecase

import (
	"errors"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/gatehouse-auth/gatehouse/domain"
)

// tracer makes the use cases' spans through the global provider: a no-op
// unless the server installed one, so with tracing off a span costs its
// start. It is set once and never changed. The spans leave their kind
// unspecified, which the SDK records as internal: passing
// trace.WithSpanKind would cost an allocation per span even when off.
//
// What a span carries is fixed words and ids: never a token, password,
// key, secret, code, URL or username, and never an error's text (it may
// quote input). Attributes are set only on a recording span.
var tracer = otel.Tracer("github.com/gatehouse-auth/gatehouse/usecase")

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
	attrGrant     = attribute.Key("gatehouse.grant")   // a Grant* or LoginGrant* word
	attrOutcome   = attribute.Key("gatehouse.outcome") // a Login*, grant* or Webhook* outcome word
	attrUserID    = attribute.Key("enduser.id")
	attrSessionID = attribute.Key("session.id")
	attrAPIKeyID  = attribute.Key("gatehouse.api_key.id")
	attrMFAMethod = attribute.Key("gatehouse.mfa.method") // methodTOTP or methodRecoveryCode

	attrWebhookID  = attribute.Key("gatehouse.webhook.id")
	attrEventID    = attribute.Key("gatehouse.event.id")
	attrEventType  = attribute.Key("gatehouse.event.type")
	attrDeliveryID = attribute.Key("gatehouse.delivery.id")
	attrAttempt    = attribute.Key("gatehouse.delivery.attempt")
	attrStatusCode = attribute.Key("http.response.status_code")
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
func traceOutcome(span trace.Span, outcome string, failed bool) {
	if !span.IsRecording() {
		return
	}
	span.SetAttributes(attrOutcome.String(outcome))
	if failed {
		span.SetStatus(codes.Error, outcome)
	}
}

// traceIDs sets the user id and the session id (those not empty) on span
// when it records. Ids only: the username is personal data and stays out.
func traceIDs(span trace.Span, userID, sessionID string) {
	if !span.IsRecording() {
		return
	}
	if userID != "" {
		span.SetAttributes(attrUserID.String(userID))
	}
	if sessionID != "" {
		span.SetAttributes(attrSessionID.String(sessionID))
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
