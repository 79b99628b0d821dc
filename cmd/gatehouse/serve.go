package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse-auth/gatehouse/adapter/rest"
	"github.com/gatehouse-auth/gatehouse/api"
	"github.com/gatehouse-auth/gatehouse/infrastructure/config"
	"github.com/gatehouse-auth/gatehouse/infrastructure/database"
	"github.com/gatehouse-auth/gatehouse/infrastructure/logging"
	"github.com/gatehouse-auth/gatehouse/infrastructure/server"
	"github.com/gatehouse-auth/gatehouse/infrastructure/tracing"
	"github.com/gatehouse-auth/gatehouse/usecase"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/trace"
)

// serve runs the service until ctx ends (SIGINT/SIGTERM), then drains.
func serve(ctx context.Context, e env, cfg config.Config) error {
	startCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	logOut := logging.NewBuffered(e.stderr, 200*time.Millisecond)
	defer logOut.Close()
	// Tracing (off unless an OTLP endpoint is set) comes first, so the store
	// and the webhook sender are built traced.
	tp, stopTracing, err := tracing.Setup(startCtx, e.getenv, version)
	if err != nil {
		cancel()
		return err
	}
	traceLog := logging.New(logOut, cfg.LogLevel, cfg.LogFormat)
	var traced trace.TracerProvider // nil when off: no tracing code runs
	if tracing.Enabled(e.getenv) {
		traced = tp
		// Export failures go to our log, as JSON like every other line,
		// not to the SDK's plain-text default.
		otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
			traceLog.Warn("trace export failed", "err", err)
		}))
	}
	defer flushTraces(stopTracing, traceLog)
	a, err := build(startCtx, cfg, logOut, buildOptions{tp: traced})
	cancel()
	if err != nil {
		return err
	}
	defer a.close()
	if err := a.revoked.Sync(ctx); err != nil {
		return fmt.Errorf("initial revocation sync: %w", err)
	}
	ln, err := server.Listen(cfg.Addr)
	if err != nil {
		return err
	}
	a.log.Info("starting gatehouse", "version", version, "db", database.Redact(cfg.DB), "signing_alg", cfg.SigningAlg, "issuer", cfg.Issuer, "tracing", traced != nil)
	if issuerMissesLoopback(cfg.Issuer, ln.Addr()) {
		a.log.Warn("GATEHOUSE_ISSUER names a loopback port this server does not listen on; the metadata and JWKS URLs built from it will not reach it: set it to the host and port clients use",
			"issuer", cfg.Issuer, "addr", ln.Addr().String())
	}

	bg, stopBG := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	jobs := usecase.NewScheduler(slices.Concat(a.revoked.Jobs(cfg.RevocationSync), a.jobs(cfg.RevocationSync), a.apiKeys.Jobs(),
		a.events.Jobs(), a.dispatch.Jobs(webhookPoll))...)
	wg.Go(func() { jobs.Run(bg) })
	// Stopped after the HTTP server has drained, the event log writes the
	// login events of the last requests before serve returns.
	wg.Go(func() { a.eventLog.Run(bg) })
	if cfg.PprofAddr != "" {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := servePprof(bg, cfg.PprofAddr, a.log); err != nil {
				a.log.Error("profiler stopped", "err", err)
			}
		}()
	}

	deps := a.httpDeps()
	opts := rest.Options{
		Issuer:          cfg.Issuer,
		Scopes:          cfg.UserScopes,
		TrustedProxies:  cfg.TrustedProxies,
		OpenAPI:         api.Spec(),
		AccessLog:       cfg.AccessLog,
		AdminRequireMFA: cfg.AdminRequireMFA,
		Tracing:         traced,
	}
	instrument(a, &opts)
	h := rest.New(deps, opts, a.log)
	err = server.Serve(ctx, ln, h, a.log)
	stopBG()
	wg.Wait()
	a.log.Info("stopped")
	return err
}

// traceFlushTimeout bounds the export of the last spans at shutdown.
const traceFlushTimeout = 5 * time.Second

// flushTraces exports the spans still buffered, after the HTTP server has
// drained, giving up after traceFlushTimeout (a collector that is down
// must not hold the shutdown).
func flushTraces(stop func(context.Context) error, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), traceFlushTimeout)
	defer cancel()
	if err := stop(ctx); err != nil {
		log.Warn("traces not all exported at shutdown", "err", err)
	}
}

// webhookPoll is how often each replica looks for due webhook deliveries.
const webhookPoll = time.Second

