package usecase

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse-auth/gatehouse/adapter/storage/memory"
	"github.com/gatehouse-auth/gatehouse/domain"
	"github.com/gatehouse-auth/gatehouse/internal/testkit"
)

// epoch is the fixed start of every test clock.
var epoch = time.Date(2030, time.January, 2, 3, 4, 5, 0, time.UTC)

// newClock returns a test clock standing at epoch.
func newClock() *testkit.Clock { return testkit.NewClock(epoch) }

// fakeHasher "hashes" pw as "h:"+pw. Stored hashes with the "old:" prefix
// verify against "old:"+pw and ask for a rehash. It counts calls so tests
// can prove that every login path does the same hashing work.
type fakeHasher struct {
	mu       sync.Mutex
	hashes   int
	verifies int
	verified []string // stored hashes Verify was called with
	fail     error    // when set, Hash and Verify return it (a full queue)
}

func (h *fakeHasher) Hash(ctx context.Context, password string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.hashes++
	if h.fail != nil {
		return "", h.fail
	}
	return "h:" + password, nil
}

func (h *fakeHasher) Verify(ctx context.Context, stored, password string) (ok, rehash bool, err error) {
	if err := ctx.Err(); err != nil {
		return false, false, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.verifies++
	h.verified = append(h.verified, stored)
	if h.fail != nil {
		return false, false, h.fail
	}
	if old, found := strings.CutPrefix(stored, "old:"); found {
		return old == password, true, nil
	}
	return stored == "h:"+password, false, nil
}

// setFail makes every later call fail with err.
func (h *fakeHasher) setFail(err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.fail = err
}

// counts returns how often Hash and Verify were called.
func (h *fakeHasher) counts() (hashes, verifies int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.hashes, h.verifies
}

// lastVerified returns the stored hash of the latest Verify call.
func (h *fakeHasher) lastVerified() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.verified) == 0 {
		return ""
	}
	return h.verified[len(h.verified)-1]
}

// fakeTokens is both the issuer and the verifier. A token reads
// "tok:<sub>:<sid>:<jti>"; the claims behind it are kept in a map, like a
// signature that only this fake can check. Expiry is checked against the
// fixed clock.
type fakeTokens struct {
	clock *testkit.Clock

	mu     sync.Mutex
	issued map[string]domain.Claims
}

func newFakeTokens(c *testkit.Clock) *fakeTokens {
	return &fakeTokens{clock: c, issued: make(map[string]domain.Claims)}
}

func (f *fakeTokens) Issue(_ context.Context, c domain.Claims) (string, error) {
	if c.ID == "" || c.Subject == "" || c.ExpiresAt.IsZero() {
		return "", fmt.Errorf("fake issuer: incomplete claims %+v", c)
	}
	tok := "tok|" + c.Subject + "|" + c.SessionID + "|" + c.ID
	c.Scope = slices.Clone(c.Scope)
	c.Roles = slices.Clone(c.Roles)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.issued[tok] = c
	return tok, nil
}

func (f *fakeTokens) Verify(_ context.Context, token string) (*domain.Claims, error) {
	parts := strings.Split(token, "|")
	if len(parts) != 4 || parts[0] != "tok" {
		return nil, domain.ErrTokenInvalid
	}
	f.mu.Lock()
	c, ok := f.issued[token]
	f.mu.Unlock()
	if !ok || c.Subject != parts[1] || c.SessionID != parts[2] || c.ID != parts[3] {
		return nil, domain.ErrTokenInvalid
	}
	if !f.clock.Now().Before(c.ExpiresAt) {
		return nil, domain.ErrTokenExpired
	}
	return &c, nil
}

// errOutage stands for a database that cannot be reached.
var errOutage = errors.New("connection refused")

// outageUsers is a UserStore whose lookups fail with an outage, not with
// ErrNotFound.
type outageUsers struct {
	domain.UserStore
}

func (outageUsers) UserByUsername(context.Context, string) (*domain.User, error) {
	return nil, fmt.Errorf("query users: %w", errOutage)
}

func (outageUsers) UserByID(context.Context, string) (*domain.User, error) {
	return nil, fmt.Errorf("query users: %w", errOutage)
}

// outageGrants is a SessionStore whose refresh-grant reads fail with an
// outage, not with ErrNotFound.
type outageGrants struct {
	domain.SessionStore
}

func (outageGrants) RefreshGrant(context.Context, []byte) (*domain.RefreshGrant, error) {
	return nil, fmt.Errorf("query refresh grant: %w", errOutage)
}

// outageFeed is a SessionStore whose revocation feed cannot be read.
type outageFeed struct {
	domain.SessionStore
}

