package main

import (
	"github.com/gatehouse-auth/gatehouse/adapter/metrics"
	"github.com/gatehouse-auth/gatehouse/adapter/rest"
	"github.com/gatehouse-auth/gatehouse/usecase"
)

// The metrics collector is what the use cases report their events to, and
// the webhook dispatcher its deliveries.
var (
	_ usecase.Metrics         = (*metrics.Metrics)(nil)
	_ usecase.DeliveryMetrics = (*metrics.Metrics)(nil)
)

// buildMetrics creates the metrics collector when GATEHOUSE_METRICS is on
// and returns what the use cases report their events to: the collector,
// or nil (they report nothing). The gauges read the hasher, the revoked
// set and the verifier, so build calls it once those are built.
func (a *app) buildMetrics() usecase.Metrics {
	if !a.cfg.Metrics {
		return nil
	}
	a.metrics = metrics.New(metrics.Sources{
		HashQueueDepth:     a.hasher.QueueDepth,
		RevokedSessions:    a.revoked.Size,
		LastRevocationSync: a.revoked.LastSync,
		RevocationStale:    a.revoked.Stale,
		VerifyCacheLen:     a.verifier.CacheLen,
	})
	return a.metrics
}

// deliveryMetrics returns what the webhook dispatcher reports to: the
// collector, or nil (it reports nothing) when metrics are off.
func (a *app) deliveryMetrics() usecase.DeliveryMetrics {
	if a.metrics == nil {
		return nil // not a nil *metrics.Metrics in the interface
	}
	return a.metrics
}

// instrument puts the metrics on the HTTP surface: the adapter reports
// every request to them and GET /metrics serves their registry. serve
// calls it before the server starts, as do the tests, so both run the same
// wiring. Without metrics (GATEHOUSE_METRICS=false) it does nothing.
func instrument(a *app, opts *rest.Options) {
	if a.metrics == nil {
		return
	}
	opts.Metrics = a.metrics.Handler()
	opts.Observe = a.metrics.Observe
}
