package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Limits that make every run end by itself.
const (
	// maxDuration caps the measured phase, whatever --duration or
	// --requests say.
	maxDuration = 10 * time.Minute
	// setupTimeout caps the preparation (user, logins, minted tokens).
	setupTimeout = 2 * time.Minute
	maxWorkers   = 10000
	maxDistinct  = 1_000_000
)

// Scenario names.
const (
	scVerify            = "verify"
	scLogin             = "login"
	scRefresh           = "refresh"
	scClientCredentials = "client-credentials"
	scMixed             = "mixed"
)

// config is one load run.
type config struct {
	Target       string        // base URL of the server
	Scenario     string        // one of the sc* names
	Workers      int           // concurrent connections
	Duration     time.Duration // measured phase; 0 with Requests > 0 means until Requests are done
	Requests     int           // stop after this many requests (0: duration only)
	Username     string        // existing user; empty creates one through POST /users
	Password     string
	ClientID     string // machine client for client-credentials and mixed
	ClientSecret string
	Token        string // verify: use this access token, skip every setup step
	Distinct     int    // verify: mint this many distinct tokens (client credentials) and cycle through them
	AllowRemote  bool
	Timeout      time.Duration // per request
	WatchPID     int           // Linux: report this process's CPU and memory over the measured phase
	Client       string        // verify: "raw" (lean HTTP/1.1, plain http only) or "std" (net/http)
}

// report is what a run measured. Latencies are of successful requests.
type report struct {
	Scenario string
	Target   string
	Workers  int
	Elapsed  time.Duration
	OK       uint64
	Rejected uint64            // 429 and 503: the server asked to back off
	Errors   uint64            // anything else: wrong status, transport failure
	Kinds    map[string]uint64 // errors by kind ("status 401", "transport")
	Ops      map[string]uint64 // successful requests by operation (mixed)
	Latency  histogram
	Self     *procReport // the load tool's own CPU use (Linux; nil elsewhere)
	Server   *procReport // the --watch-pid process (nil without it)
}

// Rate returns successful requests per second.
func (r *report) Rate() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.OK) / r.Elapsed.Seconds()
}

// validate fills defaults and refuses a run that could not end well.
func (c *config) validate() error {
	switch c.Scenario {
	case scVerify, scLogin, scRefresh, scClientCredentials, scMixed:
	default:
		return fmt.Errorf("--scenario: %q is not verify, login, refresh, client-credentials or mixed", c.Scenario)
	}
	if c.Workers < 1 || c.Workers > maxWorkers {
		return fmt.Errorf("--workers: %d is not between 1 and %d", c.Workers, maxWorkers)
	}
	if c.Requests < 0 || c.Duration < 0 {
		return errors.New("--requests and --duration must not be negative")
	}
	if c.Duration > maxDuration {
		return fmt.Errorf("--duration: %s is over the %s cap", c.Duration, maxDuration)
	}
	if c.Duration == 0 && c.Requests == 0 {
		return errors.New("give --duration or --requests")
	}
	if c.Distinct < 0 || c.Distinct > maxDistinct {
		return fmt.Errorf("--distinct: %d is not between 0 and %d", c.Distinct, maxDistinct)
	}
	needClient := c.Scenario == scClientCredentials || c.Scenario == scMixed || (c.Scenario == scVerify && c.Distinct > 0)
	if needClient && (c.ClientID == "" || c.ClientSecret == "") {
		return fmt.Errorf("scenario %s needs --client-id and --client-secret (gatehouse client add NAME)", c.Scenario)
	}
	if (c.Username == "") != (c.Password == "") {
		return errors.New("give both --username and --password, or neither")
	}
	switch c.Client {
	case "":
		c.Client = "raw"
	case "raw", "std":
	default:
		return fmt.Errorf("--client: %q is not raw or std", c.Client)
	}
	if c.Timeout <= 0 {
		c.Timeout = 10 * time.Second
	}
	return nil
}

// loader holds what the workers share.
type loader struct {
	cfg    config
	base   string
	client *http.Client
	// newRaw returns a lean client connection for the verify requests;
	// nil means they go through client.
	newRaw   func() *rawConn
	basePath string

	username, password string
	token              string   // verify and mixed: one valid access token
	tokens             []string // verify --distinct
	next               atomic.Uint64

	issued   atomic.Int64  // requests started, for --requests
	done     atomic.Uint64 // finished requests, for the progress line
	failures atomic.Uint64
}

