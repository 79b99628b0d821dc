package main

import (
	"context"

	"github.com/gatehouse-auth/gatehouse/adapter/rest"
	"github.com/gatehouse-auth/gatehouse/infrastructure/metrics"
	"github.com/gatehouse-auth/gatehouse/usecase"
)

// The metrics collector is what the use cases report their events to.
var _ usecase.Events = (*metrics.Metrics)(nil)

// instrument turns metrics on: the use cases report their events to a new
// metrics.Metrics, the HTTP adapter reports every request to it, and
// GET /metrics serves its registry. serve calls it before the server
// starts, as do the tests, so both run the same wiring.
func instrument(a *app, deps *rest.Deps, opts *rest.Options) *metrics.Metrics {
	m := metrics.New(metrics.Sources{
		HashQueueDepth:     a.hasher.QueueDepth,
		RevokedSessions:    a.revoked.Size,
		LastRevocationSync: a.revoked.LastSync,
		RevocationStale:    a.revoked.Stale,
		VerifyCacheLen:     a.verifier.CacheLen,
	})
	a.login.Observe(m)
	a.refresh.Observe(m)
	a.verify.Observe(m)
	deps.Clients = observedClients{Clients: a.clients, events: m}
	opts.Metrics = m.Handler()
	opts.Observe = m.Observe
	return m
}

// observedClients reports the tokens of the client_credentials grant.
// usecase.Clients has no Observe method, so the composition root decorates
// its Grant here; every other method is usecase.Clients' own.
type observedClients struct {
	*usecase.Clients
	events usecase.Events
}

// Grant runs usecase.Clients.Grant and reports a token it issued.
func (c observedClients) Grant(ctx context.Context, id, secret string, scope []string) (*usecase.TokenPair, error) {
	pair, err := c.Clients.Grant(ctx, id, secret, scope)
	if err == nil {
		c.events.TokenIssued(usecase.GrantClientCredentials)
	}
	return pair, err
}
