package usecase

import (
	"errors"
	"sync"
	"testing"

	"github.com/gatehouse-auth/gatehouse/domain"
	"github.com/gatehouse-auth/gatehouse/internal/testkit"
)

// refreshAll presents token from n goroutines at once and returns the
// successful pairs and the errors.
func (e *env) refreshAll(token string, n int) ([]*TokenPair, []error) {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		pairs []*TokenPair
		errs  []error
		start = make(chan struct{})
	)
	for range n {
		wg.Go(func() {
			<-start
			p, err := e.refresh.Refresh(e.ctx, token)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			pairs = append(pairs, p)
		})
	}
	close(start)
	wg.Wait()
	return pairs, errs
}

func TestRefreshConcurrentWithinInterval(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.addUser("alice", "alice's password")
	p0 := e.signIn("alice", "alice's password")

	pairs, errs := e.refreshAll(p0.RefreshToken, 50)
	if len(errs) != 0 || len(pairs) != 50 {
		t.Fatalf("50 concurrent Refresh within the interval: %d ok, errors %v; want 50 ok", len(pairs), errs)
	}
	for _, p := range pairs {
		if p.RefreshToken != pairs[0].RefreshToken {
			t.Fatalf("concurrent Refresh returned successors %s and %s; want one", short(p.RefreshToken), short(pairs[0].RefreshToken))
		}
	}
	if pairs[0].RefreshToken == p0.RefreshToken {
		t.Fatalf("concurrent Refresh returned the presented token; want its successor")
	}
	if sess, _ := e.store.SessionByID(e.ctx, p0.SessionID); sess.Generation != 1 || sess.Revoked() {
		t.Errorf("session after concurrent refresh: gen %d, revoked %v; want gen 1, live", sess.Generation, sess.Revoked())
	}
	e.mustRefresh(pairs[0].RefreshToken)
}

func TestRefreshConcurrentOutsideInterval(t *testing.T) {
	t.Parallel()
	// With no reuse interval every request is "outside" it: the rotation is
	// a conditional update, so exactly one of them wins. The losers present
	// a token that is no longer current, which is reuse.
	e := newEnv(t, withReuseInterval(0))
	e.addUser("alice", "alice's password")
	p0 := e.signIn("alice", "alice's password")

	pairs, errs := e.refreshAll(p0.RefreshToken, 50)
	if len(pairs) != 1 {
		t.Fatalf("50 concurrent Refresh with ReuseInterval 0: %d succeeded; want exactly 1", len(pairs))
	}
	for _, err := range errs {
		if !errors.Is(err, domain.ErrInvalidGrant) {
			t.Fatalf("losing concurrent Refresh = %v; want %v", err, domain.ErrInvalidGrant)
		}
	}
	e.wantRevoked(p0.SessionID, []string{pairs[0].RefreshToken}, nil)
}

func TestRefreshPreviousWithZeroInterval(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withReuseInterval(0))
	e.addUser("alice", "alice's password")
	p0 := e.signIn("alice", "alice's password")
	p1 := e.mustRefresh(p0.RefreshToken)
	// Same instant, but there is no grace at all.
	got, err := e.refresh.Refresh(e.ctx, p0.RefreshToken)
	if err == nil {
		t.Fatalf("Refresh(previous) with ReuseInterval 0 = %s; want %v", short(got.RefreshToken), domain.ErrInvalidGrant)
	}
	testkit.WantErr(t, "Refresh(previous) with ReuseInterval 0", err, domain.ErrInvalidGrant)
	e.wantRevoked(p0.SessionID, []string{p1.RefreshToken}, nil)
}
