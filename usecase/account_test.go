package usecase

import (
	"errors"
	"testing"

	"github.com/gatehouse-auth/gatehouse/domain"
	"github.com/gatehouse-auth/gatehouse/internal/testkit"
)

func TestMe(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		claims func(e *env, u *domain.User) *domain.Claims
		want   error
	}{
		{"signed-in user", func(e *env, _ *domain.User) *domain.Claims {
			return e.claims(e.signIn("alice", "alice's password").AccessToken)
		}, nil},
		{"deleted user", func(e *env, u *domain.User) *domain.Claims {
			c := e.claims(e.signIn("alice", "alice's password").AccessToken)
			e.deleteUser(u.ID)
			return c
		}, domain.ErrTokenRevoked},
		{"disabled user", func(e *env, u *domain.User) *domain.Claims {
			c := e.claims(e.signIn("alice", "alice's password").AccessToken)
			e.disable(u)
			return c
		}, domain.ErrTokenRevoked},
		{"client token", func(e *env, _ *domain.User) *domain.Claims {
			c, secret, err := e.clients.Create(e.ctx, "svc", []string{"read"})
			testkit.WantErr(e.t, "Clients.Create", err, nil)
			p, err := e.clients.Grant(e.ctx, c.ID, secret, nil)
			testkit.WantErr(e.t, "Grant", err, nil)
			return e.claims(p.AccessToken)
		}, domain.ErrForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			u := e.addUser("alice", "alice's password", "admin")
			got, err := e.account.Me(e.ctx, tt.claims(e, u))
			testkit.WantErr(t, "Me("+tt.name+")", err, tt.want)
			if tt.want == nil && (got.ID != u.ID || got.Username != "alice" || !got.HasRole("admin")) {
				t.Errorf("Me = %+v; want alice with role admin", got)
			}
		})
	}
}

func TestMeStoreOutage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.addUser("alice", "alice's password")
	c := e.claims(e.signIn("alice", "alice's password").AccessToken)
	e.build(outageUsers{e.store})
	_, err := e.account.Me(e.ctx, c)
	if errors.Is(err, domain.ErrTokenRevoked) || !errors.Is(err, errOutage) {
		t.Errorf("Me during a store outage = %v; want the wrapped outage", err)
	}
}

func TestChangePassword(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.addUser("alice", "alice's password")
	mine := e.signIn("alice", "alice's password")
	other := e.signIn("alice", "alice's password")
	e.addUser("bob", "bob's password")
	bob := e.signIn("bob", "bob's password")
	c := e.claims(mine.AccessToken)

	err := e.account.ChangePassword(e.ctx, c, "not my password", "a brand new password", "192.0.2.1")
	if !errors.Is(err, domain.ErrInvalidCredentials) {
		t.Fatalf("ChangePassword(wrong current) = %v; want %v", err, domain.ErrInvalidCredentials)
	}
	var ve *domain.ValidationError
	err = e.account.ChangePassword(e.ctx, c, "alice's password", "password1", "192.0.2.1")
	if !errors.As(err, &ve) || ve.Code != "weak_password" {
		t.Fatalf("ChangePassword(common new password) = %v; want weak_password", err)
	}
	if got, _ := e.store.UserByID(e.ctx, u.ID); got.PasswordHash != "h:alice's password" {
		t.Fatalf("PasswordHash after refused changes = %q; want unchanged", got.PasswordHash)
	}
	if e.revoked.Size() != 0 {
		t.Fatalf("refused ChangePassword revoked %d sessions; want 0", e.revoked.Size())
	}

	testkit.WantErr(t, "ChangePassword", e.account.ChangePassword(e.ctx, c, "alice's password", "a brand new password", "192.0.2.1"), nil)
	got, err := e.store.UserByID(e.ctx, u.ID)
	testkit.WantErr(t, "UserByID", err, nil)
	if got.PasswordHash != "h:a brand new password" {
		t.Errorf("PasswordHash after ChangePassword = %q; want %q", got.PasswordHash, "h:a brand new password")
	}
	// The caller's session lives on; the other session is revoked.
	if e.revoked.Revoked(mine.SessionID) {
		t.Errorf("ChangePassword revoked the caller's own session")
	}
	e.claims(mine.AccessToken)
	e.mustRefresh(mine.RefreshToken)
	e.wantRevoked(other.SessionID, []string{other.RefreshToken}, []string{other.AccessToken})
	if e.revoked.Revoked(bob.SessionID) {
		t.Errorf("alice's ChangePassword revoked bob's session")
	}

	_, err = e.login.Login(e.ctx, LoginInput{Username: "alice", Password: "alice's password", IP: "192.0.2.1"})
	testkit.WantErr(t, "Login(old password)", err, domain.ErrInvalidCredentials)
	e.signIn("alice", "a brand new password")
}

func TestAuthorizeReadsTheStoredRoles(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.addUser("root", "root's password", domain.RoleAdmin)
	c := e.claims(e.signIn("root", "root's password").AccessToken)
	testkit.WantErr(t, "Authorize(admin)", e.account.Authorize(e.ctx, c, domain.RoleAdmin), nil)
	testkit.WantErr(t, "Authorize(ops)", e.account.Authorize(e.ctx, c, "ops"), domain.ErrForbidden)

	// Demoted in the store without touching the session (another replica's
	// change not yet heard of): the role claim alone is not enough.
	none := []string{}
	if _, _, err := e.store.ChangeUser(e.ctx, domain.UserChange{UserID: u.ID, Roles: &none, At: e.clock.Now()}); err != nil {
		t.Fatal(err)
	}
	testkit.WantErr(t, "Authorize(demoted)", e.account.Authorize(e.ctx, c, domain.RoleAdmin), domain.ErrForbidden)

	// A role in the store but not in the token is not enough either.
	admin := []string{domain.RoleAdmin}
	if _, _, err := e.store.ChangeUser(e.ctx, domain.UserChange{UserID: u.ID, Roles: &admin, At: e.clock.Now()}); err != nil {
		t.Fatal(err)
	}
	noRole := *c
	noRole.Roles = nil
	testkit.WantErr(t, "Authorize(no role claim)", e.account.Authorize(e.ctx, &noRole, domain.RoleAdmin), domain.ErrForbidden)
	e.disable(u)
	testkit.WantErr(t, "Authorize(disabled)", e.account.Authorize(e.ctx, c, domain.RoleAdmin), domain.ErrTokenRevoked)
}
