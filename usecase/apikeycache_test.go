package usecase

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/domain"
	"github.com/gatehouse-auth/gatehouse/internal/testkit"
)

// TestAPIKeyRefusalsCached: a key with a good checksum that is unknown,
// revoked or expired costs one store read per cache lifetime (the
// revocation sync interval), not one per request: anyone can make up a key
// whose checksum passes.
func TestAPIKeyRefusalsCached(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.addUser("alice", "correct horse")
	reads := func() int64 { return e.keyStore.reads.Load() }
	uses := func(key string, want error) {
		t.Helper()
		for range 50 {
			if _, err := e.verify.Verify(e.ctx, key); !errors.Is(err, want) {
				t.Fatalf("Verify(key) = %v; want %v", err, want)
			}
		}
	}

	unknown := newAPIKey("gth")
	uses(unknown, domain.ErrTokenInvalid)
	if n := reads(); n != 1 {
		t.Errorf("50 uses of an unknown key cost %d store reads; want 1", n)
	}
	e.clock.Advance(2 * time.Second) // the cache lifetime in newEnv
	uses(unknown, domain.ErrTokenInvalid)
	if n := reads(); n != 2 {
		t.Errorf("50 more uses after the cache lifetime: %d store reads in all; want 2", n)
	}

	k, secret := e.mustCreateKey(u, APIKeyInput{Name: "ci", ExpiresIn: ttl(time.Minute)})
	testkit.WantErr(t, "Delete", e.apiKeys.Delete(e.ctx, u.ID, k.ID), nil)
	before := reads()
	e.clock.Advance(2 * time.Second)
	uses(secret, domain.ErrTokenRevoked)
	if n := reads() - before; n != 1 {
		t.Errorf("50 uses of a revoked key cost %d store reads; want 1", n)
	}

	_, expiring := e.mustCreateKey(u, APIKeyInput{Name: "ci", ExpiresIn: ttl(time.Minute)})
	e.clock.Advance(time.Minute)
	before = reads()
	uses(expiring, domain.ErrTokenExpired)
	if n := reads() - before; n != 1 {
		t.Errorf("50 uses of an expired key cost %d store reads; want 1", n)
	}
}

// TestAPIKeyCreatedAfterRefusalWorks: a key refused as unknown on this
// replica and then created here works at once: creation drops the cached
// refusal. (Only a guessed key can be refused before it is created.)
func TestAPIKeyCreatedAfterRefusalWorks(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.addUser("alice", "correct horse")
	secret := newAPIKey("gth")
	if _, err := e.verify.Verify(e.ctx, secret); !errors.Is(err, domain.ErrTokenInvalid) {
		t.Fatalf("Verify(not yet created) = %v; want ErrTokenInvalid", err)
	}
	_, err := e.apiKeys.create(e.ctx, u.ID, APIKeyInput{Name: "ci"}, secret)
	testkit.WantErr(t, "create", err, nil)
	if _, err := e.verify.Verify(e.ctx, secret); err != nil {
		t.Errorf("Verify(just created, refused before) = %v; want accepted", err)
	}
}

// gatedKeyStore holds every key read until open is closed, counting them.
type gatedKeyStore struct {
	domain.APIKeyStore
	open    chan struct{}
	mu      sync.Mutex
	reads   int
	entered chan struct{} // closed at the first read
	once    sync.Once
}

func (s *gatedKeyStore) APIKeyGrant(ctx context.Context, hash []byte) (*domain.APIKeyGrant, error) {
	s.mu.Lock()
	s.reads++
	s.mu.Unlock()
	s.once.Do(func() { close(s.entered) })
	<-s.open
	return s.APIKeyStore.APIKeyGrant(ctx, hash)
}

// TestAPIKeyConcurrentFirstUse: 50 requests presenting one key that is not
// cached yet share one store read.
func TestAPIKeyConcurrentFirstUse(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.addUser("alice", "correct horse")
	_, secret := e.mustCreateKey(u, APIKeyInput{Name: "ci"})
	gate := &gatedKeyStore{APIKeyStore: e.store, open: make(chan struct{}), entered: make(chan struct{})}
	keys := NewAPIKeys(gate, e.store, e.revoked, e.tokens, APIKeyPolicy{Prefix: "gth", CacheTTL: time.Hour}, e.policy, e.clock.Now, nil, nil)

	var started, done sync.WaitGroup
	errs := make([]error, 50)
	for i := range errs {
		started.Add(1)
		done.Go(func() {
			started.Done()
			_, errs[i] = keys.Authenticate(e.ctx, secret)
		})
	}
	started.Wait()
	<-gate.entered
	time.Sleep(50 * time.Millisecond) // lets the others reach the read, without a fix each its own
	close(gate.open)
	done.Wait()
	for i, err := range errs {
		testkit.WantErr(t, fmt.Sprintf("Authenticate #%d", i), err, nil)
	}
	if gate.reads != 1 {
		t.Errorf("50 concurrent first uses of a key cost %d store reads; want 1", gate.reads)
	}
}

// countingGrants counts refresh-token lookups.
type countingGrants struct {
	domain.GrantReader
	reads int
}

func (g *countingGrants) RefreshGrant(ctx context.Context, hash []byte) (*domain.RefreshGrant, error) {
	g.reads++
	return g.GrantReader.RefreshGrant(ctx, hash)
}

