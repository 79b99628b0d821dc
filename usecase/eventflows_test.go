package usecase

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/domain"
	"github.com/gatehouse-auth/gatehouse/internal/testkit"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// The origin of the requests of these tests.
const (
	testIP        = "203.0.113.9"
	testUserAgent = "event-test/1.0"
	testRequestID = "req-42"
)

// adminActor is the admin of these tests.
var adminActor = domain.Actor{Type: domain.ActorAdmin, ID: "admin-0"}

// as returns the test context carrying the test Origin with actor a (the
// zero Actor leaves the actor to the flow).
func (e *env) as(a domain.Actor) context.Context {
	return WithOrigin(e.ctx, Origin{Actor: a, IP: testIP, UserAgent: testUserAgent, RequestID: testRequestID})
}

// want is an expected event: what the test decides, the origin's fields
// filled in by wantEvents.
func want(t domain.EventType, userID string, actor domain.Actor, d domain.EventDetails) domain.Event {
	return domain.Event{Type: t, UserID: userID, Actor: actor, Details: d}
}

// wantEvents compares events with want, ignoring ids and times (checked
// for shape) and expecting the test origin's address, User-Agent and
// request id on each.
func wantEvents(t *testing.T, what string, got []domain.Event, want ...domain.Event) {
	t.Helper()
	for i := range want {
		want[i].IP, want[i].UserAgent, want[i].RequestID = testIP, testUserAgent, testRequestID
	}
	for _, ev := range got {
		if len(ev.ID) != 36 || ev.ID[14] != '7' || ev.Time.IsZero() {
			t.Errorf("%s: event %s has id %q, time %v; want a UUIDv7 and a time", what, ev.Type, ev.ID, ev.Time)
		}
	}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(domain.Event{}, "ID", "Time", "SessionID"), cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("%s: events (-want +got):\n%s", what, diff)
	}
}

