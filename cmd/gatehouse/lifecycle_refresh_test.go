package main

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/testkit"
)

// Refreshes in flight across a credential change, with no gate: several
// sessions of one user refresh as fast as they can, on a real server and
// a real store, while the user's password is changed or the user is
// disabled. Whatever interleaving the run produced, once the change has
// returned no token of those sessions works, whether issued before the
// change or by a refresh that was in flight across it, and every refresh
// sent after it is refused.

// refreshChains is the record of the refreshing sessions.
type refreshChains struct {
	changed atomic.Bool  // the change has returned
	stop    atomic.Bool  // give up (the test failed)
	running atomic.Int64 // refreshes answered 200 so far

	mu      sync.Mutex
	tokens  []pairTokens // every pair any session held
	answers []refreshAnswer
}

// pairTokens is one access and refresh token issued together.
type pairTokens struct{ access, refresh string }

// refreshAnswer is one refresh and whether it was sent after the change
// had returned.
type refreshAnswer struct {
	call
	sentAfter bool
}

// run refreshes the session holding p until a refresh is refused, or a
// few were sent after the change (they should have been refused), or
// stop, recording every answer and every pair.
func (r *refreshChains) run(e *testEnv, p pairTokens) {
	r.add(p, nil)
	for sentAfter := 0; sentAfter < 3 && !r.stop.Load(); {
		after := r.changed.Load()
		if after {
			sentAfter++
		}
		c := e.call(http.MethodPost, "/oauth/token", map[string]string{"grant_type": "refresh_token", "refresh_token": p.refresh}, nil)
		if c.err != nil || c.status != http.StatusOK {
			r.add(pairTokens{}, &refreshAnswer{c, after})
			return
		}
		access, _ := c.body["access_token"].(string)
		refresh, _ := c.body["refresh_token"].(string)
		p = pairTokens{access, refresh}
		r.add(p, &refreshAnswer{c, after})
		r.running.Add(1)
	}
}

func (r *refreshChains) add(p pairTokens, a *refreshAnswer) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if p.refresh != "" {
		r.tokens = append(r.tokens, p)
	}
	if a != nil {
		r.answers = append(r.answers, *a)
	}
}

// credentialChange is a change a refresh may be in flight across.
type credentialChange struct {
	name string
	// keepsOwn: the change is made from the user's own session, which
	// continues.
	keepsOwn bool
	// do makes the change on e: admin is an admin's Authorization header,
	// id the user's id, own the header of the user's own session.
	do func(t *testing.T, e *testEnv, admin map[string]string, id string, own map[string]string)
}

var credentialChanges = []credentialChange{
	{"self password change", true, func(t *testing.T, e *testEnv, _ map[string]string, _ string, own map[string]string) {
		r := e.do(http.MethodPost, "/me/password", map[string]string{"current_password": "correct horse battery", "new_password": "a brand new secret"}, own)
		wantStatus(t, r, "POST /me/password", http.StatusNoContent)
	}},
	{"admin disable", false, func(t *testing.T, e *testEnv, admin map[string]string, id string, _ map[string]string) {
		wantStatus(t, e.do(http.MethodPatch, "/admin/users/"+id, map[string]any{"disabled": true}, admin), "PATCH disabled", http.StatusOK)
	}},
	{"admin password reset", false, func(t *testing.T, e *testEnv, _ map[string]string, id string, _ map[string]string) {
		if err := e.app.users.SetPassword(context.Background(), id, "the admin's new password"); err != nil {
			t.Fatalf("SetPassword: %v", err)
		}
	}},
}

func TestRefreshesInFlightAcrossACredentialChange(t *testing.T) {
	t.Parallel()
	for _, change := range credentialChanges {
		t.Run(change.name, func(t *testing.T) {
			t.Parallel()
			onEachStore(t, func(t *testing.T, db map[string]string) {
				refreshesAcross(t, db, change)
			})
		})
	}
}

// refreshesAcross runs the chains of 6 sessions of alice across change.
func refreshesAcross(t *testing.T, db map[string]string, change credentialChange) {
	const sessions = 6
	e := newSecurityEnv(t, db, testParams, nil)
	admin := bearerHeader(adminDirect(t, e).AccessToken)
	id := e.signUp("alice", "correct horse battery")["id"].(string)
	own := loginDirect(t, e, "alice", "correct horse battery")
	e.signUp("bob", "bob's fine password")
	bob := loginDirect(t, e, "bob", "bob's fine password")

	chains := &refreshChains{}
	var wg sync.WaitGroup
	for range sessions {
		p := loginDirect(t, e, "alice", "correct horse battery")
		wg.Go(func() { chains.run(e, pairTokens{p.AccessToken, p.RefreshToken}) })
	}
	testkit.Eventually(t, "every session is refreshing", 60*time.Second, func() bool { return chains.running.Load() >= 2*sessions })
	change.do(t, e, admin, id, bearerHeader(own.AccessToken))
	chains.changed.Store(true)

	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		chains.stop.Store(true)
		<-done
		t.Fatalf("sessions still refreshing 60 s after the %s returned", change.name)
	}

	for i, a := range chains.answers {
		switch {
		case a.err != nil:
			t.Errorf("refresh %d: %v", i, a.err)
		case a.status == http.StatusOK && a.sentAfter:
			t.Errorf("refresh %d, sent after the %s returned = 200; want 400 invalid_grant", i, change.name)
		case a.status != http.StatusOK && (a.status != http.StatusBadRequest || a.body["error"] != "invalid_grant"):
			t.Errorf("refresh %d = %d %v; want 200 or 400 invalid_grant", i, a.status, a.body)
		}
	}
	// No token any of those sessions ever held works now: neither those
	// issued before the change nor those of refreshes in flight across it.
	survived := 0
	for i, p := range chains.tokens {
		if c := e.call(http.MethodGet, "/protected_resource", nil, bearerHeader(p.access)); c.status != http.StatusUnauthorized {
			survived++
			t.Errorf("access token %d of %d: /protected_resource = %d; want 401", i, len(chains.tokens), c.status)
		}
	}
	for i, p := range chains.tokens {
		if r := e.form("/oauth/token", "grant_type=refresh_token&refresh_token="+p.refresh, nil); r.status != http.StatusBadRequest {
			survived++
			t.Errorf("refresh token %d of %d: /oauth/token = %d; want 400", i, len(chains.tokens), r.status)
		}
	}
	if survived > 0 {
		t.Errorf("%d tokens of %d pairs survived the %s", survived, len(chains.tokens), change.name)
	}
	t.Logf("%d refreshes, %d pairs checked", len(chains.answers), len(chains.tokens))

	// The change ended only what it had to: bob's session goes on, and so
	// does the session a self-service change was made from.
	wantStatus(t, e.form("/oauth/token", "grant_type=refresh_token&refresh_token="+bob.RefreshToken, nil), "bob's refresh", http.StatusOK)
	if change.keepsOwn {
		wantStatus(t, e.form("/oauth/token", "grant_type=refresh_token&refresh_token="+own.RefreshToken, nil), "the changing session's refresh", http.StatusOK)
	}
}