// TestIntrospectMalformedKeyReadsNothing: a token with the shape of an API
// key but a bad checksum is inactive without any store read (it is no
// refresh token either: those never have a key's shape).
func TestIntrospectMalformedKeyReadsNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.addUser("alice", "correct horse")
	_, secret := e.mustCreateKey(u, APIKeyInput{Name: "ci"})
	rs := e.resourceServer()
	grants := &countingGrants{GrantReader: e.rec}
	intro := NewIntrospect(e.verify, e.account, e.clients, grants, e.clock.Now)
	bad := secret[:len(secret)-1] + map[bool]string{true: "B", false: "A"}[secret[len(secret)-1] == 'A']
	for _, token := range []string{bad, "gth_" + strings.Repeat("!", 46), "abc_" + bad[4:]} {
		in, err := intro.Introspect(e.ctx, rs, token)
		testkit.WantErr(t, "Introspect(malformed key)", err, nil)
		if in.Active {
			t.Errorf("Introspect(%q) = %+v; want inactive", token, in)
		}
	}
	if grants.reads != 0 || e.keyStore.reads.Load() != 0 {
		t.Errorf("malformed keys cost %d refresh-token and %d key reads; want none", grants.reads, e.keyStore.reads.Load())
	}
}

// TestAPIKeyPrune: keys expired or revoked longer than the retention ago
// go; a pruned key presented again is unknown; the others stay.
func TestAPIKeyPrune(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.addUser("alice", "correct horse")
	keys := NewAPIKeys(e.store, e.store, e.revoked, e.tokens, APIKeyPolicy{Prefix: "gth", Retention: 24 * time.Hour}, e.policy, e.clock.Now, nil, nil)
	_, expiring, err := keys.Create(e.ctx, u.ID, APIKeyInput{Name: "short", ExpiresIn: ttl(time.Hour)})
	testkit.WantErr(t, "Create(short)", err, nil)
	revoked, _, err := keys.Create(e.ctx, u.ID, APIKeyInput{Name: "revoked"})
	testkit.WantErr(t, "Create(revoked)", err, nil)
	testkit.WantErr(t, "Delete", keys.Delete(e.ctx, u.ID, revoked.ID), nil)
	live, secret, err := keys.Create(e.ctx, u.ID, APIKeyInput{Name: "live"})
	testkit.WantErr(t, "Create(live)", err, nil)

	e.clock.Advance(24 * time.Hour) // the revoked key: exactly the retention
	n, err := keys.Prune(e.ctx)
	testkit.WantErr(t, "Prune", err, nil)
	if n != 1 {
		t.Errorf("Prune after 24h = %d; want 1 (the revoked key)", n)
	}
	e.clock.Advance(time.Hour) // the short key: expired 24h ago
	if n, _ := keys.Prune(e.ctx); n != 1 {
		t.Errorf("Prune after 25h = %d; want 1 (the expired key)", n)
	}
	if _, err := keys.Authenticate(e.ctx, expiring); !errors.Is(err, domain.ErrTokenInvalid) {
		t.Errorf("Authenticate(pruned key) = %v; want ErrTokenInvalid", err)
	}
	list, err := keys.List(e.ctx, u.ID)
	testkit.WantErr(t, "List", err, nil)
	if len(list) != 1 || list[0].ID != live.ID {
		t.Errorf("List after prune = %+v; want the live key only", list)
	}
	if _, err := keys.Authenticate(e.ctx, secret); err != nil {
		t.Errorf("Authenticate(live key) after prune = %v", err)
	}
}

// TestKeyLoadsLeaderGoesAway: when the caller whose read the others wait
// on is cancelled mid-read, a waiter reads again under its own context
// instead of failing with the leader's cancellation; a waiter whose own
// context ends stops waiting; a load that panics still releases its
// waiters, with an error.
func TestKeyLoadsLeaderGoesAway(t *testing.T) {
	t.Parallel()
	var l keyLoads
	var h keyHash
	started, release := make(chan struct{}), make(chan struct{})
	leaderCtx, cancelLeader := context.WithCancel(t.Context())
	leaderDone := make(chan error, 1)
	go func() {
		_, err := l.do(leaderCtx, h, func(ctx context.Context) (*keyEntry, error) {
			close(started)
			<-ctx.Done()
			<-release
			return nil, ctx.Err()
		})
		leaderDone <- err
	}()
	<-started

	quitter, quit := context.WithCancel(t.Context())
	quitDone := make(chan error, 1)
	go func() {
		_, err := l.do(quitter, h, func(context.Context) (*keyEntry, error) { return nil, errors.New("must not run") })
		quitDone <- err
	}()
	waiterDone := make(chan *keyEntry, 1)
	reads := 0
	go func() {
		e, err := l.do(t.Context(), h, func(context.Context) (*keyEntry, error) {
			reads++
			return &keyEntry{}, nil
		})
		if err != nil {
			t.Errorf("waiter: %v; want its own read's answer", err)
		}
		waiterDone <- e
	}()
	quit()
	if err := <-quitDone; !errors.Is(err, context.Canceled) {
		t.Errorf("waiter whose context ended = %v; want context.Canceled", err)
	}
	cancelLeader()
	close(release)
	if err := <-leaderDone; !errors.Is(err, context.Canceled) {
		t.Errorf("leader = %v; want its cancellation", err)
	}
	if e := <-waiterDone; e == nil || reads != 1 {
		t.Errorf("waiter got %v after %d reads of its own; want an entry from 1 read", e, reads)
	}

	func() {
		defer func() { recover() }()
		l.do(t.Context(), h, func(context.Context) (*keyEntry, error) { panic("load failed") })
	}()
	if _, err := l.do(t.Context(), h, func(context.Context) (*keyEntry, error) { return &keyEntry{}, nil }); err != nil {
		t.Errorf("read after a panicked load = %v; want a fresh read", err)
	}
}
