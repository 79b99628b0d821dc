package usecase

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/adapter/storage/memory"
	"github.com/gatehouse-auth/gatehouse/domain"
	"github.com/gatehouse-auth/gatehouse/internal/testkit"
)

// env wires every use case to one memory store, the fakes and a fixed clock,
// the way cmd/gatehouse wires the real adapters.
type env struct {
	t     *testing.T
	ctx   context.Context
	clock *testkit.Clock
	store *memory.Store
	// rec is store with the committed auth events recorded; the use cases
	// run on it.
	rec *recStore
	// loginEvents gets the login events of login and account.
	loginEvents *fakeRecorder
	hasher      *fakeHasher
	tokens      *fakeTokens
	policy      TokenPolicy

	throttle   *Throttle
	revoked    *RevocationList
	verify     *Verify
	revoke     *Revoke
	register   *Register
	login      *Login
	refresh    *Refresh
	account    *Account
	users      *Users
	clients    *Clients
	keys       *Keys
	keyManager *fakeKeys
	introspect *Introspect
	apiKeys    *APIKeys
	devices    *Devices
	// keyStore counts the API-key store calls of apiKeys.
	keyStore *countingKeyStore

	// metrics is what build gives the use cases to report to (nil: none).
	metrics Metrics
}

// option changes the token policy before the use cases are built.
type option func(*TokenPolicy)

func withReuseInterval(d time.Duration) option {
	return func(p *TokenPolicy) { p.ReuseInterval = d }
}

func newEnv(t *testing.T, opts ...option) *env {
	t.Helper()
	clk := newClock()
	policy := DefaultTokenPolicy()
	policy.UserScopes = []string{"openid", "profile", "read"}
	for _, o := range opts {
		o(&policy)
	}
	e := &env{
		t:           t,
		ctx:         t.Context(),
		clock:       clk,
		store:       memory.New(),
		loginEvents: &fakeRecorder{},
		hasher:      &fakeHasher{},
		tokens:      newFakeTokens(clk),
		policy:      policy,
	}
	e.rec = newRecStore(e.store)
	e.build(e.rec)
	return e
}

// build (re)creates the use cases on top of users.
func (e *env) build(users domain.UserStore) {
	log := slog.New(slog.DiscardHandler)
	now := e.clock.Now
	e.throttle = NewThrottle(e.store, DefaultThrottlePolicy(), now)
	e.revoked = NewRevocationList(e.store, now, log, DefaultMaxStaleness)
	e.keyStore = &countingKeyStore{APIKeyStore: e.rec}
	e.apiKeys = NewAPIKeys(e.keyStore, users, e.revoked, e.tokens, APIKeyPolicy{Prefix: "gth", MaxTTL: DefaultAPIKeyMaxTTL, CacheTTL: 2 * time.Second}, e.policy, now, e.metrics, Traced)
	e.verify = NewVerify(e.tokens, e.revoked, e.apiKeys, e.metrics)
	e.revoke = NewRevoke(e.rec, e.verify, e.revoked, e.policy, now, e.metrics)
	e.register = NewRegister(users, e.hasher, e.throttle, domain.DefaultPasswordMinLength, true, now, e.metrics)
	e.login = e.newLogin(users, nil)
	e.refresh = NewRefresh(e.rec, e.tokens, e.revoked, e.policy, now, log, e.metrics, Traced)
	e.account = NewAccount(users, e.hasher, e.revoke, e.throttle, domain.DefaultPasswordMinLength, now, log, e.metrics, e.loginEvents)
	e.users = NewUsers(users, e.hasher, e.revoke, domain.DefaultPasswordMinLength, now)
	e.clients = NewClients(e.rec, e.tokens, e.policy, now, e.metrics)
	e.introspect = NewIntrospect(e.verify, e.account, e.clients, e.rec, now)
	e.devices = NewDevices(e.rec, users, e.revoke, now)
	e.keyManager = &fakeKeys{alg: "EdDSA"}
	e.keys = NewKeys(e.keyManager, "EdDSA", now, log, e.metrics)
}

// newLogin returns the Login of build on users, with m as its MFA (nil:
// none).
func (e *env) newLogin(users domain.UserStore, m *MFA) *Login {
	return NewLogin(users, e.rec, e.hasher, e.tokens, e.throttle, m, e.policy, e.clock.Now, slog.New(slog.DiscardHandler), e.metrics, e.loginEvents, Traced)
}

// resourceServer registers a machine client and returns it as a Caller of
// Introspect, or fails the test.
func (e *env) resourceServer() Caller {
	e.t.Helper()
	c, secret, err := e.clients.Create(e.ctx, "resource server", nil)
	testkit.WantErr(e.t, "Create(resource server)", err, nil)
	return Caller{ClientID: c.ID, ClientSecret: secret}
}

// disable disables u straight in the store (no session revocation), or
// fails the test.
func (e *env) disable(u *domain.User) {
	e.t.Helper()
	yes := true
	_, _, err := e.store.ChangeUser(e.ctx, domain.UserChange{UserID: u.ID, Disabled: &yes, At: e.clock.Now()})
	testkit.WantErr(e.t, "ChangeUser(disabled)", err, nil)
	u.Disabled = true
}

// setHash stores hash as u's password hash straight in the store, or fails
// the test.
func (e *env) setHash(u *domain.User, hash string) {
	e.t.Helper()
	_, _, err := e.store.ChangeUser(e.ctx, domain.UserChange{UserID: u.ID, PasswordHash: hash, At: e.clock.Now()})
	testkit.WantErr(e.t, "ChangeUser(hash)", err, nil)
	u.PasswordHash = hash
}

// deleteUser deletes the user straight in the store, or fails the test.
func (e *env) deleteUser(id string) {
	e.t.Helper()
	_, err := e.store.DeleteUser(e.ctx, domain.UserDeletion{ID: id, At: e.clock.Now(), FeedExpires: e.clock.Now().Add(time.Hour)})
	testkit.WantErr(e.t, "DeleteUser", err, nil)
}

// addUser registers a user or fails the test.
func (e *env) addUser(name, password string, roles ...string) *domain.User {
	e.t.Helper()
	u, err := e.register.Create(e.ctx, name, password, roles)
	if err != nil {
		e.t.Fatalf("Create(%q) = %v; want nil", name, err)
	}
	return u
}

// signIn logs a user in from a fixed address or fails the test.
func (e *env) signIn(name, password string) *TokenPair {
	e.t.Helper()
	p, err := e.login.Login(e.ctx, LoginInput{Username: name, Password: password, IP: "192.0.2.1"})
	if err != nil {
		e.t.Fatalf("Login(%q) = %v; want nil", name, err)
	}
	return p
}

// mustRefresh refreshes or fails the test.
func (e *env) mustRefresh(token string) *TokenPair {
	e.t.Helper()
	p, err := e.refresh.Refresh(e.ctx, token)
	if err != nil {
		e.t.Fatalf("Refresh(%s) = %v; want nil", short(token), err)
	}
	return p
}

// claims verifies an access token through the Verify use case or fails.
func (e *env) claims(token string) *domain.Claims {
	e.t.Helper()
	c, err := e.verify.Verify(e.ctx, token)
	if err != nil {
		e.t.Fatalf("Verify(%q) = %v; want nil", token, err)
	}
	return c
}

// short abbreviates a refresh token for failure messages.
func short(token string) string {
	if len(token) > 8 {
		return token[:8] + "…"
	}
	return token
}
