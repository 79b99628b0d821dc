package domain

import (
	"fmt"
	"slices"
	"time"
)

// EventType names what an auth event records (DESIGN.md "Sessions, devices
// and auth events").
type EventType string

// The event types, exactly as DESIGN.md lists them.
const (
	EventUserCreated          EventType = "user.created"
	EventUserUpdated          EventType = "user.updated"
	EventUserDisabled         EventType = "user.disabled"
	EventUserEnabled          EventType = "user.enabled"
	EventUserDeleted          EventType = "user.deleted"
	EventUserRolesChanged     EventType = "user.roles_changed"
	EventLoginSucceeded       EventType = "login.succeeded"
	EventLoginFailed          EventType = "login.failed"
	EventLoginThrottled       EventType = "login.throttled"
	EventPasswordChanged      EventType = "password.changed"
	EventSessionRevoked       EventType = "session.revoked"
	EventRefreshReuseDetected EventType = "refresh.reuse_detected"
	EventAPIKeyCreated        EventType = "api_key.created"
	EventAPIKeyRevoked        EventType = "api_key.revoked"
	EventClientCreated        EventType = "client.created"
	EventClientDeleted        EventType = "client.deleted"
	EventSigningKeyRotated    EventType = "signing_key.rotated"
	EventMFAEnabled           EventType = "mfa.enabled"
	EventMFADisabled          EventType = "mfa.disabled"
	EventMFAFailed            EventType = "mfa.failed"
	EventMFARecoveryCodeUsed  EventType = "mfa.recovery_code_used"
)

// EventTypes is the catalogue of event types, in DESIGN.md's order.
var EventTypes = []EventType{
	EventUserCreated, EventUserUpdated, EventUserDisabled, EventUserEnabled, EventUserDeleted,
	EventUserRolesChanged, EventLoginSucceeded, EventLoginFailed, EventLoginThrottled,
	EventPasswordChanged, EventSessionRevoked, EventRefreshReuseDetected, EventAPIKeyCreated,
	EventAPIKeyRevoked, EventClientCreated, EventClientDeleted, EventSigningKeyRotated,
	EventMFAEnabled, EventMFADisabled, EventMFAFailed, EventMFARecoveryCodeUsed,
}

// ParseEventType returns the event type named s, or a ValidationError with
// code invalid_request (a 400 at the HTTP edge).
func ParseEventType(s string) (EventType, error) {
	if t := EventType(s); slices.Contains(EventTypes, t) {
		return t, nil
	}
	return "", &ValidationError{Code: CodeInvalidRequest, Message: fmt.Sprintf("unknown event type %q", truncate(s, 64))}
}

// ActorType says who caused an event.
type ActorType string

// Actor types.
const (
	ActorUser   ActorType = "user"   // a user acting on their own account
	ActorClient ActorType = "client" // a machine client
	ActorAdmin  ActorType = "admin"  // an admin, through the admin API
	ActorCLI    ActorType = "cli"    // the gatehouse command on the server
	ActorSystem ActorType = "system" // Gatehouse itself (a background job)
)

// Actor is who caused an event: Type, and the user or client id where
// there is one.
type Actor struct {
	Type ActorType
	ID   string
}

// EventUsernameMax is the longest attempted username a login.failed event
// keeps, in bytes.
const EventUsernameMax = 64

// Event is one auth event: an append-only record of something that happened
// to a credential. Empty fields are absent from its JSON. An event never
// holds a password, token, key or secret.
type Event struct {
	// ID is a UUIDv7 of Time: ids sort by time.
	ID        string
	Time      time.Time
	Type      EventType
	UserID    string
	Actor     Actor
	IP        string
	UserAgent string
	RequestID string
	SessionID string
	Details   EventDetails
}

// EventDetails holds what only some event types carry; each field is absent
// from the JSON when empty. docs/events.md lists which type carries which.
type EventDetails struct {
	// Username is the attempted username of login.failed (at most
	// EventUsernameMax bytes) and the name of user.created.
	Username string `json:"username,omitempty"`
	// Reason says why: login.failed "invalid_credentials" / "disabled" /
	// "unknown_user" are never distinguished to the caller, only here;
	// session.revoked "logout", "device", "admin", "refresh_reuse"; user.updated
	// "password_rehash".
	Reason string `json:"reason,omitempty"`
	// Grant is how a login came: "password" (the token endpoint) or
	// "get_token" (the tutorial route).
	Grant string `json:"grant,omitempty"`
	// Count is how many throttled attempts a login.throttled event
	// summarises.
	Count int `json:"count,omitempty"`
	// Until is the end of the backoff period a login.throttled event
	// covers.
	Until *time.Time `json:"until,omitempty"`
	// Scope is the session.revoked selection ("session", "others", "all")
	// or an API key's space-separated scope.
	Scope string `json:"scope,omitempty"`
	// Roles are the roles after user.roles_changed or user.created;
	// PreviousRoles those before a change.
	Roles         []string `json:"roles,omitempty"`
	PreviousRoles []string `json:"previous_roles,omitempty"`
	// KeyID and KeyName identify an API key (never the key itself).
	KeyID   string `json:"key_id,omitempty"`
	KeyName string `json:"key_name,omitempty"`
	// ClientID and ClientName identify a machine client.
	ClientID   string `json:"client_id,omitempty"`
	ClientName string `json:"client_name,omitempty"`
	// Kid and Alg identify a signing key.
	Kid string `json:"kid,omitempty"`
	Alg string `json:"alg,omitempty"`
	// Method is the second factor of an mfa.* event: "totp" or
	// "recovery_code".
	Method string `json:"method,omitempty"`
}

// EventQuery selects events to read, newest first.
type EventQuery struct {
	// Types, when not empty, keeps events of these types only.
	Types []EventType
	// UserID, when set, keeps the events of that user only.
	UserID string
	// Since and Until, when set, keep events with Since <= Time < Until.
	Since, Until time.Time
	// Before, when set, keeps events with IDs less than it (the cursor:
	// the last ID of the previous page).
	Before string
	// Limit is the most events to return (at least 1).
	Limit int
}

// TruncateUsername cuts an attempted username to EventUsernameMax bytes
// without splitting a UTF-8 sequence.
func TruncateUsername(s string) string { return truncate(s, EventUsernameMax) }
