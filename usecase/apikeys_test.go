package usecase

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/domain"
	"github.com/gatehouse-auth/gatehouse/internal/testkit"
)

// countingKeyStore counts the reads and writes of presented keys.
type countingKeyStore struct {
	domain.APIKeyStore
	reads, touches atomic.Int64
}

func (s *countingKeyStore) APIKeyGrant(ctx context.Context, hash []byte) (*domain.APIKeyGrant, error) {
	s.reads.Add(1)
	return s.APIKeyStore.APIKeyGrant(ctx, hash)
}

func (s *countingKeyStore) TouchAPIKey(ctx context.Context, id string, at time.Time, every time.Duration) (bool, error) {
	s.touches.Add(1)
	return s.APIKeyStore.TouchAPIKey(ctx, id, at, every)
}

func ttl(d time.Duration) *time.Duration { return &d }

func (e *env) mustCreateKey(u *domain.User, in APIKeyInput) (*domain.APIKey, string) {
	e.t.Helper()
	k, secret, err := e.apiKeys.Create(e.ctx, u.ID, in)
	testkit.WantErr(e.t, "Create(api key)", err, nil)
	return k, secret
}

func TestAPIKeyCreateValidates(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.addUser("alice", "correct horse")
	for _, tt := range []struct {
		name string
		in   APIKeyInput
		want domain.ErrorCode
	}{
		{"empty name", APIKeyInput{Name: ""}, "invalid_request"},
		{"65-character name", APIKeyInput{Name: strings.Repeat("n", 65)}, "invalid_request"},
		{"expires_in below 60 s", APIKeyInput{Name: "ci", ExpiresIn: ttl(59 * time.Second)}, "invalid_request"},
		{"expires_in zero", APIKeyInput{Name: "ci", ExpiresIn: ttl(0)}, "invalid_request"},
		{"expires_in above the maximum", APIKeyInput{Name: "ci", ExpiresIn: ttl(DefaultAPIKeyMaxTTL + time.Second)}, "invalid_request"},
		{"unknown scope", APIKeyInput{Name: "ci", Scope: []string{"admin:all"}}, "invalid_scope"},
	} {
		_, _, err := e.apiKeys.Create(e.ctx, u.ID, tt.in)
		var ve *domain.ValidationError
		switch {
		case tt.want == "invalid_scope" && errors.Is(err, domain.ErrInvalidScope):
		case errors.As(err, &ve) && ve.Code == tt.want:
		default:
			t.Errorf("%s: Create = %v; want %s", tt.name, err, tt.want)
		}
	}
	k, secret := e.mustCreateKey(u, APIKeyInput{Name: strings.Repeat("n", 64), Scope: []string{"read"}, ExpiresIn: ttl(time.Minute)})
	if !domain.CheckAPIKey("gth", secret) || k.Hint != secret[:12] || !k.ExpiresAt.Equal(e.clock.Now().Add(time.Minute).Truncate(time.Microsecond)) {
		t.Errorf("Create = %+v, %q; want a checked key, its hint and a minute's life", k, secret)
	}
	if string(k.Hash) == secret || strings.Contains(string(k.Hash), secret) {
		t.Error("the key is stored, not its hash")
	}
	k, _ = e.mustCreateKey(u, APIKeyInput{Name: "default"})
	if got := k.ExpiresAt.Sub(k.CreatedAt); got != 90*24*time.Hour {
		t.Errorf("default lifetime = %v; want 90 days", got)
	}
}