// run prepares the scenario, drives the server until the duration or the
// request count is reached (or ctx ends), and returns what it measured.
// When progress is not nil a live status line is written to it.
func run(ctx context.Context, cfg config, progress io.Writer) (*report, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	base, err := checkTarget(cfg.Target, cfg.AllowRemote)
	if err != nil {
		return nil, err
	}
	tr := &http.Transport{
		DialContext:         dialer(cfg.AllowRemote),
		MaxIdleConnsPerHost: cfg.Workers,
		IdleConnTimeout:     30 * time.Second,
		DisableCompression:  true,
	}
	defer tr.CloseIdleConnections()
	l := &loader{cfg: cfg, base: base.String(), basePath: base.Path, client: &http.Client{Transport: tr, Timeout: cfg.Timeout}}
	if cfg.Client == "raw" && base.Scheme == "http" {
		addr := base.Host
		if base.Port() == "" {
			addr = net.JoinHostPort(base.Hostname(), "80")
		}
		dial := dialer(cfg.AllowRemote)
		l.newRaw = func() *rawConn { return newRawConn(base.Host, addr, dial, cfg.Timeout) }
	}

	if cfg.WatchPID > 0 {
		if _, err := readProc(strconv.Itoa(cfg.WatchPID)); err != nil {
			return nil, fmt.Errorf("--watch-pid: %w", err)
		}
	}
	setupCtx, cancelSetup := context.WithTimeout(ctx, setupTimeout)
	workers, err := l.setup(setupCtx)
	cancelSetup()
	if err != nil {
		return nil, fmt.Errorf("setup: %w", err)
	}

	limit := cfg.Duration
	if limit == 0 {
		limit = maxDuration
	}
	// The load tool's own CPU use, best effort: /proc exists on Linux only.
	self, selfErr := watch("self")
	var server *procWatch
	if cfg.WatchPID > 0 {
		if server, err = watch(strconv.Itoa(cfg.WatchPID)); err != nil {
			return nil, err
		}
	}
	start := time.Now()
	runCtx, cancel := context.WithDeadline(ctx, start.Add(limit))
	defer cancel()
	stopProgress := l.showProgress(progress, start)
	var wg sync.WaitGroup
	for _, w := range workers {
		wg.Go(func() { w.loop(runCtx) })
	}
	wg.Wait()
	elapsed := time.Since(start)
	stopProgress()
	for _, w := range workers {
		if w.raw != nil {
			w.raw.close()
		}
	}

	rep := &report{Scenario: cfg.Scenario, Target: l.base, Workers: cfg.Workers, Elapsed: elapsed,
		Kinds: map[string]uint64{}, Ops: map[string]uint64{}}
	if selfErr == nil {
		if r, err := self.finish(elapsed); err == nil {
			rep.Self = r
		}
	}
	if server != nil {
		if rep.Server, err = server.finish(elapsed); err != nil {
			return nil, err
		}
	}
	for _, w := range workers {
		rep.OK += w.ok
		rep.Rejected += w.rejected
		rep.Errors += w.failed
		for k, n := range w.kinds {
			rep.Kinds[k] += n
		}
		for k, n := range w.ops {
			rep.Ops[k] += n
		}
		rep.Latency.merge(&w.hist)
	}
	return rep, nil
}

// showProgress prints a status line twice a second until the returned
// function is called.
func (l *loader) showProgress(w io.Writer, start time.Time) func() {
	if w == nil {
		return func() {}
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(500 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				fmt.Fprint(w, "\r\033[K")
				return
			case <-t.C:
				secs := time.Since(start).Seconds()
				n := l.done.Load()
				fmt.Fprintf(w, "\r\033[K%6.1fs %10d requests %8.0f/s %6d errors", secs, n, float64(n)/secs, l.failures.Load())
			}
		}
	})
	return func() { close(stop); wg.Wait() }
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// backoff reports whether status asks the client to come back later.
func backoff(status int) bool {
	return status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable
}