func TestUserEvents(t *testing.T) {
	t.Parallel()
	e := newEnv(t)

	// A sign-up acts as the new user; an admin's creation as the admin.
	u, err := e.register.SignUp(e.as(domain.Actor{}), "alice", "alice's password", testIP)
	testkit.WantErr(t, "SignUp(alice)", err, nil)
	wantEvents(t, "SignUp", e.rec.take(),
		want(domain.EventUserCreated, u.ID, selfActor(u.ID), domain.EventDetails{Username: "alice"}))
	b, err := e.register.Create(e.as(adminActor), "bob", "bob's password", []string{"admin"})
	testkit.WantErr(t, "Create(bob)", err, nil)
	wantEvents(t, "Create", e.rec.take(),
		want(domain.EventUserCreated, b.ID, adminActor, domain.EventDetails{Username: "bob", Roles: []string{"admin"}}))
	_, err = e.register.Create(e.as(adminActor), "bob", "bob's password", nil)
	testkit.WantErr(t, "Create(bob again)", err, domain.ErrUsernameTaken)
	wantEvents(t, "Create(taken)", e.rec.take())

	ctx := e.as(adminActor)
	yes, no := true, false
	roles := []string{"admin", "ops"}
	steps := []struct {
		name  string
		patch UserPatch
		want  []domain.Event
	}{
		{"disable", UserPatch{Disabled: &yes}, []domain.Event{want(domain.EventUserDisabled, u.ID, adminActor, domain.EventDetails{})}},
		{"disable again", UserPatch{Disabled: &yes}, nil},
		{"roles", UserPatch{Roles: &roles}, []domain.Event{want(domain.EventUserRolesChanged, u.ID, adminActor, domain.EventDetails{Roles: roles})}},
		{"same roles", UserPatch{Roles: &roles, Disabled: &yes}, nil},
		{"enable and demote", UserPatch{Disabled: &no, Roles: &[]string{"ops"}}, []domain.Event{
			want(domain.EventUserEnabled, u.ID, adminActor, domain.EventDetails{}),
			want(domain.EventUserRolesChanged, u.ID, adminActor, domain.EventDetails{Roles: []string{"ops"}, PreviousRoles: roles}),
		}},
	}
	for _, s := range steps {
		_, err := e.users.Update(ctx, u.ID, s.patch)
		testkit.WantErr(t, "Update("+s.name+")", err, nil)
		wantEvents(t, "Update("+s.name+")", e.rec.take(), s.want...)
	}
	_, err = e.users.Update(ctx, u.ID, UserPatch{Roles: &[]string{"Bad Role"}})
	if err == nil {
		t.Fatal("Update(bad role) = nil; want an error")
	}
	wantEvents(t, "Update(bad role)", e.rec.take())

	// Passwords: the admin's, the CLI's, the user's own.
	testkit.WantErr(t, "SetPassword", e.users.SetPassword(ctx, u.ID, "a new password for alice"), nil)
	wantEvents(t, "SetPassword", e.rec.take(), want(domain.EventPasswordChanged, u.ID, adminActor, domain.EventDetails{}))
	if err := e.users.SetPassword(ctx, u.ID, "short"); err == nil {
		t.Fatal("SetPassword(short) = nil; want a weak password")
	}
	wantEvents(t, "SetPassword(short)", e.rec.take())
	cli := domain.Actor{Type: domain.ActorCLI}
	testkit.WantErr(t, "SetPassword(cli)", e.users.SetPassword(WithActor(ctx, cli), u.ID, "alice's password"), nil)
	wantEvents(t, "SetPassword(cli)", e.rec.take(), want(domain.EventPasswordChanged, u.ID, cli, domain.EventDetails{}))

	p := e.signIn("alice", "alice's password")
	claims := e.claims(p.AccessToken)
	self := e.as(domain.Actor{})
	err = e.account.ChangePassword(self, claims, "wrong password", "alice's new password", testIP)
	testkit.WantErr(t, "ChangePassword(wrong current)", err, domain.ErrInvalidCredentials)
	wantEvents(t, "ChangePassword(wrong current)", e.rec.take())
	testkit.WantErr(t, "ChangePassword", e.account.ChangePassword(self, claims, "alice's password", "alice's new password", testIP), nil)
	wantEvents(t, "ChangePassword", e.rec.take(), want(domain.EventPasswordChanged, u.ID, selfActor(u.ID), domain.EventDetails{}))

	// Deletion keeps the name; an unknown user deletes nothing.
	testkit.WantErr(t, "Delete", e.users.Delete(ctx, u.ID), nil)
	wantEvents(t, "Delete", e.rec.take(), want(domain.EventUserDeleted, u.ID, adminActor, domain.EventDetails{Username: "alice"}))
	testkit.WantErr(t, "Delete(again)", e.users.Delete(ctx, u.ID), domain.ErrNotFound)
	wantEvents(t, "Delete(again)", e.rec.take())
}

