package usecase

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/domain"
	"github.com/gatehouse-auth/gatehouse/internal/testkit"
)

func TestLogout(t *testing.T) {
	t.Parallel()
	tests := []struct {
		scope LogoutScope
		want  []bool // revoked? for alice's sessions a, b (the caller), c
	}{
		{LogoutLocal, []bool{false, true, false}},
		{"", []bool{false, true, false}},
		{LogoutGlobal, []bool{true, true, true}},
		{LogoutOthers, []bool{true, false, true}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("scope %q", tt.scope), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.addUser("alice", "alice's password")
			e.addUser("bob", "bob's password")
			alice := []*TokenPair{
				e.signIn("alice", "alice's password"),
				e.signIn("alice", "alice's password"),
				e.signIn("alice", "alice's password"),
			}
			bob := e.signIn("bob", "bob's password")

			err := e.revoke.Logout(e.ctx, e.claims(alice[1].AccessToken), tt.scope)
			testkit.WantErr(t, fmt.Sprintf("Logout(%q)", tt.scope), err, nil)

			for i, p := range alice {
				name := string(rune('a' + i))
				if got := e.revoked.Revoked(p.SessionID); got != tt.want[i] {
					t.Errorf("after Logout(%q): Revoked(session %s) = %v; want %v", tt.scope, name, got, tt.want[i])
				}
				_, err := e.refresh.Refresh(e.ctx, p.RefreshToken)
				if tt.want[i] {
					testkit.WantErr(t, fmt.Sprintf("Refresh(session %s)", name), err, domain.ErrInvalidGrant)
					testkit.WantErr(t, fmt.Sprintf("Verify(session %s)", name), errOf(e.verify.Verify(e.ctx, p.AccessToken)), domain.ErrTokenRevoked)
				} else {
					testkit.WantErr(t, fmt.Sprintf("Refresh(session %s)", name), err, nil)
				}
			}
			if e.revoked.Revoked(bob.SessionID) {
				t.Errorf("Logout(%q) by alice revoked bob's session", tt.scope)
			}
			e.mustRefresh(bob.RefreshToken)
		})
	}
}

func TestLogoutRefuses(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.addUser("alice", "alice's password")
	p := e.signIn("alice", "alice's password")
	err := e.revoke.Logout(e.ctx, e.claims(p.AccessToken), "everything")
	var ve *domain.ValidationError
	if !errors.As(err, &ve) || ve.Code != "invalid_request" {
		t.Errorf("Logout(%q) = %v; want ValidationError invalid_request", "everything", err)
	}
	if e.revoked.Revoked(p.SessionID) {
		t.Errorf("Logout with a bad scope revoked the session")
	}
	// A client token has no session: nothing to do, nothing revoked.
	client := &domain.Claims{Subject: "c1", ClientID: "c1"}
	testkit.WantErr(t, "Logout(client token)", e.revoke.Logout(e.ctx, client, LogoutGlobal), nil)
	if e.revoked.Size() != 0 {
		t.Errorf("Logout(client token) revoked %d sessions; want 0", e.revoked.Size())
	}
}

