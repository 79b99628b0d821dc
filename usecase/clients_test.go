package usecase

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/domain"
	"github.com/gatehouse-auth/gatehouse/internal/testkit"
)

func TestClientsCreate(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c, secret, err := e.clients.Create(e.ctx, "billing service", []string{"read", "write"})
	testkit.WantErr(t, `Create("billing service")`, err, nil)
	if raw, err := base64.RawURLEncoding.DecodeString(secret); err != nil || len(raw) < 32 {
		t.Fatalf("client secret decodes to %d bytes (%v); want >= 32 bytes of base64url", len(raw), err)
	}
	stored, err := e.store.ClientByID(e.ctx, c.ID)
	testkit.WantErr(t, "ClientByID", err, nil)
	sum := sha256.Sum256([]byte(secret))
	if !bytes.Equal(stored.SecretHash, sum[:]) {
		t.Errorf("stored SecretHash = %x; want SHA-256 of the secret %x", stored.SecretHash, sum)
	}
	if bytes.Contains(stored.SecretHash, []byte(secret)) || strings.Contains(fmt.Sprintf("%+v", *stored), secret) {
		t.Errorf("stored client %+v contains the secret", *stored)
	}
	if stored.Name != "billing service" || !slices.Equal(stored.Scopes, []string{"read", "write"}) || len(stored.ID) != 36 {
		t.Errorf("stored client = %+v; want name, scopes [read write], a 36-char id", *stored)
	}
	c2, secret2, err := e.clients.Create(e.ctx, "billing service", nil)
	testkit.WantErr(t, "Create(same name)", err, nil)
	if c2.ID == c.ID || secret2 == secret {
		t.Errorf("two clients share id %s or a secret", c.ID)
	}
	list, err := e.clients.List(e.ctx)
	testkit.WantErr(t, "List", err, nil)
	if len(list) != 2 {
		t.Errorf("List = %d clients; want 2", len(list))
	}
}

func TestClientsCreateRefuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		client   string
		scopes   []string
		wantCode domain.ErrorCode
	}{
		{"empty name", "", nil, "invalid_request"},
		{"long name", strings.Repeat("n", 129), nil, "invalid_request"},
		{"empty scope", "svc", []string{""}, "invalid_scope"},
		{"scope with space", "svc", []string{"read write"}, "invalid_scope"},
		{"scope with quote", "svc", []string{`read"`}, "invalid_scope"},
		{"scope with backslash", "svc", []string{`read\`}, "invalid_scope"},
		{"non-ascii scope", "svc", []string{"lesen✓"}, "invalid_scope"},
		{"long scope", "svc", []string{strings.Repeat("s", 129)}, "invalid_scope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			_, _, err := e.clients.Create(e.ctx, tt.client, tt.scopes)
			var ve *domain.ValidationError
			if !errors.As(err, &ve) || ve.Code != tt.wantCode {
				t.Errorf("Create(%q, %q) = %v; want ValidationError %s", tt.client, tt.scopes, err, tt.wantCode)
			}
			if list, _ := e.clients.List(e.ctx); len(list) != 0 {
				t.Errorf("refused Create stored %d clients", len(list))
			}
		})
	}
}

func TestClientsAuthenticate(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c, secret, err := e.clients.Create(e.ctx, "svc", []string{"read"})
	testkit.WantErr(t, "Create", err, nil)
	other, otherSecret, err := e.clients.Create(e.ctx, "other", nil)
	testkit.WantErr(t, "Create", err, nil)
	tests := []struct {
		name   string
		id     string
		secret string
		want   error
	}{
		{"good", c.ID, secret, nil},
		{"bad secret", c.ID, secret + "x", domain.ErrInvalidClient},
		{"other client's secret", c.ID, otherSecret, domain.ErrInvalidClient},
		{"secret hash as secret", c.ID, string(c.SecretHash), domain.ErrInvalidClient},
		{"empty secret", c.ID, "", domain.ErrInvalidClient},
		{"unknown id", "no-such-client", secret, domain.ErrInvalidClient},
		{"empty id", "", secret, domain.ErrInvalidClient},
		{"other good", other.ID, otherSecret, nil},
	}
	for _, tt := range tests {
		got, err := e.clients.Authenticate(e.ctx, tt.id, tt.secret)
		testkit.WantErr(t, fmt.Sprintf("Authenticate(%s)", tt.name), err, tt.want)
		if tt.want == nil && got.ID != tt.id {
			t.Errorf("Authenticate(%s) = client %s; want %s", tt.name, got.ID, tt.id)
		}
		if tt.want != nil && got != nil {
			t.Errorf("Authenticate(%s) returned a client with %v", tt.name, err)
		}
	}
	testkit.WantErr(t, "Delete", e.clients.Delete(e.ctx, c.ID), nil)
	_, err = e.clients.Authenticate(e.ctx, c.ID, secret)
	testkit.WantErr(t, "Authenticate(deleted)", err, domain.ErrInvalidClient)
	testkit.WantErr(t, "Delete(again)", e.clients.Delete(e.ctx, c.ID), domain.ErrNotFound)
}

func TestClientsGrant(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		scope     []string
		want      error
		wantScope []string
	}{
		{"default is every client scope", nil, nil, []string{"read", "write", "admin:read"}},
		{"subset", []string{"write"}, nil, []string{"write"}},
		{"all", []string{"admin:read", "read", "write"}, nil, []string{"admin:read", "read", "write"}},
		{"foreign scope", []string{"delete"}, domain.ErrInvalidScope, nil},
		{"subset plus foreign", []string{"read", "delete"}, domain.ErrInvalidScope, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			c, secret, err := e.clients.Create(e.ctx, "svc", []string{"read", "write", "admin:read"})
			testkit.WantErr(t, "Create", err, nil)
			p, err := e.clients.Grant(e.ctx, c.ID, secret, tt.scope)
			testkit.WantErr(t, fmt.Sprintf("Grant(%q)", tt.scope), err, tt.want)
			if tt.want != nil {
				return
			}
			if p.RefreshToken != "" || p.SessionID != "" || p.ExpiresIn != e.policy.AccessTTL || !slices.Equal(p.Scope, tt.wantScope) {
				t.Errorf("Grant(%q) = %+v; want no refresh token, no session, %v, scope %q", tt.scope, p, e.policy.AccessTTL, tt.wantScope)
			}
			claims := e.claims(p.AccessToken)
			if claims.ClientID != c.ID || claims.Subject != c.ID || claims.SessionID != "" || claims.Username != "" ||
				!slices.Equal(claims.Scope, tt.wantScope) ||
				!claims.ExpiresAt.Equal(e.clock.Now().Add(e.policy.AccessTTL)) {
				t.Errorf("client token claims = %+v; want client_id and sub %s, no sid, scope %q", claims, c.ID, tt.wantScope)
			}
		})
	}
}

func TestClientsGrantBadSecret(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c, _, err := e.clients.Create(e.ctx, "svc", []string{"read"})
	testkit.WantErr(t, "Create", err, nil)
	p, err := e.clients.Grant(e.ctx, c.ID, "wrong", nil)
	if p != nil || !errors.Is(err, domain.ErrInvalidClient) {
		t.Errorf("Grant(wrong secret) = %v, %v; want nil, %v", p, err, domain.ErrInvalidClient)
	}
}