func TestSessionRevokedEvents(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.addUser("alice", "alice's password")
	e.rec.take()
	self := selfActor(u.ID)
	revoked := func(scope, reason string) domain.Event {
		return want(domain.EventSessionRevoked, u.ID, self, domain.EventDetails{Scope: scope, Reason: reason})
	}
	ctx := e.as(domain.Actor{})

	a, b := e.signIn("alice", "alice's password"), e.signIn("alice", "alice's password")
	testkit.WantErr(t, "Logout(others)", e.revoke.Logout(ctx, e.claims(a.AccessToken), LogoutOthers), nil)
	got := e.rec.take()
	wantEvents(t, "Logout(others)", got, revoked("others", "logout"))
	testkit.WantErr(t, "Logout(local)", e.revoke.Logout(ctx, e.claims(a.AccessToken), LogoutLocal), nil)
	got = e.rec.take()
	wantEvents(t, "Logout(local)", got, revoked("session", "logout"))
	if len(got) == 1 && got[0].SessionID != a.SessionID {
		t.Errorf("Logout(local) event session_id = %q; want %q", got[0].SessionID, a.SessionID)
	}
	// Nothing left to revoke: no event.
	testkit.WantErr(t, "Logout(local) again", e.revoke.Logout(ctx, &domain.Claims{Subject: u.ID, SessionID: b.SessionID}, LogoutLocal), nil)
	wantEvents(t, "Logout(revoked session)", e.rec.take())

	c, d := e.signIn("alice", "alice's password"), e.signIn("alice", "alice's password")
	testkit.WantErr(t, "End", e.devices.End(ctx, e.claims(c.AccessToken), d.SessionID), nil)
	got = e.rec.take()
	wantEvents(t, "Devices.End", got, revoked("session", "device"))
	if len(got) == 1 && got[0].SessionID != d.SessionID {
		t.Errorf("Devices.End event session_id = %q; want %q", got[0].SessionID, d.SessionID)
	}
	testkit.WantErr(t, "Logout(global)", e.revoke.Logout(ctx, e.claims(c.AccessToken), LogoutGlobal), nil)
	wantEvents(t, "Logout(global)", e.rec.take(), revoked("all", "logout"))

	f := e.signIn("alice", "alice's password")
	testkit.WantErr(t, "Token(refresh)", e.revoke.Token(ctx, f.RefreshToken, ""), nil)
	got = e.rec.take()
	wantEvents(t, "Revoke.Token(refresh token)", got, revoked("session", "logout"))
	if len(got) == 1 && got[0].SessionID != f.SessionID {
		t.Errorf("Revoke.Token event session_id = %q; want %q", got[0].SessionID, f.SessionID)
	}

	e.signIn("alice", "alice's password")
	testkit.WantErr(t, "RevokeSessions", e.users.RevokeSessions(e.as(adminActor), u.ID), nil)
	wantEvents(t, "Users.RevokeSessions", e.rec.take(),
		want(domain.EventSessionRevoked, u.ID, adminActor, domain.EventDetails{Scope: "all", Reason: "admin"}))
}

func TestRefreshReuseEvents(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withReuseInterval(0))
	u := e.addUser("alice", "alice's password")
	p := e.signIn("alice", "alice's password")
	e.mustRefresh(p.RefreshToken)
	e.rec.take()
	_, err := e.refresh.Refresh(e.as(domain.Actor{}), p.RefreshToken)
	testkit.WantErr(t, "Refresh(reused)", err, domain.ErrInvalidGrant)
	got := e.rec.take()
	wantEvents(t, "Refresh(reused)", got,
		want(domain.EventRefreshReuseDetected, u.ID, systemActor, domain.EventDetails{}),
		want(domain.EventSessionRevoked, u.ID, systemActor, domain.EventDetails{Scope: "session", Reason: "refresh_reuse"}))
	for _, ev := range got {
		if ev.SessionID != p.SessionID {
			t.Errorf("%s session_id = %q; want %q", ev.Type, ev.SessionID, p.SessionID)
		}
	}
	// The session is gone: presenting the token again revokes nothing more.
	_, err = e.refresh.Refresh(e.as(domain.Actor{}), p.RefreshToken)
	testkit.WantErr(t, "Refresh(reused again)", err, domain.ErrInvalidGrant)
	wantEvents(t, "Refresh(reused again)", e.rec.take())
}

