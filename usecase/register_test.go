package usecase

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/domain"
	"github.com/gatehouse-auth/gatehouse/internal/testkit"
)

func TestRegisterCreates(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u, err := e.register.SignUp(e.ctx, "  Alice.Smith@Example.COM ", "correct horse battery", "192.0.2.1")
	testkit.WantErr(t, `SignUp("Alice.Smith@Example.COM")`, err, nil)
	if u.Username != "alice.smith@example.com" {
		t.Errorf("SignUp(...).Username = %q; want %q", u.Username, "alice.smith@example.com")
	}
	if len(u.ID) != 36 || !u.CreatedAt.Equal(e.clock.Now()) || len(u.Roles) != 0 || u.Disabled {
		t.Errorf("SignUp(...) = %+v; want a 36-char id, CreatedAt %v, no roles, enabled", u, e.clock.Now())
	}
	stored, err := e.store.UserByUsername(e.ctx, "alice.smith@example.com")
	testkit.WantErr(t, "UserByUsername", err, nil)
	if stored.ID != u.ID {
		t.Errorf("stored user id = %q; want %q", stored.ID, u.ID)
	}
	if stored.PasswordHash != "h:correct horse battery" {
		t.Errorf("stored PasswordHash = %q; want the hasher's output %q", stored.PasswordHash, "h:correct horse battery")
	}

	admin, err := e.register.Create(e.ctx, "root", "another long secret", []string{domain.RoleAdmin})
	testkit.WantErr(t, `Create("root", admin)`, err, nil)
	if !admin.HasRole(domain.RoleAdmin) {
		t.Errorf("Create(roles=[admin]).Roles = %q; want [admin]", admin.Roles)
	}
}

func TestRegisterRefuses(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("a", 65)
	huge := strings.Repeat("x", domain.PasswordMaxBytes+1)
	tests := []struct {
		name     string
		username string
		password string
		wantCode domain.ErrorCode // ValidationError code; "" when wantErr is set
		wantErr  error
	}{
		{"duplicate", "alice", "another good password", "", domain.ErrUsernameTaken},
		{"case variant", "ALICE", "another good password", "", domain.ErrUsernameTaken},
		{"padded variant", " Alice ", "another good password", "", domain.ErrUsernameTaken},
		{"too short", "al", "a fine password", "invalid_username", nil},
		{"empty", "", "a fine password", "invalid_username", nil},
		{"too long", long, "a fine password", "invalid_username", nil},
		{"space inside", "al ice", "a fine password", "invalid_username", nil},
		{"slash", "al/ice", "a fine password", "invalid_username", nil},
		{"unicode", "ålice", "a fine password", "invalid_username", nil},
		{"sql", "bob'; DROP TABLE users;--", "a fine password", "invalid_username", nil},
		{"sql or", "x' OR '1'='1", "a fine password", "invalid_username", nil},
		{"short password", "bob", "seven77", "weak_password", nil},
		{"common password", "bob", "password123", "weak_password", nil},
		{"common password upper", "bob", "PASSWORD123", "weak_password", nil},
		{"password is username", "bobbybobby", "BobbyBobby", "weak_password", nil},
		{"password over 1024 bytes", "bob", huge, "weak_password", nil},
		{"bad role", "carol", "a fine password", "invalid_request", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.addUser("alice", "alice's password")
			hashesBefore, _ := e.hasher.counts()
			var roles []string
			if tt.name == "bad role" {
				roles = []string{"Admin!"}
			}
			u, err := e.register.Create(e.ctx, tt.username, tt.password, roles)
			if u != nil {
				t.Errorf("Create(%q) returned user %+v; want nil", tt.username, u)
			}
			if tt.wantErr != nil {
				testkit.WantErr(t, fmt.Sprintf("Create(%q)", tt.username), err, tt.wantErr)
				return
			}
			var ve *domain.ValidationError
			if !errors.As(err, &ve) || ve.Code != tt.wantCode {
				t.Fatalf("Create(%q) = %v; want ValidationError %s", tt.username, err, tt.wantCode)
			}
			if hashes, _ := e.hasher.counts(); hashes != hashesBefore {
				t.Errorf("Create(%q) hashed a password it refused", tt.username)
			}
			if _, err := e.store.UserByUsername(e.ctx, strings.ToLower(tt.username)); !errors.Is(err, domain.ErrNotFound) {
				t.Errorf("UserByUsername after refused Create(%q) = %v; want ErrNotFound", tt.username, err)
			}
		})
	}
}

func TestRegisterMinLength(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := NewRegister(e.store, e.hasher, nil, 12, true, e.clock.Now, nil)
	var ve *domain.ValidationError
	if _, err := r.Create(e.ctx, "bob", "elevenchars", nil); !errors.As(err, &ve) || ve.Code != "weak_password" {
		t.Errorf("Create(11-char password, min 12) = %v; want weak_password", err)
	}
	if _, err := r.Create(e.ctx, "bob", "twelve chars", nil); err != nil {
		t.Errorf("Create(12-char password, min 12) = %v; want nil", err)
	}
}

func TestSignUpDisabled(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := NewRegister(e.store, e.hasher, nil, 0, false, e.clock.Now, nil)
	_, err := r.SignUp(e.ctx, "bob", "a fine password", "192.0.2.1")
	testkit.WantErr(t, `SignUp("bob") with signup off`, err, domain.ErrSignupDisabled)
	if _, err := e.store.UserByUsername(e.ctx, "bob"); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("UserByUsername after refused SignUp = %v; want ErrNotFound", err)
	}
	// The admin/CLI path still works.
	if _, err := r.Create(e.ctx, "bob", "a fine password", nil); err != nil {
		t.Errorf("Create with signup off = %v; want nil", err)
	}
}
