package usecase

import (
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/domain"
	"github.com/gatehouse-auth/gatehouse/internal/testkit"
)

func TestLoginSuccess(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.addUser("alice", "alice's password", "admin")
	p, err := e.login.Login(e.ctx, LoginInput{Username: "ALICE", Password: "alice's password", Scope: []string{"openid", "read"}, IP: "192.0.2.1"})
	testkit.WantErr(t, `Login("ALICE")`, err, nil)
	if p.AccessToken == "" || p.RefreshToken == "" || p.SessionID == "" {
		t.Fatalf("Login = %+v; want access token, refresh token and session id", p)
	}
	if p.ExpiresIn != e.policy.AccessTTL || !slices.Equal(p.Scope, []string{"openid", "read"}) {
		t.Errorf("Login = ExpiresIn %v, Scope %q; want %v, [openid read]", p.ExpiresIn, p.Scope, e.policy.AccessTTL)
	}
	if raw, err := base64.RawURLEncoding.DecodeString(p.RefreshToken); err != nil || len(raw) < 32 {
		t.Errorf("refresh token decodes to %d bytes (%v); want >= 32 bytes of base64url", len(raw), err)
	}

	c := e.claims(p.AccessToken)
	now := e.clock.Now()
	if c.Subject != u.ID || c.Username != "alice" || c.SessionID != p.SessionID || c.ClientID != "" ||
		!slices.Equal(c.Roles, []string{"admin"}) || !slices.Equal(c.Scope, []string{"openid", "read"}) ||
		!c.IssuedAt.Equal(now) || !c.ExpiresAt.Equal(now.Add(15*time.Minute)) || c.ID == "" {
		t.Errorf("access token claims = %+v; want sub %s, user alice, sid %s, roles [admin], 15 min", c, u.ID, p.SessionID)
	}

	sess, err := e.store.SessionByID(e.ctx, p.SessionID)
	testkit.WantErr(t, "SessionByID", err, nil)
	if sess.UserID != u.ID || sess.Generation != 0 || sess.Revoked() || !sess.ExpiresAt.Equal(now.Add(e.policy.RefreshTTL)) ||
		!slices.Equal(sess.Scope, []string{"openid", "read"}) {
		t.Errorf("stored session = %+v; want user %s, generation 0, live, expires %v", sess, u.ID, now.Add(e.policy.RefreshTTL))
	}
	rec, err := e.store.RefreshTokenByHash(e.ctx, hashToken(p.RefreshToken))
	testkit.WantErr(t, "RefreshTokenByHash(SHA-256 of the refresh token)", err, nil)
	if rec.SessionID != p.SessionID || rec.Generation != 0 {
		t.Errorf("stored refresh token = %+v; want session %s generation 0", rec, p.SessionID)
	}
	if _, err := e.store.RefreshTokenByHash(e.ctx, []byte(p.RefreshToken)); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("RefreshTokenByHash(token itself) = %v; want ErrNotFound (only hashes are stored)", err)
	}
	if _, verifies := e.hasher.counts(); verifies != 1 {
		t.Errorf("Login called Verify %d times; want 1", verifies)
	}

	// Each login opens its own session.
	p2 := e.signIn("alice", "alice's password")
	if p2.SessionID == p.SessionID || p2.RefreshToken == p.RefreshToken {
		t.Errorf("second Login reused session %s or its refresh token", p.SessionID)
	}
}

func TestLoginFailsAlike(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		username string
		password string
	}{
		{"wrong password", "alice", "not alice's password"},
		{"wrong password case", "alice", "ALICE'S PASSWORD"},
		{"empty password", "alice", ""},
		{"unknown user", "mallory", "alice's password"},
		{"disabled user", "dave", "dave's password"},
		{"malformed username", "a", "alice's password"},
		{"sql username", "alice' OR '1'='1", "alice's password"},
		{"empty username", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.addUser("alice", "alice's password")
			dave := e.addUser("dave", "dave's password")
			e.disable(dave)
			_, verifiesBefore := e.hasher.counts()

			p, err := e.login.Login(e.ctx, LoginInput{Username: tt.username, Password: tt.password, IP: "192.0.2.1"})
			if p != nil || !errors.Is(err, domain.ErrInvalidCredentials) || err.Error() != domain.ErrInvalidCredentials.Error() {
				t.Fatalf("Login(%q) = %v, %v; want nil, exactly %v", tt.username, p, err, domain.ErrInvalidCredentials)
			}
			if _, verifies := e.hasher.counts(); verifies-verifiesBefore != 1 {
				t.Errorf("Login(%q) called Verify %d times; want exactly 1", tt.username, verifies-verifiesBefore)
			}
			// The unknown or malformed user is checked against a dummy hash
			// made by the same hasher, never against a real user's.
			if tt.username != "alice" && tt.username != "dave" {
				got := e.hasher.lastVerified()
				if len(got) < len("h:")+16 || got[:2] != "h:" || got == "h:alice's password" || got == "h:dave's password" {
					t.Errorf("Login(%q) verified against %q; want a dummy hash from the hasher", tt.username, got)
				}
			}
		})
	}
}