func TestAPIKeyAndClientEvents(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.addUser("alice", "alice's password")
	e.rec.take()
	self := e.as(domain.Actor{})

	k, _, err := e.apiKeys.Create(self, u.ID, APIKeyInput{Name: "ci", Scope: []string{"read", "profile"}})
	testkit.WantErr(t, "Create(key)", err, nil)
	keyDetails := domain.EventDetails{KeyID: k.ID, KeyName: "ci", Scope: "read profile"}
	wantEvents(t, "APIKeys.Create", e.rec.take(), want(domain.EventAPIKeyCreated, u.ID, selfActor(u.ID), keyDetails))
	_, _, err = e.apiKeys.Create(self, u.ID, APIKeyInput{Name: "bad", Scope: []string{"admin"}})
	testkit.WantErr(t, "Create(key, scope admin)", err, domain.ErrInvalidScope)
	testkit.WantErr(t, "Delete(someone else's key)", e.apiKeys.Delete(self, "another-user", k.ID), domain.ErrNotFound)
	wantEvents(t, "refused key calls", e.rec.take())
	testkit.WantErr(t, "Delete(key)", e.apiKeys.Delete(self, u.ID, k.ID), nil)
	wantEvents(t, "APIKeys.Delete", e.rec.take(), want(domain.EventAPIKeyRevoked, u.ID, selfActor(u.ID), keyDetails))
	testkit.WantErr(t, "DeleteAny(revoked key)", e.apiKeys.DeleteAny(e.as(adminActor), k.ID), domain.ErrNotFound)
	wantEvents(t, "DeleteAny(revoked key)", e.rec.take())
	k2, _, err := e.apiKeys.Create(self, u.ID, APIKeyInput{Name: "two"})
	testkit.WantErr(t, "Create(key two)", err, nil)
	e.rec.take()
	testkit.WantErr(t, "DeleteAny", e.apiKeys.DeleteAny(e.as(adminActor), k2.ID), nil)
	wantEvents(t, "APIKeys.DeleteAny", e.rec.take(),
		want(domain.EventAPIKeyRevoked, u.ID, adminActor, domain.EventDetails{KeyID: k2.ID, KeyName: "two"}))

	c, _, err := e.clients.Create(e.as(adminActor), "svc", []string{"read"})
	testkit.WantErr(t, "Clients.Create", err, nil)
	clientDetails := domain.EventDetails{ClientID: c.ID, ClientName: "svc"}
	wantEvents(t, "Clients.Create", e.rec.take(), want(domain.EventClientCreated, "", adminActor, clientDetails))
	testkit.WantErr(t, "Clients.Delete", e.clients.Delete(e.as(adminActor), c.ID), nil)
	wantEvents(t, "Clients.Delete", e.rec.take(), want(domain.EventClientDeleted, "", adminActor, clientDetails))
	testkit.WantErr(t, "Clients.Delete(again)", e.clients.Delete(e.as(adminActor), c.ID), domain.ErrNotFound)
	wantEvents(t, "Clients.Delete(again)", e.rec.take())
}

func TestKeyRotationEvent(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	kid, err := e.keys.Rotate(e.as(adminActor))
	testkit.WantErr(t, "Rotate", err, nil)
	wantEvents(t, "Keys.Rotate", e.keyManager.events,
		want(domain.EventSigningKeyRotated, "", adminActor, domain.EventDetails{Kid: kid, Alg: "EdDSA"}))
	// The CLI sets no Origin: the rotation names its caller.
	if _, err := e.keys.RotateAs(e.ctx, KeyRotation{By: "cli"}); err != nil {
		t.Fatalf("RotateAs(cli) = %v", err)
	}
	if got := e.keyManager.events[1].Actor; got != (domain.Actor{Type: domain.ActorCLI}) {
		t.Errorf("RotateAs(cli) event actor = %+v; want {cli}", got)
	}
}

func TestLoginEvents(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.addUser("alice", "alice's password")
	d := e.addUser("dora", "dora's password")
	e.disable(d)
	ctx := e.as(domain.Actor{})
	login := func(name, password string) error {
		_, err := e.login.Login(ctx, LoginInput{Username: name, Password: password, IP: testIP, UserAgent: testUserAgent, Grant: LoginGrantGetToken})
		return err
	}

	testkit.WantErr(t, "Login", login("alice", "alice's password"), nil)
	got, _ := e.loginEvents.take()
	wantEvents(t, "Login", got, want(domain.EventLoginSucceeded, u.ID, selfActor(u.ID), domain.EventDetails{Grant: "get_token"}))
	if len(got) == 1 && got[0].SessionID == "" {
		t.Error("login.succeeded has no session_id")
	}

	long := strings.Repeat("x", 100)
	for _, c := range []struct{ name, password string }{{"alice", "wrong"}, {"nobody", "whatever"}, {"dora", "dora's password"}, {long, "whatever"}} {
		testkit.WantErr(t, "Login("+c.name+")", login(c.name, c.password), domain.ErrInvalidCredentials)
	}
	got, _ = e.loginEvents.take()
	failed := func(userID, actorID, name, reason string) domain.Event {
		return want(domain.EventLoginFailed, userID, domain.Actor{Type: domain.ActorUser, ID: actorID},
			domain.EventDetails{Username: name, Reason: reason, Grant: "get_token"})
	}
	wantEvents(t, "failed logins", got,
		failed(u.ID, u.ID, "alice", "invalid_credentials"),
		failed("", "", "nobody", "unknown_user"),
		failed(d.ID, d.ID, "dora", "disabled"),
		failed("", "", long[:domain.EventUsernameMax], "unknown_user"))

	// The fifth failure of (alice, address) starts the backoff.
	for range 4 {
		login("alice", "wrong")
	}
	e.loginEvents.take()
	err := login("alice", "alice's password")
	if LoginOutcome(err) != LoginThrottled {
		t.Fatalf("Login after 5 failures = %v; want throttled", err)
	}
	rec, thr := e.loginEvents.take()
	if len(rec) != 0 || len(thr) != 1 {
		t.Fatalf("throttled login recorded %+v and throttled %+v; want one throttled", rec, thr)
	}
	until := thr[0].Details.Until
	if until == nil || !until.After(e.clock.Now()) {
		t.Errorf("throttled until = %v; want after %v", until, e.clock.Now())
	}
	thr[0].Details.Until = nil
	wantEvents(t, "throttled login", thr, want(domain.EventLoginThrottled, "", domain.Actor{Type: domain.ActorUser},
		domain.EventDetails{Username: "alice", Grant: "get_token"}))
}

