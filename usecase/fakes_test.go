package usecase

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

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