func TestLoginDummyHashIsReused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	hashesBefore, _ := e.hasher.counts()
	for i := range 5 {
		_, err := e.login.Login(e.ctx, LoginInput{Username: fmt.Sprintf("ghost%d", i), Password: "whatever it is", IP: fmt.Sprintf("10.0.0.%d", i)})
		testkit.WantErr(t, fmt.Sprintf("Login(ghost%d)", i), err, domain.ErrInvalidCredentials)
	}
	hashes, verifies := e.hasher.counts()
	if hashes-hashesBefore != 1 || verifies != 5 {
		t.Errorf("5 unknown-user logins: %d Hash, %d Verify calls; want 1 (the dummy hash) and 5", hashes-hashesBefore, verifies)
	}
}

func TestLoginRehash(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.addUser("alice", "alice's password")
	e.setHash(u, "old:alice's password")

	e.signIn("alice", "alice's password")
	got, err := e.store.UserByID(e.ctx, u.ID)
	testkit.WantErr(t, "UserByID", err, nil)
	if got.PasswordHash != "h:alice's password" {
		t.Errorf("PasswordHash after login with an old hash = %q; want the fresh %q", got.PasswordHash, "h:alice's password")
	}
	// A current hash is left alone.
	hashes, _ := e.hasher.counts()
	e.signIn("alice", "alice's password")
	if h, _ := e.hasher.counts(); h != hashes {
		t.Errorf("login with a current hash called Hash %d times; want 0", h-hashes)
	}
	// A failed login never rehashes.
	e.setHash(u, "old:alice's password")
	_, err = e.login.Login(e.ctx, LoginInput{Username: "alice", Password: "wrong password", IP: "192.0.2.1"})
	testkit.WantErr(t, "Login(wrong password)", err, domain.ErrInvalidCredentials)
	if got, _ := e.store.UserByID(e.ctx, u.ID); got.PasswordHash != "old:alice's password" {
		t.Errorf("PasswordHash after failed login = %q; want unchanged", got.PasswordHash)
	}
}

func TestLoginScope(t *testing.T) {
	t.Parallel()
	tests := []struct {
		scope []string
		want  error
	}{
		{nil, nil},
		{[]string{"openid"}, nil},
		{[]string{"openid", "profile", "read"}, nil},
		{[]string{"admin"}, domain.ErrInvalidScope},
		{[]string{"openid", "write"}, domain.ErrInvalidScope},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.scope), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.addUser("alice", "alice's password")
			p, err := e.login.Login(e.ctx, LoginInput{Username: "alice", Password: "alice's password", Scope: tt.scope, IP: "192.0.2.1"})
			testkit.WantErr(t, fmt.Sprintf("Login(scope %q)", tt.scope), err, tt.want)
			if tt.want != nil {
				return
			}
			if !slices.Equal(p.Scope, tt.scope) || !slices.Equal(e.claims(p.AccessToken).Scope, tt.scope) {
				t.Errorf("Login(scope %q) scope = %q; want %q", tt.scope, p.Scope, tt.scope)
			}
		})
	}
}

func TestLoginStoreOutage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.addUser("alice", "alice's password")
	e.build(outageUsers{e.store})
	_, err := e.login.Login(e.ctx, LoginInput{Username: "alice", Password: "alice's password", IP: "192.0.2.1"})
	if err == nil || errors.Is(err, domain.ErrInvalidCredentials) || !errors.Is(err, errOutage) {
		t.Fatalf("Login during a store outage = %v; want the wrapped outage, not %v", err, domain.ErrInvalidCredentials)
	}
}