func (outageFeed) RevocationsSince(context.Context, int64, time.Time, int) ([]domain.Revocation, error) {
	return nil, fmt.Errorf("query feed: %w", errOutage)
}

// outagePrune is a SessionStore that cannot prune sessions.
type outagePrune struct {
	domain.SessionStore
}

func (outagePrune) PruneSessions(context.Context, time.Time) (int64, error) {
	return 0, fmt.Errorf("delete sessions: %w", errOutage)
}

// signallingFeed reports each PruneRevocations call on pruned (without
// blocking), so a test can wait for RevocationList.Run's first round.
type signallingFeed struct {
	domain.SessionStore
	pruned chan struct{}
}

func (f *signallingFeed) PruneRevocations(ctx context.Context, t time.Time) error {
	err := f.SessionStore.PruneRevocations(ctx, t)
	select {
	case f.pruned <- struct{}{}:
	default:
	}
	return err
}

// corruptSeal is a SessionStore whose sessions come back with a damaged
// sealed successor, whichever read returns them.
type corruptSeal struct {
	domain.SessionStore
}

func (c corruptSeal) SessionByID(ctx context.Context, id string) (*domain.Session, error) {
	s, err := c.SessionStore.SessionByID(ctx, id)
	if err == nil {
		damage(s)
	}
	return s, err
}

func (c corruptSeal) RefreshGrant(ctx context.Context, hash []byte) (*domain.RefreshGrant, error) {
	g, err := c.SessionStore.RefreshGrant(ctx, hash)
	if err == nil {
		damage(&g.Session)
	}
	return g, err
}

// damage flips a bit of the session's sealed successor, if it has one.
func damage(s *domain.Session) {
	if len(s.SealedSuccessor) > 0 {
		s.SealedSuccessor[len(s.SealedSuccessor)-1] ^= 1
	}
}

// recStore is the memory store with the auth events of every state change
// recorded as they commit: the events handed to a call that failed, or
// that changed nothing (a revocation of no session, a key revoked before),
// are not, just as a store writes none of them.
type recStore struct {
	*memory.Store

	mu     sync.Mutex
	events []domain.Event
	handed int // events handed to the store, committed or not
}

func newRecStore(s *memory.Store) *recStore { return &recStore{Store: s} }

// commit records events when ok.
func (s *recStore) commit(events []domain.Event, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.handed += len(events)
	if ok {
		s.events = append(s.events, events...)
	}
}

// take returns the events committed since the last take.
func (s *recStore) take() []domain.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.events
	s.events = nil
	return out
}

func (s *recStore) CreateUser(ctx context.Context, u *domain.User, events []domain.Event) error {
	err := s.Store.CreateUser(ctx, u, events)
	s.commit(events, err == nil)
	return err
}

func (s *recStore) ChangeUser(ctx context.Context, ch domain.UserChange) (*domain.User, []string, error) {
	u, ids, err := s.Store.ChangeUser(ctx, ch)
	s.commit(ch.Events, err == nil)
	return u, ids, err
}

func (s *recStore) DeleteUser(ctx context.Context, d domain.UserDeletion) ([]string, error) {
	ids, err := s.Store.DeleteUser(ctx, d)
	s.commit(d.Events, err == nil)
	return ids, err
}

func (s *recStore) RevokeSessions(ctx context.Context, r domain.SessionRevocation) ([]string, error) {
	ids, err := s.Store.RevokeSessions(ctx, r)
	s.commit(r.Events, err == nil && len(ids) > 0)
	return ids, err
}

func (s *recStore) CreateAPIKey(ctx context.Context, k *domain.APIKey, max int, events []domain.Event) error {
	err := s.Store.CreateAPIKey(ctx, k, max, events)
	s.commit(events, err == nil)
	return err
}

func (s *recStore) RevokeAPIKey(ctx context.Context, r domain.APIKeyRevocation) (bool, error) {
	revoked, err := s.Store.RevokeAPIKey(ctx, r)
	s.commit(r.Events, err == nil && revoked)
	return revoked, err
}

func (s *recStore) CreateClient(ctx context.Context, c *domain.Client, events []domain.Event) error {
	err := s.Store.CreateClient(ctx, c, events)
	s.commit(events, err == nil)
	return err
}

func (s *recStore) DeleteClient(ctx context.Context, id string, events []domain.Event) error {
	err := s.Store.DeleteClient(ctx, id, events)
	s.commit(events, err == nil)
	return err
}

// fakeRecorder is an EventRecorder that keeps what it is given.
type fakeRecorder struct {
	mu        sync.Mutex
	events    []domain.Event
	throttled []domain.Event // with Details.Until set to the until given
}

