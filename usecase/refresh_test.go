package usecase

import (
	"bytes"
	"errors"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/domain"
	"github.com/gatehouse-auth/gatehouse/internal/testkit"
)

// wantRevoked fails t unless session sid is revoked in the store, in the
// local list, and for the given refresh and access tokens.
func (e *env) wantRevoked(sid string, refreshTokens []string, accessTokens []string) {
	e.t.Helper()
	if !e.revoked.Revoked(sid) {
		e.t.Errorf("RevocationList.Revoked(%s) = false; want true", sid)
	}
	sess, err := e.store.SessionByID(e.ctx, sid)
	if err != nil || !sess.Revoked() {
		e.t.Errorf("stored session %s: %+v, %v; want revoked", sid, sess, err)
	}
	for _, rt := range refreshTokens {
		if _, err := e.refresh.Refresh(e.ctx, rt); !errors.Is(err, domain.ErrInvalidGrant) {
			e.t.Errorf("Refresh(%s) of revoked session = %v; want %v", short(rt), err, domain.ErrInvalidGrant)
		}
	}
	for _, at := range accessTokens {
		if _, err := e.verify.Verify(e.ctx, at); !errors.Is(err, domain.ErrTokenRevoked) {
			e.t.Errorf("Verify(%s) of revoked session = %v; want %v", at, err, domain.ErrTokenRevoked)
		}
	}
}

func TestRefreshRotates(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.addUser("alice", "alice's password", "admin")
	p0, err := e.login.Login(e.ctx, LoginInput{Username: "alice", Password: "alice's password", Scope: []string{"openid"}, IP: "192.0.2.1"})
	testkit.WantErr(t, "Login", err, nil)
	e.clock.Advance(time.Minute)

	p1 := e.mustRefresh(p0.RefreshToken)
	if p1.RefreshToken == "" || p1.RefreshToken == p0.RefreshToken {
		t.Fatalf("Refresh returned refresh token %q; want a new one", short(p1.RefreshToken))
	}
	if p1.SessionID != p0.SessionID || p1.AccessToken == p0.AccessToken || !slices.Equal(p1.Scope, []string{"openid"}) {
		t.Errorf("Refresh = %+v; want same session %s, new access token, scope [openid]", p1, p0.SessionID)
	}
	c := e.claims(p1.AccessToken)
	if c.Subject != u.ID || c.SessionID != p0.SessionID || c.Username != "alice" || !c.HasRole("admin") ||
		!c.ExpiresAt.Equal(e.clock.Now().Add(e.policy.AccessTTL)) {
		t.Errorf("refreshed access token claims = %+v; want alice's, sid %s, fresh expiry", c, p0.SessionID)
	}
	sess, err := e.store.SessionByID(e.ctx, p0.SessionID)
	testkit.WantErr(t, "SessionByID", err, nil)
	if sess.Generation != 1 || !sess.RotatedAt.Equal(e.clock.Now()) || len(sess.SealedSuccessor) == 0 {
		t.Errorf("session after one rotation = gen %d, rotated %v, sealed %d bytes; want 1, %v, non-empty",
			sess.Generation, sess.RotatedAt, len(sess.SealedSuccessor), e.clock.Now())
	}
	if bytes.Contains(sess.SealedSuccessor, []byte(p1.RefreshToken)) {
		t.Errorf("session stores the successor in the clear")
	}

	// The successor rotates in turn, and so on.
	p2 := e.mustRefresh(p1.RefreshToken)
	e.clock.Advance(time.Hour)
	p3 := e.mustRefresh(p2.RefreshToken)
	if p3.RefreshToken == p2.RefreshToken || p3.RefreshToken == p1.RefreshToken {
		t.Errorf("third rotation repeated an earlier token")
	}
}

func TestRefreshPreviousWithinInterval(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.addUser("alice", "alice's password")
	p0 := e.signIn("alice", "alice's password")
	e.clock.Advance(time.Minute)
	p1 := e.mustRefresh(p0.RefreshToken)

	// A racing tab with the previous token gets the same successor, up to
	// and including the end of the reuse interval.
	for _, d := range []time.Duration{0, time.Second, e.policy.ReuseInterval - time.Second} {
		e.clock.Advance(d)
		again := e.mustRefresh(p0.RefreshToken)
		if again.RefreshToken != p1.RefreshToken || again.SessionID != p1.SessionID {
			t.Fatalf("Refresh(previous) %v after rotation = %s; want the same successor %s",
				e.clock.Now().Sub(epoch.Add(time.Minute)), short(again.RefreshToken), short(p1.RefreshToken))
		}
		if again.AccessToken == "" || e.claims(again.AccessToken).SessionID != p0.SessionID {
			t.Fatalf("Refresh(previous) gave access token %q; want one for session %s", again.AccessToken, p0.SessionID)
		}
	}
	if sess, _ := e.store.SessionByID(e.ctx, p0.SessionID); sess.Generation != 1 {
		t.Errorf("session generation after grace refreshes = %d; want 1 (no extra rotation)", sess.Generation)
	}
	// The successor still works and rotates normally.
	p2 := e.mustRefresh(p1.RefreshToken)
	if p2.RefreshToken == p1.RefreshToken {
		t.Errorf("Refresh(successor) returned the successor again; want a rotation")
	}
}

