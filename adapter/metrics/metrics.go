// Package metrics exposes Gatehouse's Prometheus metrics on a registry of
// its own (never the global default one, so tests and several instances in
// one process do not collide). It is fed from two places: the HTTP adapter's
// per-request hook (Observe) and the use cases' reports (LoginResult,
// TokenIssued, RefreshReuse, VerifyFailed, EventsWritten, EventsDropped,
// WebhookDelivery, OutboxStats); the gauges read live values through the
// functions in Sources at scrape time, except the outbox gauges, which hold
// what the webhook dispatcher last reported.
//
// No label ever carries a token, secret, username or client id: labels are
// route patterns, status codes and the fixed words listed below.
package metrics

import (
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/gatehouse-auth/gatehouse/domain"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// namespace prefixes every Gatehouse metric.
const namespace = "gatehouse"

// unmatchedRoute labels requests that matched no route, so scanners probing
// random paths cannot create new series.
const unmatchedRoute = "unmatched"

// latencyBuckets cover a cached token check (tens of µs) up to a queued
// argon2id login (seconds).
func latencyBuckets() []float64 {
	return []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}
}

// Sources are the live values the gauges read at scrape time. A nil
// function leaves its gauge out.
type Sources struct {
	// HashQueueDepth is the number of password hashes running or waiting
	// (password.Hasher.QueueDepth).
	HashQueueDepth func() int
	// RevokedSessions is the size of the in-memory revoked-session set
	// (usecase.RevocationList.Size).
	RevokedSessions func() int
	// LastRevocationSync is when the revoked set was last refreshed from
	// the store (usecase.RevocationList.LastSync).
	LastRevocationSync func() time.Time
	// RevocationStale reports whether the revoked set has gone without a
	// successful refresh for longer than the maximum staleness, so that
	// /readyz answers 503 (usecase.RevocationList.Stale).
	RevocationStale func() bool
	// VerifyCacheLen is the number of verified tokens cached
	// (token.Verifier.CacheLen).
	VerifyCacheLen func() int
	// Now is the clock for the sync lag; nil means time.Now.
	Now func() time.Time
}

// Metrics holds the collectors. Its methods are safe for concurrent use and
// cheap enough for the request path.
type Metrics struct {
	reg            *prometheus.Registry
	requests       *prometheus.CounterVec
	latency        *prometheus.HistogramVec
	serverErrors   *prometheus.CounterVec
	throttled      prometheus.Counter
	logins         *prometheus.CounterVec
	issued         *prometheus.CounterVec
	refreshReuse   prometheus.Counter
	verifyFailures *prometheus.CounterVec
	authEvents     *prometheus.CounterVec
	eventsDropped  prometheus.Counter
	deliveries     *prometheus.CounterVec
	outboxPending  prometheus.Gauge
	outboxOldest   prometheus.Gauge
	now            func() time.Time
	perRoute       sync.Map // routeStatus -> *requestSeries
}

// routeStatus is one label pair of the per-request series.
type routeStatus struct {
	route  string
	status int
}

// requestSeries are the children of the per-request vectors for one
// routeStatus, looked up once: WithLabelValues hashes and validates its
// labels on every call, which the hot token check would pay per request.
type requestSeries struct {
	count   prometheus.Counter
	latency prometheus.Observer
}