func TestLoginEventsDefaults(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.addUser("alice", "alice's password")
	// No Origin: the address and User-Agent come from the input, the
	// grant defaults to password.
	_, err := e.login.Login(e.ctx, LoginInput{Username: "alice", Password: "alice's password", IP: "192.0.2.5", UserAgent: "ua"})
	testkit.WantErr(t, "Login", err, nil)
	got, _ := e.loginEvents.take()
	if len(got) != 1 || got[0].IP != "192.0.2.5" || got[0].UserAgent != "ua" || got[0].Details.Grant != "password" || got[0].Actor != selfActor(u.ID) {
		t.Errorf("login event without an origin = %+v; want address, User-Agent and grant from the input, actor the user", got)
	}
}

func TestRehashEvent(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.addUser("alice", "alice's password")
	e.setHash(u, "old:alice's password")
	e.rec.take()
	_, err := e.login.Login(e.as(domain.Actor{}), LoginInput{Username: "alice", Password: "alice's password", IP: testIP, UserAgent: testUserAgent})
	testkit.WantErr(t, "Login(old hash)", err, nil)
	wantEvents(t, "rehash", e.rec.take(), want(domain.EventUserUpdated, u.ID, systemActor, domain.EventDetails{Reason: "password_rehash"}))
}

// TestEventsHoldNoSecrets runs every flow that handles a secret and looks
// for each secret in the JSON of every event.
func TestEventsHoldNoSecrets(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withReuseInterval(0))
	ctx := e.as(domain.Actor{})
	const pw, pw2 = "alice's password", "alice's second password"
	secrets := []string{pw, pw2}
	u, err := e.register.SignUp(ctx, "alice", pw, testIP)
	testkit.WantErr(t, "SignUp", err, nil)
	_, err = e.login.Login(ctx, LoginInput{Username: "alice", Password: "wrong " + pw, IP: testIP})
	testkit.WantErr(t, "Login(wrong)", err, domain.ErrInvalidCredentials)
	secrets = append(secrets, "wrong "+pw)
	p := e.signIn("alice", pw)
	next := e.mustRefresh(p.RefreshToken)
	secrets = append(secrets, p.RefreshToken, p.AccessToken, next.RefreshToken, next.AccessToken)
	_, err = e.refresh.Refresh(ctx, p.RefreshToken) // reuse
	testkit.WantErr(t, "Refresh(reuse)", err, domain.ErrInvalidGrant)
	q := e.signIn("alice", pw)
	secrets = append(secrets, q.RefreshToken, q.AccessToken)
	testkit.WantErr(t, "ChangePassword", e.account.ChangePassword(ctx, e.claims(q.AccessToken), pw, pw2, testIP), nil)
	_, key, err := e.apiKeys.Create(ctx, u.ID, APIKeyInput{Name: "ci"})
	testkit.WantErr(t, "Create(key)", err, nil)
	keys, _ := e.apiKeys.List(ctx, u.ID)
	testkit.WantErr(t, "Delete(key)", e.apiKeys.Delete(ctx, u.ID, keys[0].ID), nil)
	_, secret, err := e.clients.Create(e.as(adminActor), "svc", nil)
	testkit.WantErr(t, "Clients.Create", err, nil)
	testkit.WantErr(t, "SetPassword", e.users.SetPassword(e.as(adminActor), u.ID, pw+" three"), nil)
	testkit.WantErr(t, "Token(revoke)", e.revoke.Token(ctx, q.RefreshToken, ""), nil)
	secrets = append(secrets, key, secret, pw+" three")

	events := e.rec.take()
	recorded, throttled := e.loginEvents.take()
	events = append(append(events, recorded...), throttled...)
	if len(events) < 10 {
		t.Fatalf("only %d events recorded; the flows should have made more", len(events))
	}
	body, err := json.Marshal(events)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range secrets {
		for _, form := range []string{s, s[:min(len(s), 24)], strings.ReplaceAll(s, "'", `\u0027`)} {
			if strings.Contains(string(body), form) {
				t.Errorf("an event holds a secret (%q…):\n%s", form[:min(len(form), 8)], body)
			}
		}
	}
	if slices.ContainsFunc(events, func(ev domain.Event) bool { return ev.Type == "" }) {
		t.Error("an event has no type")
	}
}