// issuerMissesLoopback reports whether issuer names a loopback host
// (localhost, 127.0.0.0/8, ::1) on a port other than the one served: the
// usual slip when --addr moves off :8080 and the default issuer stays.
// Other hosts may sit behind a proxy on any port, so they are not judged.
func issuerMissesLoopback(issuer string, served net.Addr) bool {
	u, err := url.Parse(issuer)
	tcp, ok := served.(*net.TCPAddr)
	if err != nil || !ok || u.Host == "" {
		return false
	}
	host := u.Hostname()
	ip := net.ParseIP(host)
	if !strings.EqualFold(host, "localhost") && (ip == nil || !ip.IsLoopback()) {
		return false
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[strings.ToLower(u.Scheme)]
	}
	return port != strconv.Itoa(tcp.Port)
}

// jobs are the app's own periodic work, for the server's Scheduler (with
// the revoked set's): picking up key rotations made by other replicas every
// interval, and about once a minute pruning what the store no longer needs.
func (a *app) jobs(every time.Duration) []usecase.Job {
	var keyTrouble string // the key problem already logged, if any
	return []usecase.Job{
		{Name: "signing key reload", Every: every, Run: func(ctx context.Context) { keyTrouble = a.reloadKeys(ctx, keyTrouble) }},
		{Name: "prune", Every: time.Minute, Run: a.prune},
	}
}

// reloadKeys picks up the keys rotated elsewhere (another replica, the
// CLI) and logs the change. When the store is in a state this server must
// not follow (most often: another replica or "keys rotate --alg" activated
// a key of another algorithm), the ring keeps signing and verifying with
// the keys it knows: following would mean signing with an algorithm this
// server was not configured for, and flipping back would make replicas
// rotate each other. The trouble is logged as an error once, not every
// interval (last is the one already logged; the new one is returned), and
// so is its end. A restart then refuses to start until the configuration
// or the store is put right.
func (a *app) reloadKeys(ctx context.Context, last string) string {
	before := a.ring.ActiveKid()
	err := a.ring.Reload(ctx)
	if ctx.Err() != nil {
		return last
	}
	if err != nil {
		msg := a.keyProblem(err).Error()
		if msg != last {
			level := slog.LevelWarn // the store could not be read: retried next interval
			if keyRefusal(err) {
				level = slog.LevelError // only an operator can put it right
			}
			a.log.Log(ctx, level, "signing keys not reloaded; keeping the known keys", "err", msg, "kid", before)
		}
		return msg
	}
	if last != "" {
		a.log.Info("signing keys reloaded again", "kid", a.ring.ActiveKid())
	}
	if after := a.ring.ActiveKid(); after != before {
		a.log.Info("signing key rotated elsewhere", "kid", after, "alg", a.ring.Algorithm(), "previous_kid", before, "by", "another process")
	}
	return ""
}

// prune deletes idle login throttling counters and the sessions that ended
// more than the leeway ago, with their refresh tokens. A failure is logged
// and retried next round; it never stops the server. It also deletes the
// API keys expired or revoked longer ago than the event retention.
func (a *app) prune(ctx context.Context) {
	if err := a.throttle.Prune(ctx); err != nil && ctx.Err() == nil {
		a.log.Warn("login attempt prune failed", "err", err)
	}
	n, err := a.revoke.PruneExpired(ctx)
	switch {
	case err != nil && ctx.Err() == nil:
		a.log.Warn("session prune failed", "pruned", n, "err", err)
	case err == nil && n > 0:
		a.log.Info("expired sessions pruned", "count", n)
	}
	if _, err := a.mfa.PruneTokens(ctx); err != nil && ctx.Err() == nil {
		a.log.Warn("mfa token prune failed", "err", err)
	}
	n, err = a.apiKeys.Prune(ctx)
	switch {
	case err != nil && ctx.Err() == nil:
		a.log.Warn("api key prune failed", "pruned", n, "err", err)
	case err == nil && n > 0:
		a.log.Info("old api keys pruned", "count", n)
	}
}

// migrate applies pending migrations and exits.
func migrate(ctx context.Context, e env, cfg config.Config) error {
	if cfg.DB == "memory:" {
		return fmt.Errorf("--db: the memory store has nothing to migrate")
	}
	db, err := database.Open(ctx, cfg.DB, database.Options{})
	if err != nil {
		return fmt.Errorf("--db: %w", err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		return err
	}
	defer sqlDB.Close()
	n, err := database.Migrate(ctx, db)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	log := logging.New(e.stderr, cfg.LogLevel, cfg.LogFormat)
	log.Info("migrations applied", "count", n)
	fmt.Fprintf(e.stdout, "applied %d migration(s)\n", n)
	return nil
}