func TestAPIKeyAuthenticate(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.addUser("alice", "correct horse")
	k, secret := e.mustCreateKey(u, APIKeyInput{Name: "ci", Scope: []string{"read"}, ExpiresIn: ttl(time.Hour)})

	bad := secret[:len(secret)-1] + map[bool]string{true: "B", false: "A"}[secret[len(secret)-1] == 'A']
	for _, token := range []string{bad, "gth_" + strings.Repeat("0", 46), "Gtx_" + secret[4:]} {
		if _, err := e.verify.Verify(e.ctx, token); !errors.Is(err, domain.ErrTokenInvalid) {
			t.Errorf("Verify(malformed key) = %v; want ErrTokenInvalid", err)
		}
	}
	if n := e.keyStore.reads.Load(); n != 0 {
		t.Fatalf("malformed keys cost %d store reads; want none", n)
	}

	for range 50 {
		c, err := e.verify.Verify(e.ctx, secret)
		testkit.WantErr(t, "Verify(key)", err, nil)
		if c.Subject != u.ID || c.Username != "alice" || c.KeyID != k.ID || len(c.Roles) != 0 || !c.HasScope("read") || !c.FromAPIKey() {
			t.Fatalf("Verify(key) = %+v; want alice's key claims without roles", c)
		}
	}
	if n := e.keyStore.reads.Load(); n != 1 {
		t.Errorf("50 uses of one key cost %d store reads; want 1", n)
	}
	if n := e.keyStore.touches.Load(); n != 0 {
		t.Errorf("requests wrote to the store %d times; want 0 (last use is flushed in the background)", n)
	}
	e.apiKeys.FlushLastUse(e.ctx)
	e.clock.Advance(30 * time.Second)
	for range 10 {
		_, _ = e.verify.Verify(e.ctx, secret)
	}
	e.apiKeys.FlushLastUse(e.ctx)
	if n := e.keyStore.touches.Load(); n != 1 {
		t.Errorf("uses within a minute wrote last_used_at %d times; want 1", n)
	}
	got, _ := e.store.APIKeyByID(e.ctx, k.ID)
	if !got.LastUsedAt.Equal(epoch) {
		t.Errorf("LastUsedAt = %v; want %v", got.LastUsedAt, epoch)
	}
	e.clock.Advance(31 * time.Second)
	_, _ = e.verify.Verify(e.ctx, secret)
	e.apiKeys.FlushLastUse(e.ctx)
	if n := e.keyStore.touches.Load(); n != 2 {
		t.Errorf("a use a minute later: %d writes; want 2", n)
	}

	// Expiry is checked on every request, cached or not.
	e.clock.Advance(time.Hour)
	if _, err := e.verify.Verify(e.ctx, secret); !errors.Is(err, domain.ErrTokenExpired) {
		t.Errorf("Verify(expired key) = %v; want ErrTokenExpired", err)
	}
	// An unknown key with a good checksum: one read, invalid.
	other := newAPIKey("gth")
	if _, err := e.verify.Verify(e.ctx, other); !errors.Is(err, domain.ErrTokenInvalid) {
		t.Errorf("Verify(unknown key) = %v; want ErrTokenInvalid", err)
	}
}

func TestAPIKeyRevocation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice := e.addUser("alice", "correct horse")
	bob := e.addUser("bob", "battery staple")
	k, secret := e.mustCreateKey(alice, APIKeyInput{Name: "ci"})
	_, _ = e.verify.Verify(e.ctx, secret) // cached

	testkit.WantErr(t, "Delete(bob, alice's key)", e.apiKeys.Delete(e.ctx, bob.ID, k.ID), domain.ErrNotFound)
	if _, err := e.verify.Verify(e.ctx, secret); err != nil {
		t.Fatalf("key refused after another user's failed delete: %v", err)
	}
	testkit.WantErr(t, "Delete", e.apiKeys.Delete(e.ctx, alice.ID, k.ID), nil)
	if _, err := e.verify.Verify(e.ctx, secret); !errors.Is(err, domain.ErrTokenRevoked) {
		t.Errorf("Verify(deleted key, cached) = %v; want ErrTokenRevoked at once", err)
	}
	testkit.WantErr(t, "Delete(again)", e.apiKeys.Delete(e.ctx, alice.ID, k.ID), domain.ErrNotFound)
	keys, err := e.apiKeys.List(e.ctx, alice.ID)
	testkit.WantErr(t, "List", err, nil)
	if len(keys) != 0 {
		t.Errorf("List after delete = %v; want none", keys)
	}

	// A password change leaves keys alone; disabling revokes them.
	k2, secret2 := e.mustCreateKey(alice, APIKeyInput{Name: "ci2"})
	testkit.WantErr(t, "SetPassword", e.users.SetPassword(e.ctx, alice.ID, "new password 1"), nil)
	if _, err := e.verify.Verify(e.ctx, secret2); err != nil {
		t.Errorf("key after a password change: %v; want accepted", err)
	}
	yes := true
	_, err = e.users.Update(e.ctx, alice.ID, UserPatch{Disabled: &yes})
	testkit.WantErr(t, "Update(disable)", err, nil)
	if _, err := e.verify.Verify(e.ctx, secret2); !errors.Is(err, domain.ErrTokenRevoked) {
		t.Errorf("Verify(key of a disabled user) = %v; want ErrTokenRevoked", err)
	}
	no := false
	_, err = e.users.Update(e.ctx, alice.ID, UserPatch{Disabled: &no})
	testkit.WantErr(t, "Update(enable)", err, nil)
	e.clock.Advance(time.Hour) // past the cache and the feed entry
	if _, err := e.verify.Verify(e.ctx, secret2); !errors.Is(err, domain.ErrTokenRevoked) {
		t.Errorf("Verify(key %s after re-enabling) = %v; want still revoked", k2.ID, err)
	}
}

