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
	TokenType string // access_token or refresh_token
	Claims    domain.Claims
}

// Introspect tells a resource server whether a token is active.
type Introspect struct {
	verify *Verify
	store  domain.SessionStore
	now    func() time.Time
}

// NewIntrospect returns an Introspect.
func NewIntrospect(verify *Verify, store domain.SessionStore, now func() time.Time) *Introspect {
	return &Introspect{verify: verify, store: store, now: now}
}

// Introspect reports on token, trying it as an access token, then as a
// refresh token. Only store outages are errors.
func (i *Introspect) Introspect(ctx context.Context, token string) (*Introspection, error) {
	if c, err := i.verify.Verify(ctx, token); err == nil {
		return &Introspection{Active: true, TokenType: "access_token", Claims: *c}, nil
	}
	g, err := i.store.RefreshGrant(ctx, hashToken(token))
	if errors.Is(err, domain.ErrNotFound) {
		return &Introspection{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("find refresh token: %w", err)
	}
	rec, sess, u := &g.Token, &g.Session, &g.User
	if sess.Revoked() || rec.Generation != sess.Generation || !i.now().Before(sess.ExpiresAt) || u.Disabled || sess.UserStamp != u.Stamp {
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
