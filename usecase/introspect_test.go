package usecase

import (
	"errors"
	"reflect"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/testkit"
)

func TestIntrospect(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		token    func(e *env) string
		wantType string // "" means inactive
	}{
		{"access token", func(e *env) string { return e.signIn("alice", "alice's password").AccessToken }, "access_token"},
		{"refresh token", func(e *env) string { return e.signIn("alice", "alice's password").RefreshToken }, "refresh_token"},
		{"current refresh token after rotation", func(e *env) string {
			return e.mustRefresh(e.signIn("alice", "alice's password").RefreshToken).RefreshToken
		}, "refresh_token"},
		{"client token", func(e *env) string {
			c, secret, err := e.clients.Create(e.ctx, "svc", []string{"read"})
			testkit.WantErr(e.t, "Create", err, nil)
			p, err := e.clients.Grant(e.ctx, c.ID, secret, nil)
			testkit.WantErr(e.t, "Grant", err, nil)
			return p.AccessToken
		}, "access_token"},
		{"rotated-away refresh token", func(e *env) string {
			p := e.signIn("alice", "alice's password")
			e.mustRefresh(p.RefreshToken)
			return p.RefreshToken // still inside the reuse interval, but not current
		}, ""},
		{"revoked access token", func(e *env) string {
			p := e.signIn("alice", "alice's password")
			testkit.WantErr(e.t, "Logout", e.revoke.Logout(e.ctx, e.claims(p.AccessToken), LogoutLocal), nil)
			return p.AccessToken
		}, ""},
		{"revoked refresh token", func(e *env) string {
			p := e.signIn("alice", "alice's password")
			testkit.WantErr(e.t, "Logout", e.revoke.Logout(e.ctx, e.claims(p.AccessToken), LogoutLocal), nil)
			return p.RefreshToken
		}, ""},
		{"expired access token", func(e *env) string {
			p := e.signIn("alice", "alice's password")
			e.clock.Advance(e.policy.AccessTTL)
			return p.AccessToken
		}, ""},
		{"expired session", func(e *env) string {
			p := e.signIn("alice", "alice's password")
			e.clock.Advance(e.policy.RefreshTTL)
			return p.RefreshToken
		}, ""},
		{"disabled user's refresh token", func(e *env) string {
			p := e.signIn("alice", "alice's password")
			u, _ := e.store.UserByUsername(e.ctx, "alice")
			e.disable(u)
			return p.RefreshToken
		}, ""},
		{"garbage", func(*env) string { return "garbage" }, ""},
		{"empty", func(*env) string { return "" }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			u := e.addUser("alice", "alice's password")
			token := tt.token(e)
			got, err := e.introspect.Introspect(e.ctx, token)
			testkit.WantErr(t, "Introspect("+tt.name+")", err, nil)
			if tt.wantType == "" {
				if !reflect.DeepEqual(*got, Introspection{}) {
					t.Errorf("Introspect(%s) = %+v; want inactive with no other information", tt.name, got)
				}
				return
			}
			if !got.Active || got.TokenType != tt.wantType {
				t.Fatalf("Introspect(%s) = active %v, type %q; want active %q", tt.name, got.Active, got.TokenType, tt.wantType)
			}
			if got.Claims.ClientID == "" && (got.Claims.Subject != u.ID || got.Claims.Username != "alice" || got.Claims.SessionID == "" || got.Claims.ExpiresAt.IsZero()) {
				t.Errorf("Introspect(%s).Claims = %+v; want alice's session claims with an expiry", tt.name, got.Claims)
			}
		})
	}
}

func TestIntrospectStoreOutage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.addUser("alice", "alice's password")
	p := e.signIn("alice", "alice's password")
	e.introspect = NewIntrospect(e.verify, outageGrants{e.store}, e.clock.Now)
	if _, err := e.introspect.Introspect(e.ctx, p.RefreshToken); !errors.Is(err, errOutage) {
		t.Errorf("Introspect(refresh token) during a store outage = %v; want the outage", err)
	}
	// Access tokens never touch the store.
	got, err := e.introspect.Introspect(e.ctx, p.AccessToken)
	if err != nil || !got.Active {
		t.Errorf("Introspect(access token) during an outage = %+v, %v; want active", got, err)
	}
}