// TestAPIKeyRevokeRacingUse: once Delete returns, no request on this
// replica is accepted with the key, whatever was cached or in flight.
func TestAPIKeyRevokeRacingUse(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.addUser("alice", "correct horse")
	k, secret := e.mustCreateKey(u, APIKeyInput{Name: "ci"})
	var deleted atomic.Bool
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for {
				after := deleted.Load()
				_, err := e.verify.Verify(e.ctx, secret)
				if after && err == nil {
					t.Error("key accepted after Delete returned")
					return
				}
				if after {
					return
				}
			}
		})
	}
	time.Sleep(5 * time.Millisecond)
	testkit.WantErr(t, "Delete", e.apiKeys.Delete(e.ctx, u.ID, k.ID), nil)
	deleted.Store(true)
	wg.Wait()
}

func TestAPIKeyLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.addUser("alice", "correct horse")
	for range domain.MaxLiveAPIKeys {
		e.mustCreateKey(u, APIKeyInput{Name: "k"})
	}
	_, _, err := e.apiKeys.Create(e.ctx, u.ID, APIKeyInput{Name: "k"})
	testkit.WantErr(t, "Create(101st)", err, domain.ErrTooManyAPIKeys)
}

func TestAPIKeyExchange(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.addUser("alice", "correct horse")
	k, secret := e.mustCreateKey(u, APIKeyInput{Name: "ci", Scope: []string{"read", "profile"}, ExpiresIn: ttl(5 * time.Minute)})

	pair, err := e.apiKeys.Exchange(e.ctx, secret, []string{"read"})
	testkit.WantErr(t, "Exchange", err, nil)
	if pair.RefreshToken != "" || pair.ExpiresIn != 5*time.Minute {
		t.Errorf("Exchange = %+v; want no refresh token and the key's remaining 5 minutes", pair)
	}
	c := e.claims(pair.AccessToken)
	if c.Subject != u.ID || c.Username != "alice" || c.SessionID != "key:"+k.ID || len(c.Roles) != 0 || !c.FromAPIKey() {
		t.Errorf("exchanged claims = %+v", c)
	}
	_, err = e.apiKeys.Exchange(e.ctx, secret, []string{"openid"})
	testkit.WantErr(t, "Exchange(scope beyond the key's)", err, domain.ErrInvalidScope)
	_, err = e.apiKeys.Exchange(e.ctx, newAPIKey("gth"), nil)
	testkit.WantErr(t, "Exchange(unknown key)", err, domain.ErrInvalidGrant)

	testkit.WantErr(t, "Delete", e.apiKeys.Delete(e.ctx, u.ID, k.ID), nil)
	if _, err := e.verify.Verify(e.ctx, pair.AccessToken); !errors.Is(err, domain.ErrTokenRevoked) {
		t.Errorf("Verify(token exchanged from a deleted key) = %v; want ErrTokenRevoked", err)
	}
	_, err = e.apiKeys.Exchange(e.ctx, secret, nil)
	testkit.WantErr(t, "Exchange(deleted key)", err, domain.ErrInvalidGrant)
}