// New builds the collectors on a fresh registry, with the Go runtime and
// process collectors (memory, CPU, open files) alongside.
func New(src Sources) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: counterVec("http_requests_total",
			"HTTP requests answered, by route pattern and status code.", "route", "status"),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Name: "http_request_duration_seconds",
			Help:    "Time to answer an HTTP request, by route pattern and status code.",
			Buckets: latencyBuckets(),
		}, []string{"route", "status"}),
		serverErrors: counterVec("server_errors_total",
			"Requests answered 5xx, by route and status: 503 is a store or other dependency outage (unavailable) "+
				"or a full password-hash queue (overloaded, also in logins_total); 500 is any other failure, "+
				"including store errors not recognised as an outage and recovered panics.", "route", "status"),
		throttled: counter("throttled_requests_total",
			"Requests refused with 429 by the brute-force throttle."),
		logins: counterVec("logins_total",
			"Password logins (POST /get_token and grant_type=password), by outcome.", "outcome"),
		issued: counterVec("tokens_issued_total",
			"Access tokens issued, by grant type; the tutorial's POST /get_token is a password grant.", "grant"),
		refreshReuse: counter("refresh_token_reuse_total",
			"Refresh tokens presented again after rotation; each one revoked its session."),
		verifyFailures: counterVec("token_verify_failures_total",
			"Access tokens refused, by reason (missing, expired, revoked, invalid).", "reason"),
		authEvents: counterVec("auth_events_total",
			"Auth events written to the store, by type.", "type"),
		eventsDropped: counter("auth_events_dropped_total",
			"Auth events never written: the login event buffer was full or the store kept failing."),
		deliveries: counterVec("webhook_deliveries_total",
			"Webhook delivery attempts, by outcome (delivered, retry, failed, lost_claim).", "outcome"),
		outboxPending: gauge("webhook_outbox_pending",
			"Webhook deliveries pending in the outbox, as of the dispatcher's last claim round."),
		outboxOldest: gauge("webhook_outbox_oldest_pending_seconds",
			"Age of the event of the oldest pending webhook delivery, as of the dispatcher's last claim round; 0 when none is pending."),
		now: src.Now,
	}
	if m.now == nil {
		m.now = time.Now
	}
	m.reg.MustRegister(m.requests, m.latency, m.serverErrors, m.throttled, m.logins, m.issued, m.refreshReuse, m.verifyFailures,
		m.authEvents, m.eventsDropped, m.deliveries, m.outboxPending, m.outboxOldest,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	// Pre-create the label values the use cases report, so rate() works
	// from the first scrape; any other value is still recorded.
	for _, v := range []string{"success", "invalid_credentials", "throttled", "overloaded", "unavailable", "invalid_scope", "error"} {
		m.logins.WithLabelValues(v)
	}
	for _, v := range []string{"password", "refresh_token", "client_credentials"} {
		m.issued.WithLabelValues(v)
	}
	for _, v := range []string{"missing", "expired", "revoked", "invalid"} {
		m.verifyFailures.WithLabelValues(v)
	}
	for _, t := range domain.EventTypes {
		m.authEvents.WithLabelValues(string(t))
	}
	for _, v := range []string{"delivered", "retry", "failed", "lost_claim"} {
		m.deliveries.WithLabelValues(v)
	}
	m.registerGauges(src)
	return m
}

// registerGauges adds a GaugeFunc for every source that is set.
func (m *Metrics) registerGauges(src Sources) {
	gauge := func(name, help string, f func() float64) {
		m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: namespace, Name: name, Help: help}, f))
	}
	if f := src.HashQueueDepth; f != nil {
		gauge("password_hash_queue_depth", "Password hashes running or waiting for a slot.",
			func() float64 { return float64(f()) })
	}
	if f := src.RevokedSessions; f != nil {
		gauge("revoked_sessions", "Sessions in the in-memory revoked set.",
			func() float64 { return float64(f()) })
	}
	if f := src.LastRevocationSync; f != nil {
		now := src.Now
		if now == nil {
			now = time.Now
		}
		gauge("revocation_sync_lag_seconds", "Seconds since the revoked set was last refreshed from the store (+Inf before the first sync).",
			func() float64 {
				last := f()
				if last.IsZero() {
					return math.Inf(1)
				}
				return now().Sub(last).Seconds()
			})
	}
	if f := src.RevocationStale; f != nil {
		gauge("revocation_stale", "1 while the revoked set has not been refreshed for longer than the maximum staleness "+
			"(GATEHOUSE_REVOCATION_MAX_STALENESS) and /readyz answers 503, else 0; revocation_sync_lag_seconds says by how much.",
			func() float64 {
				if f() {
					return 1
				}
				return 0
			})
	}
	if f := src.VerifyCacheLen; f != nil {
		gauge("token_cache_entries", "Verified access tokens held in the cache.",
			func() float64 { return float64(f()) })
	}
}

