// Command resourceserver is an example Echo service that accepts Gatehouse
// access tokens with the guard from adapter/guard: it verifies tokens
// against Gatehouse's JWKS (no call to Gatehouse per request) and refuses
// revoked sessions by polling Gatehouse's revocation feed.
//
//	GATEHOUSE_CLIENT_ID=… GATEHOUSE_CLIENT_SECRET=… \
//	  go run ./examples/resourceserver --gatehouse http://localhost:8080 --addr :9090
//
// GET /hello accepts any valid token; GET /reports needs scope reports:read.
// GET /readyz answers 503 while the revoked set is stale (no good poll of
// the feed for --revocation-max-staleness), so a load balancer drains the
// service instead of letting it accept tokens Gatehouse has revoked.
// GET /metrics serves the poller's gauges in the Prometheus format
// (gatehouse_guard_revocation_stale and its lag), to alert on.
// --help prints the flags.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/gatehouse-auth/gatehouse/adapter/guard"
	"github.com/gatehouse-auth/gatehouse/adapter/token"
	"github.com/gatehouse-auth/gatehouse/infrastructure/server"
)

// config is everything the service needs.
type config struct {
	Gatehouse    string        // Gatehouse's base URL, where the JWKS and the feed are
	Addr         string        // listen address
	Issuer       string        // expected iss (Gatehouse's GATEHOUSE_ISSUER)
	Audience     string        // expected aud (Gatehouse's GATEHOUSE_AUDIENCE)
	Algs         []string      // accepted signing algorithms
	ClientID     string        // machine client allowed to read the revocation feed
	ClientSecret string        // its secret: from the environment only
	Poll         time.Duration // revocation feed poll interval
	MaxStale     time.Duration // not ready after this long without a good poll
	MinRefresh   time.Duration // shortest interval between unknown-kid JWKS fetches
	Leeway       time.Duration // clock skew tolerated
	HTTPClient   *http.Client  // for JWKS and feed requests (nil: defaults)
	Now          func() time.Time
}

// parseConfig reads flags, with the client credentials from the
// environment (a secret on the command line shows in ps). --help is
// flag.ErrHelp.
func parseConfig(args []string, getenv func(string) string) (config, error) {
	cfg := config{}
	var algs string
	fs := flags(&cfg, &algs, getenv)
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	cfg.Gatehouse = strings.TrimRight(cfg.Gatehouse, "/")
	if cfg.Issuer == "" {
		cfg.Issuer = cfg.Gatehouse
	}
	cfg.Algs = strings.Split(algs, ",")
	cfg.ClientSecret = getenv("GATEHOUSE_CLIENT_SECRET")
	if cfg.ClientID == "" || cfg.ClientSecret == "" {
		return config{}, errors.New("GATEHOUSE_CLIENT_ID and GATEHOUSE_CLIENT_SECRET must name a Gatehouse client (gatehouse client add NAME)")
	}
	return cfg, nil
}

// flags declares the command line into cfg and algs (comma-separated);
// the flag set reports errors and --help to no output (see usage).
func flags(cfg *config, algs *string, getenv func(string) string) *flag.FlagSet {
	fs := flag.NewFlagSet("resourceserver", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&cfg.Gatehouse, "gatehouse", "http://localhost:8080", "Gatehouse base URL")
	fs.StringVar(&cfg.Addr, "addr", ":9090", "listen address")
	fs.StringVar(&cfg.Issuer, "issuer", "", "expected token issuer (default: --gatehouse)")
	fs.StringVar(&cfg.Audience, "audience", "gatehouse", "expected token audience")
	fs.StringVar(algs, "algs", token.AlgEdDSA, "comma-separated accepted algorithms (EdDSA, ES256, RS256)")
	fs.StringVar(&cfg.ClientID, "client-id", getenv("GATEHOUSE_CLIENT_ID"), "client id for the revocation feed (env GATEHOUSE_CLIENT_ID)")
	fs.DurationVar(&cfg.Poll, "poll", guard.DefaultPoll, "revocation feed poll interval")
	fs.DurationVar(&cfg.MaxStale, "revocation-max-staleness", guard.DefaultMaxStaleness, "not ready (GET /readyz 503) after this long without a good poll")
	fs.DurationVar(&cfg.MinRefresh, "jwks-min-refresh", token.DefaultMinRefresh, "shortest interval between JWKS fetches for unknown kids")
	fs.DurationVar(&cfg.Leeway, "leeway", 30*time.Second, "clock skew tolerated")
	return fs
}

