package usecase

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/gatehouse-auth/gatehouse/domain"
)

// clientSecretBytes is the entropy of a client secret: 256 bits, which is
// why one SHA-256 is enough to store it (no password-style stretching).
const clientSecretBytes = 32

// Clients manages machine clients and runs the client_credentials grant.
type Clients struct {
	store   domain.ClientStore
	issuer  domain.TokenIssuer
	policy  TokenPolicy
	now     func() time.Time
	metrics Metrics
}

// NewClients returns a Clients that reports the tokens of the
// client_credentials grant, and the client.created and client.deleted
// events it commits, to metrics (nil reports nothing).
func NewClients(store domain.ClientStore, issuer domain.TokenIssuer, policy TokenPolicy, now func() time.Time, metrics Metrics) *Clients {
	return &Clients{store: store, issuer: issuer, policy: policy, now: now, metrics: orNoMetrics(metrics)}
}

// Create registers a client and returns it with its secret, which is not
// stored and cannot be shown again.
func (s *Clients) Create(ctx context.Context, name string, scopes []string) (*domain.Client, string, error) {
	if name == "" || len(name) > 128 {
		return nil, "", &domain.ValidationError{Code: domain.CodeInvalidRequest, Message: "name must be 1 to 128 characters"}
	}
	if err := validateScopes(scopes); err != nil {
		return nil, "", err
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	secret := newSecret(clientSecretBytes)
	c := &domain.Client{
		ID:         newID(now),
		Name:       name,
		SecretHash: hashToken(secret),
		Scopes:     slices.Clone(scopes),
		CreatedAt:  now,
	}
	events := []domain.Event{clientEvent(ctx, now, domain.EventClientCreated, c)}
	if err := s.store.CreateClient(ctx, c, events); err != nil {
		return nil, "", fmt.Errorf("create client: %w", err)
	}
	countWritten(s.metrics, events)
	return c, secret, nil
}

// clientEvent is a client.* event of c: its id and name, never the secret
// or its hash.
func clientEvent(ctx context.Context, at time.Time, t domain.EventType, c *domain.Client) domain.Event {
	ev := newEvent(ctx, at, t, "", domain.Actor{})
	ev.Details.ClientID, ev.Details.ClientName = c.ID, c.Name
	return ev
}

// List returns every client.
func (s *Clients) List(ctx context.Context) ([]domain.Client, error) {
	return s.store.ListClients(ctx)
}

// Delete removes a client with its client.deleted event. Tokens already
// issued to it run out within the access token lifetime.
func (s *Clients) Delete(ctx context.Context, id string) error {
	c, err := s.store.ClientByID(ctx, id)
	if err != nil {
		return fmt.Errorf("delete client %s: %w", id, err)
	}
	events := []domain.Event{clientEvent(ctx, s.now(), domain.EventClientDeleted, c)}
	if err := s.store.DeleteClient(ctx, id, events); err != nil {
		return fmt.Errorf("delete client %s: %w", id, err)
	}
	countWritten(s.metrics, events)
	return nil
}

// Authenticate checks a client id and secret; any mismatch is
// domain.ErrInvalidClient.
func (s *Clients) Authenticate(ctx context.Context, id, secret string) (*domain.Client, error) {
	if id == "" || secret == "" {
		return nil, domain.ErrInvalidClient
	}
	c, err := s.store.ClientByID(ctx, id)
	if errors.Is(err, domain.ErrNotFound) {
		return nil, domain.ErrInvalidClient
	}
	if err != nil {
		return nil, fmt.Errorf("find client: %w", err)
	}
	if subtle.ConstantTimeCompare(c.SecretHash, hashToken(secret)) != 1 {
		return nil, domain.ErrInvalidClient
	}
	return c, nil
}

// Grant runs the client_credentials grant: an access token for the client
// itself, with the requested scopes (all of the client's when none are
// requested). No refresh token is issued (RFC 6749 4.4.3).
func (s *Clients) Grant(ctx context.Context, id, secret string, scope []string) (*TokenPair, error) {
	pair, err := s.grant(ctx, id, secret, scope)
	if err == nil {
		s.metrics.TokenIssued(GrantClientCredentials)
	}
	return pair, err
}

func (s *Clients) grant(ctx context.Context, id, secret string, scope []string) (*TokenPair, error) {
	c, err := s.Authenticate(ctx, id, secret)
	if err != nil {
		return nil, err
	}
	if len(scope) == 0 {
		scope = c.Scopes
	}
	if !c.AllowsScope(scope) {
		return nil, domain.ErrInvalidScope
	}
	now := s.now().UTC()
	token, err := s.issuer.Issue(ctx, domain.Claims{
		ID:        newID(now),
		Subject:   c.ID,
		ClientID:  c.ID,
		Scope:     scope,
		IssuedAt:  now,
		NotBefore: now,
		ExpiresAt: now.Add(s.policy.AccessTTL),
	})
	if err != nil {
		return nil, fmt.Errorf("issue access token: %w", err)
	}
	return &TokenPair{AccessToken: token, ExpiresIn: s.policy.AccessTTL, Scope: scope}, nil
}

// validateScopes checks RFC 6749 scope-token syntax (printable ASCII
// without space, quote or backslash).
func validateScopes(scopes []string) error {
	for _, s := range scopes {
		if s == "" || len(s) > 128 {
			return &domain.ValidationError{Code: domain.CodeInvalidScope, Message: "scopes must be 1 to 128 characters"}
		}
		for _, c := range s {
			if c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
				return &domain.ValidationError{Code: domain.CodeInvalidScope, Message: "scope contains a forbidden character"}
			}
		}
	}
	return nil
}
