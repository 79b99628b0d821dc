package usecase

import (
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/domain"
	"github.com/gatehouse-auth/gatehouse/internal/testkit"
)

func TestVerify(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		token func(e *env) string
		want  error
	}{
		{"valid", func(e *env) string { return e.signIn("alice", "alice's password").AccessToken }, nil},
		{"empty", func(*env) string { return "" }, domain.ErrTokenMissing},
		{"blank", func(*env) string { return " \t " }, domain.ErrTokenMissing},
		{"garbage", func(*env) string { return "not.a.token" }, domain.ErrTokenInvalid},
		{"forged", func(*env) string { return "tok:someone:sid:jti" }, domain.ErrTokenInvalid},
		{"refresh token", func(e *env) string { return e.signIn("alice", "alice's password").RefreshToken }, domain.ErrTokenInvalid},
		{"expired", func(e *env) string {
			p := e.signIn("alice", "alice's password")
			e.clock.Advance(e.policy.AccessTTL)
			return p.AccessToken
		}, domain.ErrTokenExpired},
		{"just before expiry", func(e *env) string {
			p := e.signIn("alice", "alice's password")
			e.clock.Advance(e.policy.AccessTTL - time.Second)
			return p.AccessToken
		}, nil},
		{"revoked session", func(e *env) string {
			p := e.signIn("alice", "alice's password")
			testkit.WantErr(e.t, "Logout", e.revoke.Logout(e.ctx, e.claims(p.AccessToken), LogoutLocal), nil)
			return p.AccessToken
		}, domain.ErrTokenRevoked},
		{"other session revoked", func(e *env) string {
			p := e.signIn("alice", "alice's password")
			other := e.signIn("alice", "alice's password")
			testkit.WantErr(e.t, "Logout", e.revoke.Logout(e.ctx, e.claims(other.AccessToken), LogoutLocal), nil)
			return p.AccessToken
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.addUser("alice", "alice's password")
			token := tt.token(e)
			c, err := e.verify.Verify(e.ctx, token)
			testkit.WantErr(t, "Verify("+tt.name+")", err, tt.want)
			if tt.want == nil && (c == nil || c.Username != "alice") {
				t.Errorf("Verify(%s) = %+v; want alice's claims", tt.name, c)
			}
			if tt.want != nil && c != nil {
				t.Errorf("Verify(%s) returned claims %+v with error %v", tt.name, c, err)
			}
		})
	}
}