// usage writes the command line and its flags to w.
func usage(w io.Writer, getenv func(string) string) {
	fs := flags(&config{}, new(string), getenv)
	fs.SetOutput(w)
	fmt.Fprintln(w, "Usage: resourceserver [flags]")
	fmt.Fprintln(w, "The revocation feed's client secret comes from GATEHOUSE_CLIENT_SECRET only.")
	fs.PrintDefaults()
}

// service is the built resource server.
type service struct {
	echo   *echo.Echo
	keys   *token.RemoteKeySet
	poller *guard.Poller
	log    *slog.Logger
}

// newServer wires the key set, verifier, revocation poller and guard into
// an Echo app. Nothing runs until start.
func newServer(cfg config, log *slog.Logger) (*service, error) {
	keys, err := token.NewRemoteKeySet(cfg.Gatehouse+"/.well-known/jwks.json", cfg.HTTPClient, cfg.MinRefresh, cfg.Now)
	if err != nil {
		return nil, fmt.Errorf("--gatehouse: %w", err)
	}
	verifier, err := token.NewRemoteVerifier(keys, cfg.Algs, cfg.Issuer, cfg.Audience, cfg.Leeway, cfg.Now, 10000)
	if err != nil {
		return nil, err
	}
	poller, err := guard.NewPoller(cfg.Gatehouse+"/oauth/revocations",
		cfg.ClientID, cfg.ClientSecret, cfg.HTTPClient, cfg.Poll, cfg.MaxStale, cfg.Now, log)
	if err != nil {
		return nil, err
	}
	e := echo.New() // Echo's default error handler: the guard writes its own answers
	e.HideBanner, e.HidePort = true, true
	auth := guard.New(guard.Config{Verifier: verifier, Revocations: poller, Log: log})
	e.GET("/hello", hello, auth)
	e.GET("/reports", reports, auth, guard.RequireScope("reports:read"))
	e.GET("/readyz", poller.Readyz)
	metrics := prometheus.NewRegistry()
	if err := metrics.Register(poller); err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	e.GET("/metrics", echo.WrapHandler(promhttp.HandlerFor(metrics, promhttp.HandlerOpts{})))
	return &service{echo: e, keys: keys, poller: poller, log: log}, nil
}

// start loads the keys and the revocations once, then keeps polling the
// feed until ctx ends; wait blocks until the poller has stopped. A
// Gatehouse that is down at start is logged, not fatal: the key set
// retries on the first token and the poller on its next tick.
func (s *service) start(ctx context.Context) (wait func()) {
	if err := s.keys.Refresh(ctx); err != nil {
		s.log.WarnContext(ctx, "cannot load Gatehouse's keys yet", "err", err)
	}
	var wg sync.WaitGroup
	wg.Go(func() { s.poller.Run(ctx) })
	return wg.Wait
}

// hello greets the token's user (or machine client).
func hello(c echo.Context) error {
	cl := guard.Claims(c)
	name := cl.Username
	if name == "" {
		name = cl.ClientID
	}
	return c.JSON(http.StatusOK, map[string]string{"message": "Hello, " + name, "sub": cl.Subject})
}

// reports is the scope-protected resource.
func reports(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]any{
		"reports": []map[string]string{{"id": "q1", "title": "Q1 revenue"}, {"id": "q2", "title": "Q2 revenue"}},
	})
}

// run serves until ctx ends or SIGINT/SIGTERM; --help writes the usage
// to stdout and returns nil. Logs go to stderr.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := parseConfig(args, getenv)
	if errors.Is(err, flag.ErrHelp) {
		usage(stdout, getenv)
		return nil
	}
	if err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(stderr, nil))
	svc, err := newServer(cfg, log)
	if err != nil {
		return err
	}
	ln, err := server.Listen(cfg.Addr)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	wait := svc.start(ctx)
	err = server.Serve(ctx, ln, svc.echo, log)
	stop()
	wait()
	return err
}

func main() {
	if err := run(context.Background(), os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "resourceserver:", err)
		os.Exit(1)
	}
}
