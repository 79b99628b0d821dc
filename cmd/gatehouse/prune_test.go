package main

import (
	"context"
	"crypto/sha256"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/domain"
	"github.com/gatehouse-auth/gatehouse/internal/testkit"
)

// TestServerPrunesEndedSessions runs the server's maintenance loop on a
// short interval: a session whose refresh lifetime ended goes, with its
// refresh token, and a live one keeps working.
func TestServerPrunesEndedSessions(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, nil)
	alice := e.signUp("alice", "correct horse battery")
	live := e.login("alice", "correct horse battery")

	// A session that ended an hour ago, as if its 30 days had run out.
	now := time.Now().UTC().Truncate(time.Microsecond)
	u, err := e.app.store.UserByID(context.Background(), alice["id"].(string))
	if err != nil {
		t.Fatal(err)
	}
	ended := &domain.Session{
		ID:        "ended-session",
		UserID:    u.ID,
		UserStamp: u.Stamp,
		CreatedAt: now.Add(-e.app.cfg.RefreshTTL - time.Hour),
		ExpiresAt: now.Add(-time.Hour),
		RotatedAt: now.Add(-e.app.cfg.RefreshTTL - time.Hour),
	}
	refresh := "ended-session-refresh-token"
	hash := sha256.Sum256([]byte(refresh))
	ctx := context.Background()
	if err := e.app.store.CreateSession(ctx, ended, domain.RefreshToken{Hash: hash[:], CreatedAt: ended.CreatedAt}); err != nil {
		t.Fatalf("CreateSession(ended) = %v", err)
	}

	loopCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); e.app.maintain(loopCtx, 10*time.Millisecond) }()
	testkit.Eventually(t, "ended session pruned", 10*time.Second, func() bool {
		_, err := e.app.store.SessionByID(ctx, ended.ID)
		return errors.Is(err, domain.ErrNotFound)
	})
	stop()
	<-done

	if _, err := e.app.store.RefreshTokenByHash(ctx, hash[:]); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("RefreshTokenByHash(pruned session's token) = %v; want ErrNotFound", err)
	}
	if r := e.form("/oauth/token", "grant_type=refresh_token&refresh_token="+url.QueryEscape(refresh), nil); r.status != 400 || r.json(t)["error"] != "invalid_grant" {
		t.Errorf("refresh with the pruned session's token = %d %s; want 400 invalid_grant", r.status, r.body)
	}
	if r := e.form("/oauth/token", "grant_type=refresh_token&refresh_token="+url.QueryEscape(live["refresh_token"].(string)), nil); r.status != 200 {
		t.Errorf("refresh of the live session after prune = %d %s; want 200", r.status, r.body)
	}
	if logs := e.log.String(); !strings.Contains(logs, `"msg":"expired sessions pruned","count":1`) {
		t.Errorf("logs lack the prune line with count 1:\n%s", logs)
	}
}

// TestPruneFailureIsLogged: a store that cannot prune is logged, not fatal.
func TestPruneFailureIsLogged(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, nil)
	if err := e.app.close(); err != nil {
		t.Fatalf("close store: %v", err)
	}
	e.app.prune(context.Background())
	if logs := e.log.String(); !strings.Contains(logs, `"msg":"session prune failed"`) {
		t.Errorf("logs lack the prune failure:\n%s", logs)
	}
}
