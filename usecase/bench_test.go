package usecase_test

import (
	"context"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/adapter/password"
	"github.com/gatehouse-auth/gatehouse/adapter/storage/gormstore"
	"github.com/gatehouse-auth/gatehouse/adapter/token"
	"github.com/gatehouse-auth/gatehouse/infrastructure/database/dbtest"
	"github.com/gatehouse-auth/gatehouse/usecase"
)

// These benchmarks run the grants with the production adapters, wired as
// cmd/gatehouse wires them: SQLite through gormstore on a temp file, EdDSA
// tokens, argon2id with DefaultParams, the store-backed throttle. They are
// the per-operation costs docs/benchmarks.md and docs/sizing.md start from.
// Every iteration runs one operation after the other, so ns/op is the cost
// of one grant on one core plus whatever SQLite does in its own threads.

// benchEnv is the real stack on one SQLite file.
type benchEnv struct {
	ctx     context.Context
	hasher  *password.Hasher
	login   *usecase.Login
	refresh *usecase.Refresh
	clients *usecase.Clients
}

// newBenchEnv builds the stack.
func newBenchEnv(b *testing.B) *benchEnv {
	b.Helper()
	ctx := context.Background()
	st := gormstore.New(dbtest.Migrated(b, dbtest.SQLite(b)))
	now := time.Now
	log := slog.New(slog.DiscardHandler)
	policy := usecase.DefaultTokenPolicy()
	ring, err := token.NewKeyring(st, token.AlgEdDSA, nil, policy.AccessTTL+policy.Leeway, now)
	if err != nil {
		b.Fatal(err)
	}
	if err := ring.Load(ctx); err != nil {
		b.Fatal(err)
	}
	issuer := token.NewIssuer(ring, "http://localhost:8080", "gatehouse")
	hasher := password.New(password.DefaultParams(), 0, 0)
	revoked := usecase.NewRevocationList(st, now, log, usecase.DefaultMaxStaleness)
	throttle := usecase.NewThrottle(st, usecase.DefaultThrottlePolicy(), now)
	e := &benchEnv{
		ctx:     ctx,
		hasher:  hasher,
		login:   usecase.NewLogin(st, st, hasher, issuer, throttle, nil, policy, now, log, nil, nil, nil),
		refresh: usecase.NewRefresh(st, issuer, revoked, policy, now, log, nil, nil),
		clients: usecase.NewClients(st, issuer, policy, now, nil),
	}
	if _, err := usecase.NewRegister(st, hasher, nil, 8, true, now, nil).Create(ctx, "alice", "correct horse battery", nil); err != nil {
		b.Fatal(err)
	}
	return e
}

// perSecond reports the throughput one goroutine reached.
func perSecond(b *testing.B, n int) {
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "ops/s")
}

// BenchmarkArgon2id is the hash bound of a login: one argon2id verification
// with DefaultParams (m=19 MiB, t=2, p=1), through the bounded hasher. It
// also reports the median and 99th percentile of single hashes, the yardstick
// of the login latency target.
func BenchmarkArgon2id(b *testing.B) {
	ctx := context.Background()
	h := password.New(password.DefaultParams(), 0, 0)
	stored, err := h.Hash(ctx, "correct horse battery")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	var took []time.Duration
	for b.Loop() {
		start := time.Now()
		if ok, _, err := h.Verify(ctx, stored, "correct horse battery"); err != nil || !ok {
			b.Fatalf("Verify = %v, %v", ok, err)
		}
		took = append(took, time.Since(start))
	}
	perSecond(b, len(took))
	slices.Sort(took)
	ms := func(q float64) float64 { return float64(took[int(q*float64(len(took)-1))]) / 1e6 }
	b.ReportMetric(ms(0.5), "p50-ms")
	b.ReportMetric(ms(0.99), "p99-ms")
}

// BenchmarkLogin is a whole password grant: throttle check, user lookup,
// argon2id, throttle reset, session insert, EdDSA access token.
func BenchmarkLogin(b *testing.B) {
	e := newBenchEnv(b)
	in := usecase.LoginInput{Username: "alice", Password: "correct horse battery", IP: "192.0.2.1"}
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		if _, err := e.login.Login(e.ctx, in); err != nil {
			b.Fatal(err)
		}
		n++
	}
	perSecond(b, n)
}

// BenchmarkRefresh rotates one session's refresh token over and over: one
// read of the token with its session and user, the conditional rotation,
// sealing the successor, an EdDSA access token.
func BenchmarkRefresh(b *testing.B) {
	e := newBenchEnv(b)
	pair, err := e.login.Login(e.ctx, usecase.LoginInput{Username: "alice", Password: "correct horse battery", IP: "192.0.2.1"})
	if err != nil {
		b.Fatal(err)
	}
	tok := pair.RefreshToken
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		p, err := e.refresh.Refresh(e.ctx, tok)
		if err != nil {
			b.Fatalf("Refresh #%d: %v", n, err)
		}
		tok = p.RefreshToken
		n++
	}
	perSecond(b, n)
}

// BenchmarkClientCredentials is the machine grant: client lookup, SHA-256
// secret check, an EdDSA access token. Nothing is written.
func BenchmarkClientCredentials(b *testing.B) {
	e := newBenchEnv(b)
	c, secret, err := e.clients.Create(e.ctx, "billing", []string{"read"})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		if _, err := e.clients.Grant(e.ctx, c.ID, secret, nil); err != nil {
			b.Fatalf("Grant: %v", err)
		}
		n++
	}
	perSecond(b, n)
}