func TestRefreshPreviousAfterIntervalRevokes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.addUser("alice", "alice's password")
	p0 := e.signIn("alice", "alice's password")
	p1 := e.mustRefresh(p0.RefreshToken)
	e.clock.Advance(e.policy.ReuseInterval + time.Microsecond)

	_, err := e.refresh.Refresh(e.ctx, p0.RefreshToken)
	testkit.WantErr(t, "Refresh(previous, after the reuse interval)", err, domain.ErrInvalidGrant)
	e.wantRevoked(p0.SessionID, []string{p1.RefreshToken, p0.RefreshToken}, []string{p0.AccessToken, p1.AccessToken})

	// Other sessions of the user live on.
	other := e.signIn("alice", "alice's password")
	e.mustRefresh(other.RefreshToken)
}

func TestRefreshOlderTokenRevokes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.addUser("alice", "alice's password")
	p0 := e.signIn("alice", "alice's password")
	p1 := e.mustRefresh(p0.RefreshToken)
	p2 := e.mustRefresh(p1.RefreshToken)
	// Two generations back is reuse even inside the reuse interval.
	_, err := e.refresh.Refresh(e.ctx, p0.RefreshToken)
	testkit.WantErr(t, "Refresh(two generations back)", err, domain.ErrInvalidGrant)
	e.wantRevoked(p0.SessionID, []string{p2.RefreshToken, p1.RefreshToken}, []string{p2.AccessToken})
	if sess, _ := e.store.SessionByID(e.ctx, p0.SessionID); sess.Generation != 2 {
		t.Errorf("generation after reuse = %d; want 2", sess.Generation)
	}
}

func TestRefreshAbsoluteExpiry(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.addUser("alice", "alice's password")
	p := e.signIn("alice", "alice's password")
	created := e.clock.Now()
	// Refreshing daily never moves the end of the session.
	for e.clock.Now().Before(created.Add(e.policy.RefreshTTL - 24*time.Hour)) {
		e.clock.Advance(24 * time.Hour)
		p = e.mustRefresh(p.RefreshToken)
	}
	e.clock.Advance(24*time.Hour - time.Second)
	p = e.mustRefresh(p.RefreshToken) // one second before the end
	e.clock.Advance(time.Second)      // exactly CreatedAt+RefreshTTL
	_, err := e.refresh.Refresh(e.ctx, p.RefreshToken)
	testkit.WantErr(t, "Refresh at CreatedAt+RefreshTTL", err, domain.ErrInvalidGrant)
	if sess, _ := e.store.SessionByID(e.ctx, p.SessionID); !sess.ExpiresAt.Equal(created.Add(e.policy.RefreshTTL)) {
		t.Errorf("session ExpiresAt = %v; want %v (never extended)", sess.ExpiresAt, created.Add(e.policy.RefreshTTL))
	}
}

func TestRefreshRefuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		setup func(e *env, u *domain.User, p *TokenPair) string // returns the token to present
	}{
		{"empty token", func(*env, *domain.User, *TokenPair) string { return "" }},
		{"unknown token", func(*env, *domain.User, *TokenPair) string { return newSecret(refreshTokenBytes) }},
		{"access token", func(_ *env, _ *domain.User, p *TokenPair) string { return p.AccessToken }},
		{"disabled user", func(e *env, u *domain.User, p *TokenPair) string {
			e.disable(u)
			return p.RefreshToken
		}},
		{"deleted user", func(e *env, u *domain.User, p *TokenPair) string {
			e.deleteUser(u.ID)
			return p.RefreshToken
		}},
		{"logged out", func(e *env, _ *domain.User, p *TokenPair) string {
			testkit.WantErr(e.t, "Logout", e.revoke.Logout(e.ctx, e.claims(p.AccessToken), LogoutLocal), nil)
			return p.RefreshToken
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			u := e.addUser("alice", "alice's password")
			p := e.signIn("alice", "alice's password")
			token := tt.setup(e, u, p)
			got, err := e.refresh.Refresh(e.ctx, token)
			if got != nil || !errors.Is(err, domain.ErrInvalidGrant) {
				t.Errorf("Refresh(%s) = %v, %v; want nil, %v", tt.name, got, err, domain.ErrInvalidGrant)
			}
		})
	}
}

func TestRefreshStoreOutage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.addUser("alice", "alice's password")
	p := e.signIn("alice", "alice's password")
	r := NewRefresh(outageGrants{e.store}, e.tokens, e.revoked, e.policy, e.clock.Now, slog.New(slog.DiscardHandler), nil, nil)
	_, err := r.Refresh(e.ctx, p.RefreshToken)
	if errors.Is(err, domain.ErrInvalidGrant) || !errors.Is(err, errOutage) {
		t.Errorf("Refresh during a store outage = %v; want the wrapped outage, not %v", err, domain.ErrInvalidGrant)
	}
}

func TestRefreshUnsealFailureRevokes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.addUser("alice", "alice's password")
	p0 := e.signIn("alice", "alice's password")
	p1 := e.mustRefresh(p0.RefreshToken)
	// If the sealed successor cannot be opened, the grace path must fail
	// safe: treat the request as reuse.
	r := NewRefresh(corruptSeal{e.store}, e.tokens, e.revoked, e.policy, e.clock.Now, slog.New(slog.DiscardHandler), nil, nil)
	got, err := r.Refresh(e.ctx, p0.RefreshToken)
	if got != nil || !errors.Is(err, domain.ErrInvalidGrant) {
		t.Fatalf("Refresh(previous) with a damaged sealed successor = %v, %v; want nil, %v", got, err, domain.ErrInvalidGrant)
	}
	e.wantRevoked(p0.SessionID, []string{p1.RefreshToken}, []string{p1.AccessToken})
}
