package usecase

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse-auth/gatehouse/domain"
)

// Introspection is the RFC 7662 view of a token. Inactive tokens carry no
// other information.
type Introspection struct {
	Active    bool
	TokenType string // access_token, refresh_token or api_key
	Claims    domain.Claims
}

// Caller is who asks a resource server's question (introspection, the
// revocation feed): an admin with an access token, or a machine client
// with its credentials.
type Caller struct {
	// Bearer is the access token the caller presented; when set, the
	// client credentials are not looked at.
	Bearer       string
	ClientID     string
	ClientSecret string
}

// Introspect tells a resource server whether a token is active, and decides
// who may ask.
type Introspect struct {
	verify  *Verify
	account *Account
	clients *Clients
	store   domain.GrantReader
	now     func() time.Time
}

// NewIntrospect returns an Introspect. account and clients judge callers
// (Admit).
func NewIntrospect(verify *Verify, account *Account, clients *Clients, store domain.GrantReader, now func() time.Time) *Introspect {
	return &Introspect{verify: verify, account: account, clients: clients, store: store, now: now}
}

// Admit lets in the callers of resource-server questions: an admin (a
// bearer token whose user still holds the admin role, read now) or a
// machine client with valid credentials. A bad token is refused as
// Verify refuses it, a token without the role with domain.ErrForbidden,
// and bad client credentials with domain.ErrInvalidClient.
func (i *Introspect) Admit(ctx context.Context, c Caller) error {
	if c.Bearer != "" {
		claims, err := i.verify.Verify(ctx, c.Bearer)
		if err != nil {
			return err
		}
		return i.account.Authorize(ctx, claims, domain.RoleAdmin)
	}
	_, err := i.clients.Authenticate(ctx, c.ClientID, c.ClientSecret)
	return err
}

// Introspect reports on token to caller, once Admit lets it in, trying
// token as an access token or an API key, then as a refresh token (never a
// token with a key's shape: a malformed key costs no store read). Only
// refusals of the caller and store outages are errors.
func (i *Introspect) Introspect(ctx context.Context, caller Caller, token string) (*Introspection, error) {
	if err := i.Admit(ctx, caller); err != nil {
		return nil, err
	}
	if token == "" {
		return nil, &domain.ValidationError{Code: domain.CodeInvalidRequest, Message: "token is required"}
	}
	if c, err := i.verify.Verify(ctx, token); err == nil {
		if c.KeyID != "" {
			// sid is the key's revocation id: a resource server that
			// polls the revocation feed refuses the key as soon as the
			// feed lists it.
			in := &Introspection{Active: true, TokenType: "api_key", Claims: *c}
			in.Claims.SessionID = domain.APIKeyRevocationID(c.KeyID)
			return in, nil
		}
		return &Introspection{Active: true, TokenType: "access_token", Claims: *c}, nil
	}
	if _, isKey := domain.APIKeyShape(token); isKey {
		return &Introspection{}, nil // a refused key is no refresh token either: no lookup
	}
	g, err := i.store.RefreshGrant(ctx, hashToken(token))
	if errors.Is(err, domain.ErrNotFound) {
		return &Introspection{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("find refresh token: %w", err)
	}
	rec, sess, u := &g.Token, &g.Session, &g.User
	if !liveGrant(g, i.now()) || rec.Generation != sess.Generation {
		return &Introspection{}, nil
	}
	return &Introspection{Active: true, TokenType: "refresh_token", Claims: domain.Claims{
		Subject:   u.ID,
		Username:  u.Username,
		SessionID: sess.ID,
		Scope:     sess.Scope,
		IssuedAt:  rec.CreatedAt,
		ExpiresAt: sess.ExpiresAt,
	}}, nil
}