func TestLoginThrottled(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.addUser("alice", "alice's password")
	in := LoginInput{Username: "alice", Password: "wrong password", IP: "198.51.100.7"}
	for i := range 5 {
		_, err := e.login.Login(e.ctx, in)
		testkit.WantErr(t, fmt.Sprintf("Login(wrong password #%d)", i+1), err, domain.ErrInvalidCredentials)
	}
	_, verifiesBefore := e.hasher.counts()
	in.Password = "alice's password"
	for _, name := range []string{"alice", "Alice"} {
		in.Username = name
		p, err := e.login.Login(e.ctx, in)
		var te *domain.ThrottledError
		if !errors.As(err, &te) || te.RetryAfter != time.Second || p != nil {
			t.Fatalf("Login(%q, correct password) under throttle = %v, %v; want *ThrottledError RetryAfter 1s", name, p, err)
		}
	}
	if _, verifies := e.hasher.counts(); verifies != verifiesBefore {
		t.Errorf("throttled Login called Verify %d times; want 0", verifies-verifiesBefore)
	}
	// Another address is not throttled for this pair.
	if _, err := e.login.Login(e.ctx, LoginInput{Username: "alice", Password: "alice's password", IP: "198.51.100.8"}); err != nil {
		t.Errorf("Login from another IP = %v; want nil", err)
	}
	e.clock.Advance(time.Second)
	in.Username = "alice"
	if _, err := e.login.Login(e.ctx, in); err != nil {
		t.Fatalf("Login after the backoff = %v; want nil", err)
	}
	// The success reset the pair: one more failure does not throttle.
	in.Password = "wrong password"
	_, err := e.login.Login(e.ctx, in)
	testkit.WantErr(t, "Login(wrong password after success)", err, domain.ErrInvalidCredentials)
	in.Password = "alice's password"
	if _, err := e.login.Login(e.ctx, in); err != nil {
		t.Errorf("Login after success + 1 failure = %v; want nil", err)
	}
}

func TestLoginThrottledUnknownUser(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	in := LoginInput{Username: "ghost", Password: "some password", IP: "198.51.100.7"}
	for range 5 {
		_, err := e.login.Login(e.ctx, in)
		testkit.WantErr(t, "Login(ghost)", err, domain.ErrInvalidCredentials)
	}
	_, err := e.login.Login(e.ctx, in)
	var te *domain.ThrottledError
	if !errors.As(err, &te) {
		t.Errorf("Login(unknown user) after 5 failures = %v; want *ThrottledError like a known user", err)
	}
}

func TestLoginWithoutThrottle(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.addUser("alice", "alice's password")
	l := NewLogin(e.store, e.store, e.hasher, e.tokens, nil, nil, e.policy, e.clock.Now, nil, nil, nil, nil)
	in := LoginInput{Username: "alice", Password: "wrong password", IP: "198.51.100.7"}
	for range 10 {
		_, err := l.Login(e.ctx, in)
		testkit.WantErr(t, "Login(wrong password, no throttle)", err, domain.ErrInvalidCredentials)
	}
	in.Password = "alice's password"
	if _, err := l.Login(e.ctx, in); err != nil {
		t.Errorf("Login without a throttle = %v; want nil", err)
	}
}

func TestLoginHasherOverloaded(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.addUser("alice", "alice's password")
	e.hasher.setFail(domain.ErrOverloaded)
	for range 6 {
		_, err := e.login.Login(e.ctx, LoginInput{Username: "alice", Password: "wrong password", IP: "192.0.2.1"})
		if errors.Is(err, domain.ErrInvalidCredentials) || !errors.Is(err, domain.ErrOverloaded) {
			t.Fatalf("Login with a full hashing queue = %v; want %v", err, domain.ErrOverloaded)
		}
	}
	// Overload is not a failed guess: the throttle did not count it.
	e.hasher.setFail(nil)
	e.signIn("alice", "alice's password")
	_, err := e.register.Create(e.ctx, "bob", "a fine password", nil)
	testkit.WantErr(t, "Create with a working hasher", err, nil)
	e.hasher.setFail(domain.ErrOverloaded)
	_, err = e.register.Create(e.ctx, "carol", "a fine password", nil)
	testkit.WantErr(t, "Create with a full hashing queue", err, domain.ErrOverloaded)
}
