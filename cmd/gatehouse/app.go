package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"time"

	"github.com/gatehouse-auth/gatehouse/adapter/metrics"
	"github.com/gatehouse-auth/gatehouse/adapter/mfa"
	"github.com/gatehouse-auth/gatehouse/adapter/password"
	"github.com/gatehouse-auth/gatehouse/adapter/rest"
	"github.com/gatehouse-auth/gatehouse/adapter/spans"
	"github.com/gatehouse-auth/gatehouse/adapter/storage/gormstore"
	"github.com/gatehouse-auth/gatehouse/adapter/storage/memory"
	"github.com/gatehouse-auth/gatehouse/adapter/token"
	"github.com/gatehouse-auth/gatehouse/adapter/webhook"
	"github.com/gatehouse-auth/gatehouse/domain"
	"github.com/gatehouse-auth/gatehouse/infrastructure/config"
	"github.com/gatehouse-auth/gatehouse/infrastructure/database"
	"github.com/gatehouse-auth/gatehouse/infrastructure/logging"
	"github.com/gatehouse-auth/gatehouse/usecase"
	"go.opentelemetry.io/otel/trace"
)

// verifyCacheSize bounds the verified-token cache (entries).
const verifyCacheSize = 65536

// store is everything Gatehouse persists; memory.Store and gormstore.Store
// both provide it.
type store interface {
	domain.Store
	Ping(ctx context.Context) error
}

// app is the built system.
type app struct {
	cfg      config.Config
	log      *slog.Logger
	store    store
	close    func() error
	ring     *token.Keyring
	hasher   *password.Hasher
	verifier *token.Verifier
	revoked  *usecase.RevocationList
	throttle *usecase.Throttle
	register *usecase.Register
	login    *usecase.Login
	refresh  *usecase.Refresh
	verify   *usecase.Verify
	revoke   *usecase.Revoke
	clients  *usecase.Clients
	users    *usecase.Users
	account  *usecase.Account
	keys     *usecase.Keys
	intro    *usecase.Introspect
	apiKeys  *usecase.APIKeys
	devices  *usecase.Devices
	// eventLog writes login events in batches; events reads them.
	eventLog *usecase.EventLog
	events   *usecase.Events
	webhooks *usecase.Webhooks
	dispatch *usecase.Dispatcher
	mfa      *usecase.MFA
	// metrics collects the use cases' events and the HTTP requests; nil
	// when GATEHOUSE_METRICS is off.
	metrics *metrics.Metrics
}

