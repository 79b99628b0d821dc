package usecase

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/adapter/mfa"
	"github.com/gatehouse-auth/gatehouse/adapter/token"
	"github.com/gatehouse-auth/gatehouse/domain"
	"github.com/gatehouse-auth/gatehouse/internal/testkit"
)

// recorder is a Metrics and a DeliveryMetrics that remembers what it was
// told, as "kind:value", and the outbox statistics in order.
type recorder struct {
	mu    sync.Mutex
	seen  map[string]int
	stats []domain.OutboxStats
}

func newRecorder() *recorder { return &recorder{seen: map[string]int{}} }

func (r *recorder) add(s string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seen[s]++
}

func (r *recorder) LoginResult(outcome string) { r.add("login:" + outcome) }
func (r *recorder) TokenIssued(grant string)   { r.add("issued:" + grant) }
func (r *recorder) RefreshReuse()              { r.add("reuse") }
func (r *recorder) VerifyFailed(reason string) { r.add("verify:" + reason) }
func (r *recorder) EventsWritten(t domain.EventType, n int) {
	for range n {
		r.add("event:" + string(t))
	}
}
func (r *recorder) EventsDropped(n int) {
	for range n {
		r.add("dropped")
	}
}

func (r *recorder) WebhookDelivery(outcome string) { r.add("delivery:" + outcome) }

func (r *recorder) OutboxStats(s domain.OutboxStats) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stats = append(r.stats, s)
}

// outboxStats returns the statistics reported so far.
func (r *recorder) outboxStats() []domain.OutboxStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.stats)
}

// count returns how often s was seen.
func (r *recorder) count(s string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.seen[s]
}

// String lists the events in a stable order for failure messages.
func (r *recorder) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, k := range slices.Sorted(maps.Keys(r.seen)) {
		out = append(out, fmt.Sprintf("%s=%d", k, r.seen[k]))
	}
	return strings.Join(out, " ")
}

// observed returns an env whose use cases report to a recorder.
func observed(t *testing.T) (*env, *recorder) {
	e := newEnv(t)
	rec := newRecorder()
	e.metrics = rec
	e.build(e.rec)
	return e, rec
}

func TestEventsLogin(t *testing.T) {
	t.Parallel()
	e, rec := observed(t)
	e.addUser("alice", "alice's password")
	p := e.signIn("alice", "alice's password")
	if p == nil {
		t.Fatal("signIn returned no pair")
	}
	for range 5 {
		_, err := e.login.Login(e.ctx, LoginInput{Username: "alice", Password: "wrong password", IP: "198.51.100.7"})
		testkit.WantErr(t, "Login(wrong password)", err, domain.ErrInvalidCredentials)
	}
	_, err := e.login.Login(e.ctx, LoginInput{Username: "alice", Password: "alice's password", IP: "198.51.100.7"})
	if LoginOutcome(err) != LoginThrottled {
		t.Fatalf("Login after 5 failures = %v; want throttled", err)
	}
	_, err = e.login.Login(e.ctx, LoginInput{Username: "alice", Password: "alice's password", Scope: []string{"admin"}, IP: "192.0.2.1"})
	testkit.WantErr(t, "Login(scope admin)", err, domain.ErrInvalidScope)
	e.hasher.setFail(domain.ErrOverloaded)
	_, err = e.login.Login(e.ctx, LoginInput{Username: "alice", Password: "alice's password", IP: "192.0.2.9"})
	testkit.WantErr(t, "Login(full queue)", err, domain.ErrOverloaded)

	want := map[string]int{
		"event:user.created": 1, // the login events go to the recorder, not counted here
		"login:success":      1, "issued:password": 1, "login:invalid_credentials": 5,
		"login:throttled": 1, "login:invalid_scope": 1, "login:overloaded": 1,
	}
	if !maps.Equal(rec.seen, want) {
		t.Errorf("events = %s; want %v", rec, want)
	}
}

func TestEventsLoginStoreOutage(t *testing.T) {
	t.Parallel()
	e, _ := observed(t)
	e.addUser("alice", "alice's password")
	rec := newRecorder()
	e.metrics = rec
	e.build(outageUsers{e.store})
	_, err := e.login.Login(e.ctx, LoginInput{Username: "alice", Password: "alice's password", IP: "192.0.2.1"})
	if err == nil {
		t.Fatal("Login during an outage = nil; want an error")
	}
	if got := rec.seen["login:error"]; got != 1 || len(rec.seen) != 1 {
		t.Errorf("events = %s; want login:error=1 only", rec)
	}
}

func TestEventsRefresh(t *testing.T) {
	t.Parallel()
	e, rec := observed(t)
	e.addUser("alice", "alice's password")
	first := e.signIn("alice", "alice's password")
	second := e.mustRefresh(first.RefreshToken)
	e.mustRefresh(second.RefreshToken)
	// The first token is two generations old: reuse, the session dies.
	_, err := e.refresh.Refresh(e.ctx, first.RefreshToken)
	testkit.WantErr(t, "Refresh(reused token)", err, domain.ErrInvalidGrant)
	// An unknown token is refused without being reuse.
	_, err = e.refresh.Refresh(e.ctx, "not-a-token")
	testkit.WantErr(t, "Refresh(unknown)", err, domain.ErrInvalidGrant)

	if rec.seen["issued:refresh_token"] != 2 || rec.seen["reuse"] != 1 {
		t.Errorf("events = %s; want issued:refresh_token=2 reuse=1", rec)
	}
}