func TestNewEventActor(t *testing.T) {
	t.Parallel()
	at := time.Date(2030, 1, 2, 3, 4, 5, 123456789, time.FixedZone("x", 3600))
	user := selfActor("u1")
	tests := []struct {
		name string
		ctx  context.Context
		self domain.Actor
		want domain.Actor
	}{
		{"no origin", t.Context(), user, systemActor},
		{"origin without actor, self-service", WithOrigin(t.Context(), Origin{IP: "x"}), user, user},
		{"origin without actor, not self-service", WithOrigin(t.Context(), Origin{IP: "x"}), domain.Actor{}, systemActor},
		{"origin actor", WithOrigin(t.Context(), Origin{Actor: adminActor}), user, adminActor},
		{"WithActor", WithActor(WithOrigin(t.Context(), Origin{IP: "x"}), adminActor), user, adminActor},
	}
	for _, tt := range tests {
		ev := newEvent(tt.ctx, at, domain.EventUserUpdated, "u1", tt.self)
		if ev.Actor != tt.want {
			t.Errorf("%s: actor = %+v; want %+v", tt.name, ev.Actor, tt.want)
		}
		if !ev.Time.Equal(at.Truncate(time.Microsecond)) || ev.Time.Location() != time.UTC {
			t.Errorf("%s: time = %v; want %v in UTC", tt.name, ev.Time, at.Truncate(time.Microsecond))
		}
	}
	o := Origin{Actor: adminActor, IP: "192.0.2.1", UserAgent: strings.Repeat("u", 300), RequestID: strings.Repeat("r", 300)}
	ctx := WithActor(WithOrigin(t.Context(), o), domain.Actor{Type: domain.ActorCLI})
	if got := OriginFrom(ctx); got.Actor.Type != domain.ActorCLI || got.IP != o.IP || got.RequestID != o.RequestID {
		t.Errorf("OriginFrom(WithActor) = %+v; want the origin with actor cli", got)
	}
	ev := newEvent(ctx, at, domain.EventUserUpdated, "", domain.Actor{})
	if len(ev.UserAgent) != domain.MaxUserAgentLen || len(ev.RequestID) != requestIDMax {
		t.Errorf("event user agent %d bytes, request id %d; want %d and %d", len(ev.UserAgent), len(ev.RequestID), domain.MaxUserAgentLen, requestIDMax)
	}
	if a, b := newEvent(ctx, at, domain.EventUserUpdated, "", domain.Actor{}), newEvent(ctx, at.Add(time.Millisecond), domain.EventUserUpdated, "", domain.Actor{}); a.ID >= b.ID {
		t.Errorf("ids %s, %s do not sort by time", a.ID, b.ID)
	}
}