// Handler serves the registry in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Registry returns the registry, for callers that add collectors of their
// own.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Observe records one answered HTTP request; it has the signature of the
// HTTP adapter's Options.Observe hook. route is the pattern ("/admin/users/:id"),
// never the raw path.
func (m *Metrics) Observe(route string, status int, elapsed time.Duration) {
	if route == "" {
		route = unmatchedRoute
	}
	series := m.series(route, status)
	series.count.Inc()
	series.latency.Observe(elapsed.Seconds())
	switch {
	case status >= 500:
		m.serverErrors.WithLabelValues(route, statusLabel(status)).Inc()
	case status == http.StatusTooManyRequests:
		m.throttled.Inc()
	}
}

// series returns the cached children for route and status. Both come from
// a bounded set (route patterns, status codes the handlers send), so the
// cache is bounded too.
func (m *Metrics) series(route string, status int) *requestSeries {
	key := routeStatus{route, status}
	if s, ok := m.perRoute.Load(key); ok {
		return s.(*requestSeries)
	}
	code := statusLabel(status)
	s, _ := m.perRoute.LoadOrStore(key, &requestSeries{
		count:   m.requests.WithLabelValues(route, code),
		latency: m.latency.WithLabelValues(route, code),
	})
	return s.(*requestSeries)
}

// LoginResult counts one password login by outcome.
func (m *Metrics) LoginResult(outcome string) { m.logins.WithLabelValues(outcome).Inc() }

// TokenIssued counts one access token issued under grant.
func (m *Metrics) TokenIssued(grant string) { m.issued.WithLabelValues(grant).Inc() }

// RefreshReuse counts one detected refresh token reuse.
func (m *Metrics) RefreshReuse() { m.refreshReuse.Inc() }

// VerifyFailed counts one refused access token by reason.
func (m *Metrics) VerifyFailed(reason string) { m.verifyFailures.WithLabelValues(reason).Inc() }

// EventsWritten counts n auth events of type t written to the store. Only
// the catalogue's types are labels: anything else counts as "other", so a
// caller's mistake cannot create series.
func (m *Metrics) EventsWritten(t domain.EventType, n int) {
	if n <= 0 {
		return
	}
	label := string(t)
	if _, err := domain.ParseEventType(label); err != nil {
		label = "other"
	}
	m.authEvents.WithLabelValues(label).Add(float64(n))
}

// EventsDropped counts n auth events that were never written.
func (m *Metrics) EventsDropped(n int) {
	if n > 0 {
		m.eventsDropped.Add(float64(n))
	}
}

// WebhookDelivery counts one webhook delivery attempt by outcome.
func (m *Metrics) WebhookDelivery(outcome string) { m.deliveries.WithLabelValues(outcome).Inc() }

// OutboxStats sets the outbox gauges: the pending deliveries and the age of
// the oldest one's event (0 when none is pending).
func (m *Metrics) OutboxStats(stats domain.OutboxStats) {
	m.outboxPending.Set(float64(stats.Pending))
	age := 0.0
	if stats.Pending > 0 && !stats.OldestPending.IsZero() {
		age = max(m.now().Sub(stats.OldestPending).Seconds(), 0)
	}
	m.outboxOldest.Set(age)
}

// statusLabel renders common codes without allocating.
func statusLabel(status int) string {
	switch status {
	case 200:
		return "200"
	case 201:
		return "201"
	case 204:
		return "204"
	case 400:
		return "400"
	case 401:
		return "401"
	case 404:
		return "404"
	case 429:
		return "429"
	case 500:
		return "500"
	case 503:
		return "503"
	}
	return strconv.Itoa(status)
}

// counter, counterVec and gauge declare a metric of the gatehouse namespace.
func counter(name, help string) prometheus.Counter {
	return prometheus.NewCounter(prometheus.CounterOpts{Namespace: namespace, Name: name, Help: help})
}

func counterVec(name, help string, labels ...string) *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: name, Help: help}, labels)
}

func gauge(name, help string) prometheus.Gauge {
	return prometheus.NewGauge(prometheus.GaugeOpts{Namespace: namespace, Name: name, Help: help})
}