// openStore opens the store named by cfg.DB and applies migrations. With
// tp (not nil) the SQL store's calls are spans.
func openStore(ctx context.Context, cfg config.Config, tp trace.TracerProvider) (store, func() error, error) {
	if cfg.DB == "memory:" {
		return memory.New(), func() error { return nil }, nil
	}
	db, err := database.Open(ctx, cfg.DB, database.Options{MaxOpenConns: cfg.DBMaxOpenConns})
	if err != nil {
		return nil, nil, fmt.Errorf("--db: %w", err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, nil, fmt.Errorf("--db: %w", err)
	}
	if _, err := database.Migrate(ctx, db); err != nil {
		sqlDB.Close()
		return nil, nil, fmt.Errorf("--db: migrate: %w", err)
	}
	var opts []gormstore.Option
	if tp != nil {
		opts = append(opts, gormstore.WithTracerProvider(tp))
	}
	return gormstore.New(db, opts...), sqlDB.Close, nil
}

// buildOptions is what build takes beyond the configuration.
type buildOptions struct {
	// hash is the argon2id parameters; zero is password.DefaultParams
	// (tests pass cheap ones).
	hash password.Params
	// tp traces the store, the webhook deliveries and the use cases; nil
	// traces nothing, and no tracing code runs.
	tp trace.TracerProvider
	// noKeys leaves the signing keys unloaded: CLI commands never sign,
	// work on a database that may have no key yet, and must not create
	// one (only "keys rotate" does, through the use case).
	noKeys bool
}

// build wires adapters into use cases and, unless o.noKeys, loads the
// signing keys (startKeys).
func build(ctx context.Context, cfg config.Config, logOut io.Writer, o buildOptions) (*app, error) {
	a, err := wire(ctx, cfg, logOut, o)
	if err != nil || o.noKeys {
		return a, err
	}
	if err := a.startKeys(ctx); err != nil {
		a.close()
		return nil, err
	}
	return a, nil
}

// wire opens the store and builds the adapters and the use cases on it.
func wire(ctx context.Context, cfg config.Config, logOut io.Writer, o buildOptions) (*app, error) {
	if o.hash == (password.Params{}) {
		o.hash = password.DefaultParams()
	}
	log := logging.New(logOut, cfg.LogLevel, cfg.LogFormat)
	st, closeStore, err := openStore(ctx, cfg, o.tp)
	if err != nil {
		return nil, err
	}
	a := &app{cfg: cfg, log: log, store: st, close: closeStore}
	now := time.Now
	policy := usecase.TokenPolicy{
		AccessTTL:     cfg.AccessTTL,
		RefreshTTL:    cfg.RefreshTTL,
		ReuseInterval: cfg.RefreshReuseInterval,
		Leeway:        cfg.Leeway,
		UserScopes:    cfg.UserScopes,
	}
	var keys domain.KeyStore = st
	if len(cfg.KeyEncryptionKey) > 0 {
		if keys, err = token.NewSealedKeyStore(st, cfg.KeyEncryptionKey); err != nil {
			closeStore()
			return nil, fmt.Errorf("GATEHOUSE_KEY_ENCRYPTION_KEY: %w", err)
		}
	}
	a.ring, err = token.NewKeyring(keys, cfg.SigningAlg, cfg.JWTSecret, cfg.AccessTTL+cfg.Leeway, now)
	if err != nil {
		closeStore()
		return nil, fmt.Errorf("--signing-alg: %w", err)
	}
	concurrency := cfg.HashConcurrency
	if concurrency == 0 {
		concurrency = runtime.NumCPU()
	}
	queue := cfg.HashQueue
	if queue == 0 {
		queue = 32 * concurrency
	}
	a.hasher = password.New(o.hash, concurrency, queue)
	issuer := token.NewIssuer(a.ring, cfg.Issuer, cfg.Audience)
	a.verifier = token.NewVerifier(a.ring, cfg.Issuer, cfg.Audience, cfg.Leeway, now, verifyCacheSize)

	a.revoked = usecase.NewRevocationList(st, now, log, cfg.RevocationMaxStale)
	events := a.buildMetrics()
	var tracer usecase.Tracer // nil: the use cases trace nothing
	if o.tp != nil {
		tracer = spans.New(o.tp)
	}
	a.apiKeys = usecase.NewAPIKeys(st, st, a.revoked, issuer, usecase.APIKeyPolicy{
		Prefix:    cfg.APIKeyPrefix,
		MaxTTL:    cfg.APIKeyMaxTTL,
		CacheTTL:  cfg.RevocationSync,
		CacheSize: verifyCacheSize,
		Retention: cfg.EventRetention,
	}, policy, now, events, tracer)
	a.verify = usecase.NewVerify(a.verifier, a.revoked, a.apiKeys, events)
	a.revoke = usecase.NewRevoke(st, a.verify, a.revoked, policy, now, events)
	throttle := usecase.DefaultThrottlePolicy()
	throttle.PairFailures = cfg.LoginPairFailures
	throttle.UserFailures = cfg.LoginUserFailures
	throttle.IPFailures = cfg.LoginIPFailures
	throttle.IPWindow = cfg.LoginIPWindow
	throttle.MaxDelay = cfg.LoginMaxDelay
	throttle.SignupLimit = cfg.SignupIPLimit
	throttle.SignupWindow = cfg.SignupIPWindow
	a.throttle = usecase.NewThrottle(st, throttle, now)
	a.eventLog = usecase.NewEventLog(st, now, log, events)
	a.register = usecase.NewRegister(st, a.hasher, a.throttle, cfg.PasswordMinLength, cfg.Signup, now, events)
	box, err := token.NewSecretBox(cfg.KeyEncryptionKey)
	if err != nil {
		closeStore()
		return nil, fmt.Errorf("GATEHOUSE_KEY_ENCRYPTION_KEY: %w", err)
	}
	a.refresh = usecase.NewRefresh(st, issuer, a.revoked, policy, now, log, events, tracer)
	a.clients = usecase.NewClients(st, issuer, policy, now, events)
	a.users = usecase.NewUsers(st, a.hasher, a.revoke, cfg.PasswordMinLength, now)
	a.mfa = usecase.NewMFA(st, st, box, mfa.NewTOTP(), a.revoke, "", now, events, a.eventLog)
	a.login = usecase.NewLogin(st, st, a.hasher, issuer, a.throttle, a.mfa, policy, now, log, events, a.eventLog, tracer)
	a.account = usecase.NewAccount(st, a.hasher, a.revoke, a.throttle, cfg.PasswordMinLength, now, log, events, a.eventLog)
	a.keys = usecase.NewKeys(a.ring, cfg.SigningAlg, now, log, events)
	a.intro = usecase.NewIntrospect(a.verify, a.account, a.clients, st, now)
	a.devices = usecase.NewDevices(st, st, a.revoke, now)
	a.events = usecase.NewEvents(st, cfg.EventRetention, now, log)
	sender := webhook.NewSender(cfg.WebhookAllowPrivate, o.tp)
	a.webhooks = usecase.NewWebhooks(st, sender, box, now)
	a.dispatch = usecase.NewDispatcher(st, sender, box, now, log, a.deliveryMetrics(), tracer)
	return a, nil
}

// startKeys loads a server's signing keys. Only here, on a store that holds
// no key at all (a first start), is a key created without "keys rotate": the
// first key of GATEHOUSE_SIGNING_ALG, logged. Otherwise the store's active
// key decides, and the server refuses to start when it has another
// algorithm or is refused (keyProblem).
func (a *app) startKeys(ctx context.Context) error {
	kid, err := a.ring.Init(ctx)
	if err != nil {
		return a.keyProblem(err)
	}
	if kid != "" {
		a.log.Info("signing key created", "kid", kid, "alg", a.ring.Algorithm(), "by", "first start")
	}
	return nil
}

// keyProblem turns the key ring's refusals into one line naming the
// setting and the command that fixes it.
func (a *app) keyProblem(err error) error {
	alg := a.cfg.SigningAlg
	var mismatch *token.MismatchError
	var unsealed *token.UnsealedKeyError
	switch {
	case errors.As(err, &mismatch):
		return fmt.Errorf("--signing-alg: the active signing key is %s but GATEHOUSE_SIGNING_ALG is %s; run \"gatehouse keys rotate --alg %s\" to switch, or set GATEHOUSE_SIGNING_ALG=%s",
			mismatch.Active, alg, alg, mismatch.Active)
	case errors.As(err, &unsealed):
		return fmt.Errorf("GATEHOUSE_KEY_ENCRYPTION_KEY: the active signing key %s is stored unencrypted and is refused (with a key encryption key every key must be sealed); run \"gatehouse keys rotate --alg %s\" with the key encryption key set to replace it",
			unsealed.Kid, alg)
	case errors.Is(err, token.ErrNoActiveKey), errors.Is(err, token.ErrNoKey):
		return fmt.Errorf("signing keys: %w; run \"gatehouse keys rotate --alg %s\"", err, alg)
	}
	return fmt.Errorf("load signing keys: %w", err)
}

// keyRefusal reports whether err is the key ring refusing the store's keys,
// which only an operator can put right, rather than failing to read them.
func keyRefusal(err error) bool {
	var mismatch *token.MismatchError
	var unsealed *token.UnsealedKeyError
	return errors.As(err, &mismatch) || errors.As(err, &unsealed) ||
		errors.Is(err, token.ErrNoActiveKey) || errors.Is(err, token.ErrNoKey)
}

// httpDeps hands the use cases to the HTTP adapter.
func (a *app) httpDeps() rest.Deps {
	return rest.Deps{
		Verify:     a.verify,
		Register:   a.register,
		Login:      a.login,
		Refresh:    a.refresh,
		Clients:    a.clients,
		Revoke:     a.revoke,
		Introspect: a.intro,
		Account:    a.account,
		Users:      a.users,
		Keys:       a.keys,
		APIKeys:    a.apiKeys,
		Devices:    a.devices,
		Events:     a.events,
		MFA:        a.mfa,
		Webhooks:   a.webhooks,
		Feed:       a.revoked,
		Revoked:    a.revoked,
		JWKS:       a.ring,
		Store:      a.store,
	}
}
