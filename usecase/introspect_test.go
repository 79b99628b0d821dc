package usecase

import (
	"errors"
	"reflect"
	"testing"

	"github.com/gatehouse-auth/gatehouse/domain"
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
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			u := e.addUser("alice", "alice's password")
			token := tt.token(e)
			got, err := e.introspect.Introspect(e.ctx, e.resourceServer(), token)
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
	e.introspect = NewIntrospect(e.verify, e.account, e.clients, outageGrants{e.store}, e.clock.Now)
	caller := e.resourceServer()
	if _, err := e.introspect.Introspect(e.ctx, caller, p.RefreshToken); !errors.Is(err, errOutage) {
		t.Errorf("Introspect(refresh token) during a store outage = %v; want the outage", err)
	}
	// Access tokens never touch the store.
	got, err := e.introspect.Introspect(e.ctx, caller, p.AccessToken)
	if err != nil || !got.Active {
		t.Errorf("Introspect(access token) during an outage = %+v, %v; want active", got, err)
	}
}

func TestIntrospectAdmits(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		caller func(e *env) Caller
		want   error
	}{
		{"client", func(e *env) Caller { return e.resourceServer() }, nil},
		{"admin token", func(e *env) Caller {
			e.addUser("root", "root's password", domain.RoleAdmin)
			return Caller{Bearer: e.signIn("root", "root's password").AccessToken}
		}, nil},
		{"user token", func(e *env) Caller {
			return Caller{Bearer: e.signIn("alice", "alice's password").AccessToken}
		}, domain.ErrForbidden},
		{"admin token of a user demoted since", func(e *env) Caller {
			u := e.addUser("root", "root's password", domain.RoleAdmin)
			p := e.signIn("root", "root's password")
			none := []string{}
			// Straight in the store, no revocation: the token still
			// verifies and carries the role, the user no longer has it.
			_, _, err := e.store.ChangeUser(e.ctx, domain.UserChange{UserID: u.ID, Roles: &none, At: e.clock.Now()})
			testkit.WantErr(e.t, "ChangeUser(roles)", err, nil)
			return Caller{Bearer: p.AccessToken}
		}, domain.ErrForbidden},
		{"bad token", func(*env) Caller { return Caller{Bearer: "garbage"} }, domain.ErrTokenInvalid},
		{"bad token with client credentials", func(e *env) Caller {
			c := e.resourceServer()
			c.Bearer = "garbage"
			return c
		}, domain.ErrTokenInvalid},
		{"wrong secret", func(e *env) Caller {
			c := e.resourceServer()
			c.ClientSecret += "x"
			return c
		}, domain.ErrInvalidClient},
		{"unknown client", func(*env) Caller { return Caller{ClientID: "nobody", ClientSecret: "secret"} }, domain.ErrInvalidClient},
		{"nobody", func(*env) Caller { return Caller{} }, domain.ErrInvalidClient},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.addUser("alice", "alice's password")
			token := e.signIn("alice", "alice's password").AccessToken
			caller := tt.caller(e)
			testkit.WantErr(t, "Admit("+tt.name+")", e.introspect.Admit(e.ctx, caller), tt.want)
			got, err := e.introspect.Introspect(e.ctx, caller, token)
			testkit.WantErr(t, "Introspect("+tt.name+")", err, tt.want)
			if tt.want == nil && !got.Active {
				t.Errorf("Introspect(%s) = inactive; want active", tt.name)
			}
			if tt.want != nil && got != nil {
				t.Errorf("Introspect(%s) = %+v; want nothing for a refused caller", tt.name, got)
			}
		})
	}
}

func TestIntrospectNeedsToken(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, err := e.introspect.Introspect(e.ctx, e.resourceServer(), "")
	var ve *domain.ValidationError
	if !errors.As(err, &ve) || ve.Code != "invalid_request" {
		t.Errorf("Introspect(empty token) = %v; want invalid_request", err)
	}
}
