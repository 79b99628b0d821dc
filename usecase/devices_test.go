package usecase

import (
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/domain"
	"github.com/gatehouse-auth/gatehouse/internal/testkit"
)

// signInFrom logs a user in from ip with userAgent or fails the test.
func (e *env) signInFrom(name, password, ip, userAgent string) *TokenPair {
	e.t.Helper()
	p, err := e.login.Login(e.ctx, LoginInput{Username: name, Password: password, IP: ip, UserAgent: userAgent})
	if err != nil {
		e.t.Fatalf("Login(%q) = %v; want nil", name, err)
	}
	return p
}

func TestDevicesMine(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.addUser("alice", "alice's password")
	e.addUser("bob", "bob's password")
	longUA := strings.Repeat("é", 200) // 400 bytes
	laptop := e.signInFrom("alice", "alice's password", "192.0.2.1", "laptop/1.0")
	created := e.clock.Now().UTC().Truncate(time.Microsecond)
	e.clock.Advance(time.Minute)
	phone := e.signInFrom("alice", "alice's password", "2001:db8::2", longUA)
	e.clock.Advance(time.Minute)
	revoked := e.signInFrom("alice", "alice's password", "192.0.2.3", "gone")
	e.signInFrom("bob", "bob's password", "192.0.2.9", "bob's")
	testkit.WantErr(t, "Logout(revoked)", e.revoke.Logout(e.ctx, e.claims(revoked.AccessToken), LogoutLocal), nil)

	e.clock.Advance(time.Minute)
	refreshed := e.clock.Now().UTC()
	laptop = e.mustRefresh(laptop.RefreshToken)

	got, err := e.devices.Mine(e.ctx, e.claims(phone.AccessToken))
	testkit.WantErr(t, "Mine(phone)", err, nil)
	if len(got) != 2 {
		t.Fatalf("Mine(phone) = %d sessions; want 2 (phone, laptop)", len(got))
	}
	p, l := got[0], got[1]
	if p.ID != phone.SessionID || !p.Current || l.ID != laptop.SessionID || l.Current {
		t.Errorf("Mine(phone) = [%s current=%v, %s current=%v]; want [phone current, laptop not]", p.ID, p.Current, l.ID, l.Current)
	}
	wantUA := strings.Repeat("é", domain.MaxUserAgentLen/2)
	if p.IP != "2001:db8::2" || p.UserAgent != wantUA || !p.LastUsedAt.Equal(p.CreatedAt) {
		t.Errorf("phone = ip %q, ua %d bytes, last used %v (created %v); want 2001:db8::2, %d bytes, last used at creation", p.IP, len(p.UserAgent), p.LastUsedAt, p.CreatedAt, len(wantUA))
	}
	if l.IP != "192.0.2.1" || l.UserAgent != "laptop/1.0" || !l.CreatedAt.Equal(created) || !l.LastUsedAt.Equal(refreshed) {
		t.Errorf("laptop = ip %q, ua %q, created %v, last used %v; want 192.0.2.1, laptop/1.0, %v, %v", l.IP, l.UserAgent, l.CreatedAt, l.LastUsedAt, created, refreshed)
	}

	// A session past its end is no longer listed.
	e.clock.Advance(e.policy.RefreshTTL)
	got, err = e.devices.Mine(e.ctx, e.claims(e.signIn("bob", "bob's password").AccessToken))
	testkit.WantErr(t, "Mine(bob, later)", err, nil)
	if len(got) != 1 || !got[0].Current {
		t.Errorf("Mine(bob) after the first session's end = %+v; want only the current one", got)
	}

	// A client token has no devices.
	_, err = e.devices.Mine(e.ctx, &domain.Claims{Subject: "c1", ClientID: "c1"})
	testkit.WantErr(t, "Mine(client token)", err, domain.ErrForbidden)
}

func TestDevicesEnd(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.addUser("alice", "alice's password")
	e.addUser("bob", "bob's password")
	a1 := e.signIn("alice", "alice's password")
	a2 := e.signIn("alice", "alice's password")
	b := e.signIn("bob", "bob's password")
	me := e.claims(a1.AccessToken)

	for _, id := range []string{b.SessionID, "", "no-such-session", "../" + a2.SessionID} {
		testkit.WantErr(t, "End("+id+")", e.devices.End(e.ctx, me, id), domain.ErrNotFound)
	}
	e.mustRefresh(b.RefreshToken) // bob's session survived

	testkit.WantErr(t, "End(a2)", e.devices.End(e.ctx, me, a2.SessionID), nil)
	if !e.revoked.Revoked(a2.SessionID) {
		t.Errorf("End(a2): the session is not in the revoked set")
	}
	_, err := e.refresh.Refresh(e.ctx, a2.RefreshToken)
	testkit.WantErr(t, "Refresh(a2) after End", err, domain.ErrInvalidGrant)
	testkit.WantErr(t, "Verify(a2) after End", errOf(e.verify.Verify(e.ctx, a2.AccessToken)), domain.ErrTokenRevoked)
	// Ended once: a second time it is no longer a live session.
	testkit.WantErr(t, "End(a2) again", e.devices.End(e.ctx, me, a2.SessionID), domain.ErrNotFound)
	e.mustRefresh(a1.RefreshToken)

	testkit.WantErr(t, "End(client token)", e.devices.End(e.ctx, &domain.Claims{Subject: "c1", ClientID: "c1"}, a1.SessionID), domain.ErrForbidden)
}

func TestDevicesOf(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice := e.addUser("alice", "alice's password")
	e.addUser("bob", "bob's password")
	a := e.signIn("alice", "alice's password")
	e.signIn("bob", "bob's password")

	got, err := e.devices.Of(e.ctx, alice.ID)
	testkit.WantErr(t, "Of(alice)", err, nil)
	if len(got) != 1 || got[0].ID != a.SessionID || got[0].Current || got[0].IP != "192.0.2.1" {
		t.Errorf("Of(alice) = %+v; want alice's one session, not current", got)
	}
	_, err = e.devices.Of(e.ctx, "no-such-user")
	testkit.WantErr(t, "Of(unknown)", err, domain.ErrNotFound)
}