func TestAPIKeyIntrospection(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.addUser("alice", "correct horse")
	k, secret := e.mustCreateKey(u, APIKeyInput{Name: "ci", Scope: []string{"read"}})
	in, err := e.introspect.Introspect(e.ctx, e.resourceServer(), secret)
	testkit.WantErr(t, "Introspect(key)", err, nil)
	if !in.Active || in.TokenType != "api_key" || in.Claims.Subject != u.ID || !in.Claims.ExpiresAt.Equal(k.ExpiresAt) {
		t.Errorf("Introspect(key) = %+v", in)
	}
	testkit.WantErr(t, "Delete", e.apiKeys.Delete(e.ctx, u.ID, k.ID), nil)
	in, err = e.introspect.Introspect(e.ctx, e.resourceServer(), secret)
	testkit.WantErr(t, "Introspect(deleted key)", err, nil)
	if in.Active {
		t.Errorf("Introspect(deleted key) = %+v; want inactive", in)
	}
}

// TestAPIKeyDefaultTTLWithinMax: with a maximum lifetime below the 90-day
// default, a key asked for without a lifetime gets the maximum instead of
// a refusal; one asked for beyond the maximum is still refused.
func TestAPIKeyDefaultTTLWithinMax(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.addUser("alice", "correct horse")
	keys := NewAPIKeys(e.store, e.store, e.revoked, e.tokens, APIKeyPolicy{Prefix: "gth", MaxTTL: 24 * time.Hour}, e.policy, e.clock.Now, nil, nil)
	k, _, err := keys.Create(e.ctx, u.ID, APIKeyInput{Name: "ci"})
	testkit.WantErr(t, "Create(no expires_in, max 24h)", err, nil)
	if got := k.ExpiresAt.Sub(k.CreatedAt); got != 24*time.Hour {
		t.Errorf("default lifetime under a 24h maximum = %v; want 24h", got)
	}
	_, _, err = keys.Create(e.ctx, u.ID, APIKeyInput{Name: "ci", ExpiresIn: ttl(25 * time.Hour)})
	var ve *domain.ValidationError
	if !errors.As(err, &ve) || ve.Code != "invalid_request" {
		t.Errorf("Create(expires_in 25h, max 24h) = %v; want invalid_request", err)
	}
}

// TestKeyCallersRefusedBySessionUseCases: Logout (every scope), Devices and
// Events.Mine refuse a caller that is an API key or holds a token
// exchanged from one, on their own, whatever the HTTP layer does: an
// exchanged token carries a session id (key:<id>), so without the check a
// global logout would end every session of the key's user.
func TestKeyCallersRefusedBySessionUseCases(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.addUser("alice", "correct horse")
	login := e.signIn("alice", "correct horse")
	_, secret := e.mustCreateKey(u, APIKeyInput{Name: "ci"})
	pair, err := e.apiKeys.Exchange(e.ctx, secret, nil)
	testkit.WantErr(t, "Exchange", err, nil)
	events := NewEvents(e.store, 0, e.clock.Now, nil)
	for name, c := range map[string]*domain.Claims{"key": e.claims(secret), "exchanged token": e.claims(pair.AccessToken)} {
		for _, scope := range []LogoutScope{LogoutLocal, LogoutGlobal, LogoutOthers} {
			testkit.WantErr(t, "Logout("+name+", "+string(scope)+")", e.revoke.Logout(e.ctx, c, scope), domain.ErrForbidden)
		}
		_, err := e.devices.Mine(e.ctx, c)
		testkit.WantErr(t, "Devices.Mine("+name+")", err, domain.ErrForbidden)
		testkit.WantErr(t, "Devices.End("+name+")", e.devices.End(e.ctx, c, e.claims(login.AccessToken).SessionID), domain.ErrForbidden)
		_, err = events.Mine(e.ctx, c, "", 0)
		testkit.WantErr(t, "Events.Mine("+name+")", err, domain.ErrForbidden)
	}
	if _, err := e.verify.Verify(e.ctx, login.AccessToken); err != nil {
		t.Errorf("alice's login session after the refusals: %v; want live", err)
	}
	mine, err := events.Mine(e.ctx, e.claims(login.AccessToken), "", 0)
	testkit.WantErr(t, "Events.Mine(user token)", err, nil)
	if len(mine.Events) == 0 {
		t.Error("Events.Mine(user token) is empty; want alice's events")
	}
}