func (r *fakeRecorder) Record(e domain.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

func (r *fakeRecorder) Throttled(e domain.Event, until time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e.Details.Until = &until
	r.throttled = append(r.throttled, e)
}

// take returns the recorded and the throttled events since the last take.
func (r *fakeRecorder) take() (recorded, throttled []domain.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	recorded, throttled = r.events, r.throttled
	r.events, r.throttled = nil, nil
	return recorded, throttled
}

// fakeEventStore is a domain.EventStore in a slice: AppendEvents keeps the
// batches (and fails with fail while it is set), ListEvents answers from
// what was appended and remembers its last query.
type fakeEventStore struct {
	mu      sync.Mutex
	batches [][]domain.Event
	fail    error
	calls   int
	lastQ   domain.EventQuery
	pruned  []time.Time
}

func (s *fakeEventStore) AppendEvents(ctx context.Context, events []domain.Event) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if s.fail != nil {
		return s.fail
	}
	s.batches = append(s.batches, slices.Clone(events))
	return nil
}

func (s *fakeEventStore) setFail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail = err
}

// all returns every event appended, in order.
func (s *fakeEventStore) all() []domain.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []domain.Event
	for _, b := range s.batches {
		out = append(out, b...)
	}
	return out
}

func (s *fakeEventStore) ListEvents(_ context.Context, q domain.EventQuery) ([]domain.Event, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lastQ = q
	var out []domain.Event
	for _, b := range s.batches {
		for _, e := range b {
			if (q.UserID == "" || e.UserID == q.UserID) && (q.Before == "" || e.ID < q.Before) &&
				(len(q.Types) == 0 || slices.Contains(q.Types, e.Type)) &&
				(q.Since.IsZero() || !e.Time.Before(q.Since)) && (q.Until.IsZero() || e.Time.Before(q.Until)) {
				out = append(out, e)
			}
		}
	}
	slices.SortFunc(out, func(a, b domain.Event) int { return strings.Compare(b.ID, a.ID) })
	return out[:min(len(out), q.Limit)], nil
}

func (s *fakeEventStore) PruneEvents(_ context.Context, before time.Time) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pruned = append(s.pruned, before)
	return 0, s.fail
}

// fakeMFA is the recording memory store with the MFA part the memory store
// lacks: users carry MFAEnabled, ChangeUser applies UserChange.MFA, and the
// domain.MFAStore methods keep factors, recovery codes and mfa_tokens in
// maps. It counts its user reads and MFA calls by method name, so a test
// can prove that a path makes no extra store call.
type fakeMFA struct {
	*recStore

	mu      sync.Mutex
	calls   map[string]int
	enabled map[string]bool
	totps   map[string]domain.TOTP
	codes   map[string][]fakeCode // by user id
	tokens  map[string]*domain.MFAToken
}

// fakeCode is a stored recovery code: its hash and when it was used.
type fakeCode struct {
	hash []byte
	used time.Time
}

func newFakeMFA(s *recStore) *fakeMFA {
	return &fakeMFA{recStore: s, calls: map[string]int{}, enabled: map[string]bool{}, totps: map[string]domain.TOTP{},
		codes: map[string][]fakeCode{}, tokens: map[string]*domain.MFAToken{}}
}

// count counts one call of name. f.mu must be held.
func (f *fakeMFA) count(name string) { f.calls[name]++ }

// callCounts returns a copy of the call counts.
func (f *fakeMFA) callCounts() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return maps.Clone(f.calls)
}

func (f *fakeMFA) withMFA(u *domain.User, err error) (*domain.User, error) {
	if err == nil {
		u.MFAEnabled = f.enabled[u.ID]
	}
	return u, err
}

func (f *fakeMFA) UserByID(ctx context.Context, id string) (*domain.User, error) {
	u, err := f.recStore.UserByID(ctx, id)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.count("UserByID")
	return f.withMFA(u, err)
}

func (f *fakeMFA) UserByUsername(ctx context.Context, name string) (*domain.User, error) {
	u, err := f.recStore.UserByUsername(ctx, name)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.count("UserByUsername")
	return f.withMFA(u, err)
}