func TestEventsVerify(t *testing.T) {
	t.Parallel()
	e, rec := observed(t)
	e.addUser("alice", "alice's password")
	live := e.signIn("alice", "alice's password")
	e.claims(live.AccessToken)
	revoked := e.signIn("alice", "alice's password")
	testkit.WantErr(t, "Logout", e.revoke.Logout(e.ctx, e.claims(revoked.AccessToken), LogoutLocal), nil)

	tests := []struct {
		token string
		want  error
	}{
		{"", domain.ErrTokenMissing},
		{"garbage", domain.ErrTokenInvalid},
		{revoked.AccessToken, domain.ErrTokenRevoked},
	}
	for _, tt := range tests {
		_, err := e.verify.Verify(e.ctx, tt.token)
		testkit.WantErr(t, fmt.Sprintf("Verify(%q)", tt.token), err, tt.want)
	}
	e.clock.Advance(e.policy.AccessTTL + time.Hour)
	_, err := e.verify.Verify(e.ctx, live.AccessToken)
	testkit.WantErr(t, "Verify(expired)", err, domain.ErrTokenExpired)

	want := map[string]int{"verify:missing": 1, "verify:invalid": 1, "verify:revoked": 1, "verify:expired": 1}
	for k, n := range want {
		if rec.seen[k] != n {
			t.Errorf("events = %s; want %s=%d", rec, k, n)
		}
	}
}

func TestEventsClientCredentials(t *testing.T) {
	t.Parallel()
	e, rec := observed(t)
	c, secret, err := e.clients.Create(e.ctx, "svc", []string{"read"})
	testkit.WantErr(t, "Create", err, nil)
	_, err = e.clients.Grant(e.ctx, c.ID, secret, nil)
	testkit.WantErr(t, "Grant", err, nil)
	_, err = e.clients.Grant(e.ctx, c.ID, secret+"x", nil)
	testkit.WantErr(t, "Grant(wrong secret)", err, domain.ErrInvalidClient)
	if want := map[string]int{"issued:client_credentials": 1, "event:client.created": 1}; !maps.Equal(rec.seen, want) {
		t.Errorf("events = %s; want %v", rec, want)
	}
}

func TestEventsUnobserved(t *testing.T) {
	t.Parallel()
	// Without events (nil) nothing is reported and nothing breaks.
	e := newEnv(t)
	e.addUser("alice", "alice's password")
	p := e.signIn("alice", "alice's password")
	e.mustRefresh(p.RefreshToken)
	c, secret, err := e.clients.Create(e.ctx, "svc", nil)
	testkit.WantErr(t, "Create", err, nil)
	_, err = e.clients.Grant(e.ctx, c.ID, secret, nil)
	testkit.WantErr(t, "Grant", err, nil)
	if _, err := e.verify.Verify(e.ctx, ""); err == nil {
		t.Fatal("Verify(\"\") = nil; want an error")
	}
}

// TestMetricsOfMFAAndAccount: MFA and Account report the events that
// commit with a used recovery code and with a password hash upgrade to the
// metrics given to their constructors, whatever Revoke reports to (here
// nothing).
func TestMetricsOfMFAAndAccount(t *testing.T) {
	t.Parallel()
	t.Run("recovery code", func(t *testing.T) {
		t.Parallel()
		e := newMFAEnv(t, nil)
		en := e.enable("alice")
		rec := newRecorder()
		box, err := token.NewSecretBox(nil)
		testkit.WantErr(t, "NewSecretBox", err, nil)
		m := NewMFA(e.fake, e.fake, box, mfa.NewTOTP(), e.revoke, "", e.clock.Now, rec, e.loginEvents)
		e.login = e.newLogin(e.fake, m)
		_, err = e.login.CompleteMFA(e.ctx, MFALoginInput{Token: e.mfaToken("alice"), RecoveryCode: en.codes[0]})
		testkit.WantErr(t, "CompleteMFA(recovery code)", err, nil)
		if got := rec.count("event:" + string(domain.EventMFARecoveryCodeUsed)); got != 1 {
			t.Errorf("metrics = %s; want one %s", rec, domain.EventMFARecoveryCodeUsed)
		}
	})
	t.Run("hash upgrade", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		u := e.addUser("alice", "alice's password")
		c := e.claims(e.signIn("alice", "alice's password").AccessToken)
		e.setHash(u, "old:alice's password")
		rec := newRecorder()
		account := NewAccount(e.rec, e.hasher, e.revoke, nil, domain.DefaultPasswordMinLength, e.clock.Now, nil, rec, nil)
		err := account.ChangePassword(e.ctx, c, "alice's password", "a brand new password", "192.0.2.1")
		testkit.WantErr(t, "ChangePassword(old hash)", err, nil)
		if got := rec.count("event:" + string(domain.EventUserUpdated)); got != 1 {
			t.Errorf("metrics = %s; want one %s (the upgrade)", rec, domain.EventUserUpdated)
		}
	})
}
