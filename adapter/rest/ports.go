package rest

import (
	"context"

	"github.com/gatehouse-auth/gatehouse/domain"
	"github.com/gatehouse-auth/gatehouse/usecase"
)

// The interfaces below are what the handlers need from the use cases,
// declared here by their consumer. cmd/gatehouse passes the usecase types.

// Verifier checks access tokens (usecase.Verify).
type Verifier interface {
	Verify(ctx context.Context, token string) (*domain.Claims, error)
}

// Registrar creates users (usecase.Register).
type Registrar interface {
	SignUp(ctx context.Context, username, password, ip string) (*domain.User, error)
	Create(ctx context.Context, username, password string, roles []string) (*domain.User, error)
}

// LoginService runs the password grant and its second step
// (usecase.Login).
type LoginService interface {
	Login(ctx context.Context, in usecase.LoginInput) (*usecase.TokenPair, error)
	CompleteMFA(ctx context.Context, in usecase.MFALoginInput) (*usecase.TokenPair, error)
}

// MFAService manages a user's second factor (usecase.MFA).
type MFAService interface {
	Enroll(ctx context.Context, c *domain.Claims) (*usecase.TOTPEnrolment, error)
	Confirm(ctx context.Context, c *domain.Claims, code string) ([]string, error)
	Disable(ctx context.Context, c *domain.Claims, code string) error
	RegenerateCodes(ctx context.Context, c *domain.Claims, code string) ([]string, error)
	Reset(ctx context.Context, userID string) error
}

// RefreshService runs the refresh_token grant (usecase.Refresh).
type RefreshService interface {
	Refresh(ctx context.Context, token string) (*usecase.TokenPair, error)
}

// ClientService manages machine clients (usecase.Clients).
type ClientService interface {
	Create(ctx context.Context, name string, scopes []string) (*domain.Client, string, error)
	List(ctx context.Context) ([]domain.Client, error)
	Delete(ctx context.Context, id string) error
	Grant(ctx context.Context, id, secret string, scope []string) (*usecase.TokenPair, error)
}

// RevokeService ends sessions (usecase.Revoke).
type RevokeService interface {
	Logout(ctx context.Context, c *domain.Claims, scope usecase.LogoutScope) error
	UserSessions(ctx context.Context, userID, exceptID string) error
	Token(ctx context.Context, token, hint string) error
}

// IntrospectService answers RFC 7662 and admits the callers of the
// revocation feed (usecase.Introspect).
type IntrospectService interface {
	Admit(ctx context.Context, c usecase.Caller) error
	Introspect(ctx context.Context, c usecase.Caller, token string) (*usecase.Introspection, error)
}

// AccountService is the signed-in user's own account (usecase.Account).
type AccountService interface {
	Me(ctx context.Context, c *domain.Claims) (*domain.User, error)
	Authorize(ctx context.Context, c *domain.Claims, role string) error
	ChangePassword(ctx context.Context, c *domain.Claims, current, next, ip string) error
}

// UserAdmin manages users (usecase.Users).
type UserAdmin interface {
	List(ctx context.Context, cursor string, limit int) ([]domain.User, string, error)
	Update(ctx context.Context, id string, p usecase.UserPatch) (*domain.User, error)
	RevokeSessions(ctx context.Context, id string) error
	Delete(ctx context.Context, id string) error
}

// APIKeyService manages API keys and exchanges them for tokens
// (usecase.APIKeys).
type APIKeyService interface {
	Create(ctx context.Context, userID string, in usecase.APIKeyInput) (*domain.APIKey, string, error)
	List(ctx context.Context, userID string) ([]domain.APIKey, error)
	ListOf(ctx context.Context, userID string) ([]domain.APIKey, error)
	Delete(ctx context.Context, userID, id string) error
	DeleteAny(ctx context.Context, id string) error
	Exchange(ctx context.Context, key string, scope []string) (*usecase.TokenPair, error)
}

// DeviceService lists and ends users' sessions (usecase.Devices).
type DeviceService interface {
	Mine(ctx context.Context, c *domain.Claims) ([]usecase.Device, error)
	End(ctx context.Context, c *domain.Claims, id string) error
	Of(ctx context.Context, userID string) ([]usecase.Device, error)
}

// EventService reads auth events (usecase.Events).
type EventService interface {
	Mine(ctx context.Context, c *domain.Claims, cursor string, limit int) (*usecase.EventPage, error)
	List(ctx context.Context, in usecase.EventListInput) (*usecase.EventPage, error)
}

// WebhookService manages webhooks (usecase.Webhooks).
type WebhookService interface {
	Create(ctx context.Context, in usecase.WebhookInput) (*domain.Webhook, error)
	List(ctx context.Context) ([]domain.Webhook, error)
	Delete(ctx context.Context, id string) error
	Deliveries(ctx context.Context, webhookID string, limit int) ([]domain.Delivery, error)
}

// KeyService rotates signing keys (usecase.Keys).
type KeyService interface {
	Rotate(ctx context.Context) (string, error)
}

// RevocationFeed serves the revocation feed (usecase.RevocationList).
type RevocationFeed interface {
	Feed(ctx context.Context, after int64, limit int) ([]domain.Revocation, error)
}

// RevocationHealth says whether the in-memory revoked set is recent enough
// to serve from (usecase.RevocationList): Err is nil while it is, and an
// error once no refresh has succeeded for the maximum staleness. Readiness
// fails without one.
type RevocationHealth interface {
	Err() error
}

// JWKSSource renders the public signing keys as a JWK Set document.
type JWKSSource interface {
	JWKS() ([]byte, error)
}

// Pinger reports whether the store is reachable (readiness).
type Pinger interface {
	Ping(ctx context.Context) error
}