func (f *fakeMFA) ChangeUser(ctx context.Context, ch domain.UserChange) (*domain.User, []string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if ch.MFA != nil && ch.MFA.Enable {
		t, ok := f.totps[ch.UserID]
		if !ok || t.Confirmed() {
			return nil, nil, domain.ErrMFANotEnabled
		}
		if !bytes.Equal(t.Secret, ch.MFA.Secret) {
			return nil, nil, domain.ErrConflict
		}
	}
	// The MFA part is this fake's; the wrapped store does the rest.
	rest := ch
	rest.MFA = nil
	u, ids, err := f.recStore.ChangeUser(ctx, rest)
	if err != nil || ch.MFA == nil {
		u, err = f.withMFA(u, err)
		return u, ids, err
	}
	switch {
	case ch.MFA.Enable:
		t := f.totps[ch.UserID]
		t.ConfirmedAt, t.LastStep = ch.At, ch.MFA.Step
		f.totps[ch.UserID] = t
		f.enabled[ch.UserID] = true
	case ch.MFA.Disable:
		delete(f.totps, ch.UserID)
		delete(f.codes, ch.UserID)
		f.enabled[ch.UserID] = false
	}
	if ch.MFA.RecoveryCodes != nil {
		var codes []fakeCode
		for _, h := range ch.MFA.RecoveryCodes {
			codes = append(codes, fakeCode{hash: slices.Clone(h)})
		}
		f.codes[ch.UserID] = codes
	}
	u, err = f.withMFA(u, err)
	return u, ids, err
}

func (f *fakeMFA) PutPendingTOTP(_ context.Context, t *domain.TOTP) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.count("PutPendingTOTP")
	if old, ok := f.totps[t.UserID]; ok && old.Confirmed() {
		return domain.ErrMFAAlreadyEnabled
	}
	c := *t
	c.Secret = slices.Clone(t.Secret)
	f.totps[t.UserID] = c
	return nil
}

func (f *fakeMFA) TOTPOf(_ context.Context, userID string) (*domain.TOTP, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.count("TOTPOf")
	t, ok := f.totps[userID]
	if !ok {
		return nil, domain.ErrNotFound
	}
	t.Secret = slices.Clone(t.Secret)
	return &t, nil
}

func (f *fakeMFA) UseTOTPStep(_ context.Context, userID string, step int64) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.count("UseTOTPStep")
	t, ok := f.totps[userID]
	if !ok {
		return false, domain.ErrNotFound
	}
	if step <= t.LastStep {
		return false, nil
	}
	t.LastStep = step
	f.totps[userID] = t
	return true, nil
}

func (f *fakeMFA) UseRecoveryCode(_ context.Context, userID string, hash []byte, at time.Time, events []domain.Event) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.count("UseRecoveryCode")
	for i, c := range f.codes[userID] {
		if c.used.IsZero() && slices.Equal(c.hash, hash) {
			f.codes[userID][i].used = at
			f.recStore.commit(events, true)
			return true, nil
		}
	}
	return false, nil
}

func (f *fakeMFA) RecoveryCodesLeft(_ context.Context, userID string) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.count("RecoveryCodesLeft")
	n := 0
	for _, c := range f.codes[userID] {
		if c.used.IsZero() {
			n++
		}
	}
	return n, nil
}

func (f *fakeMFA) CreateMFAToken(_ context.Context, t *domain.MFAToken) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.count("CreateMFAToken")
	c := *t
	f.tokens[string(t.Hash)] = &c
	return nil
}

func (f *fakeMFA) MFATokenByHash(_ context.Context, hash []byte) (*domain.MFAToken, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.count("MFATokenByHash")
	t, ok := f.tokens[string(hash)]
	if !ok {
		return nil, domain.ErrNotFound
	}
	c := *t
	return &c, nil
}

func (f *fakeMFA) FailMFAToken(_ context.Context, hash []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.count("FailMFAToken")
	t, ok := f.tokens[string(hash)]
	if !ok {
		return 0, domain.ErrNotFound
	}
	t.Failures++
	return t.Failures, nil
}

func (f *fakeMFA) ConsumeMFAToken(_ context.Context, hash []byte, now time.Time) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.count("ConsumeMFAToken")
	t, ok := f.tokens[string(hash)]
	if !ok || !t.Live(now) {
		return false, nil
	}
	t.UsedAt = now
	return true, nil
}

func (f *fakeMFA) PruneMFATokens(_ context.Context, before time.Time) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.count("PruneMFATokens")
	var n int64
	for k, t := range f.tokens {
		if t.ExpiresAt.Before(before) {
			delete(f.tokens, k)
			n++
		}
	}
	return n, nil
}

// storedCodes returns the user's stored recovery-code hashes.
func (f *fakeMFA) storedCodes(userID string) []fakeCode {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.codes[userID])
}

// storedTOTP returns the user's stored factor.
func (f *fakeMFA) storedTOTP(userID string) (domain.TOTP, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	t, ok := f.totps[userID]
	return t, ok
}

var _ domain.MFAStore = (*fakeMFA)(nil)