func TestRevokeToken(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		token   func(p, rotated *TokenPair) string
		hint    string
		revokes bool
	}{
		{"refresh token", func(p, _ *TokenPair) string { return p.RefreshToken }, "", true},
		{"refresh token with hint", func(p, _ *TokenPair) string { return p.RefreshToken }, "refresh_token", true},
		{"rotated-away refresh token", func(_, r *TokenPair) string { return r.RefreshToken }, "", true},
		{"access token", func(p, _ *TokenPair) string { return p.AccessToken }, "", true},
		{"access token with hint", func(p, _ *TokenPair) string { return p.AccessToken }, "access_token", true},
		{"access token with refresh hint", func(p, _ *TokenPair) string { return p.AccessToken }, "refresh_token", true},
		{"bogus hint", func(p, _ *TokenPair) string { return p.RefreshToken }, "bogus", true},
		// RFC 7009 2.1: a wrong hint must not stop the server from finding
		// the token among the other types.
		{"refresh token with access hint", func(p, _ *TokenPair) string { return p.RefreshToken }, "access_token", true},
		{"garbage", func(*TokenPair, *TokenPair) string { return "garbage" }, "", false},
		{"garbage with access hint", func(*TokenPair, *TokenPair) string { return "garbage" }, "access_token", false},
		{"empty", func(*TokenPair, *TokenPair) string { return "" }, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.addUser("alice", "alice's password")
			other := e.signIn("alice", "alice's password")
			old := e.signIn("alice", "alice's password")
			p := e.mustRefresh(old.RefreshToken)
			e.clock.Advance(time.Second)
			// The rotated-away case presents the session's previous token.
			rotated := &TokenPair{RefreshToken: old.RefreshToken}

			err := e.revoke.Token(e.ctx, tt.token(p, rotated), tt.hint)
			testkit.WantErr(t, fmt.Sprintf("Token(%s, %q)", tt.name, tt.hint), err, nil)
			if got := e.revoked.Revoked(p.SessionID); got != tt.revokes {
				t.Fatalf("after Token(%s, %q): Revoked(session) = %v; want %v", tt.name, tt.hint, got, tt.revokes)
			}
			_, err = e.refresh.Refresh(e.ctx, p.RefreshToken)
			if tt.revokes {
				testkit.WantErr(t, "Refresh(revoked session)", err, domain.ErrInvalidGrant)
			} else {
				testkit.WantErr(t, "Refresh(live session)", err, nil)
			}
			if e.revoked.Revoked(other.SessionID) {
				t.Errorf("Token(%s) revoked another session of the user", tt.name)
			}
		})
	}
}

func TestPruneExpired(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.addUser("alice", "alice's password")
	ended := e.mustRefresh(e.signIn("alice", "alice's password").RefreshToken)
	e.clock.Advance(time.Hour)
	live := e.signIn("alice", "alice's password")
	prune := func(want int64) {
		t.Helper()
		n, err := e.revoke.PruneExpired(e.ctx)
		if err != nil || n != want {
			t.Fatalf("PruneExpired at %v = %d, %v; want %d, nil", e.clock.Now(), n, err, want)
		}
	}

	// The first session ends at epoch+RefreshTTL and stays for the leeway,
	// revocable while a verifier may still accept its last access token.
	e.clock.Advance(e.policy.RefreshTTL - time.Hour + e.policy.Leeway - time.Microsecond)
	prune(0)
	_, err := e.refresh.Refresh(e.ctx, ended.RefreshToken)
	testkit.WantErr(t, "Refresh(ended session)", err, domain.ErrInvalidGrant)
	if _, err := e.store.SessionByID(e.ctx, ended.SessionID); err != nil {
		t.Fatalf("SessionByID(ended, within leeway) = %v; want it kept", err)
	}

	e.clock.Advance(time.Microsecond)
	prune(1)
	prune(0)
	_, err = e.store.SessionByID(e.ctx, ended.SessionID)
	testkit.WantErr(t, "SessionByID(pruned)", err, domain.ErrNotFound)
	_, err = e.refresh.Refresh(e.ctx, ended.RefreshToken)
	testkit.WantErr(t, "Refresh(pruned session)", err, domain.ErrInvalidGrant)
	if in, err := e.introspect.Introspect(e.ctx, e.resourceServer(), ended.RefreshToken); err != nil || in.Active {
		t.Errorf("Introspect(pruned refresh token) = %+v, %v; want inactive, nil", in, err)
	}
	testkit.WantErr(t, "Token(pruned refresh token)", e.revoke.Token(e.ctx, ended.RefreshToken, ""), nil)
	e.mustRefresh(live.RefreshToken)
}

func TestPruneExpiredOutage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := NewRevoke(outagePrune{e.store}, e.verify, e.revoked, e.policy, e.clock.Now, nil)
	if _, err := r.PruneExpired(e.ctx); !errors.Is(err, errOutage) {
		t.Errorf("PruneExpired on a failing store = %v; want the outage", err)
	}
}

// errOf drops a value and keeps the error.
func errOf[T any](_ T, err error) error { return err }
