package guard

import (
	"math"

	"github.com/prometheus/client_golang/prometheus"
)

// The metrics a Poller reports as a prometheus.Collector: Gatehouse's own
// revocation gauges (gatehouse_revocation_stale,
// gatehouse_revocation_sync_lag_seconds, gatehouse_revoked_sessions),
// named for the guard so that a dashboard can show both.
const (
	MetricRevocationStale   = "gatehouse_guard_revocation_stale"
	MetricRevocationSyncLag = "gatehouse_guard_revocation_sync_lag_seconds"
	MetricRevokedSessions   = "gatehouse_guard_revoked_sessions"
)

// pollerDescs are the descriptions of a Poller's metrics.
type pollerDescs struct {
	stale, lag, revoked *prometheus.Desc
}

func newPollerDescs() pollerDescs {
	return pollerDescs{
		stale: prometheus.NewDesc(MetricRevocationStale,
			"1 while the guard's revoked set has not been refreshed from Gatehouse's feed for longer than the maximum staleness "+
				"(and Readyz answers 503), else 0; "+MetricRevocationSyncLag+" says by how much.", nil, nil),
		lag: prometheus.NewDesc(MetricRevocationSyncLag,
			"Seconds since the guard last read Gatehouse's revocation feed (+Inf before the first good poll).", nil, nil),
		revoked: prometheus.NewDesc(MetricRevokedSessions,
			"Sessions in the guard's revoked set.", nil, nil),
	}
}

// Describe implements prometheus.Collector, so that a service embedding
// the guard can register its Poller in its own registry
// (registry.Register(poller)) and alert on staleness as on a Gatehouse
// replica's.
func (p *Poller) Describe(ch chan<- *prometheus.Desc) {
	ch <- p.descs.stale
	ch <- p.descs.lag
	ch <- p.descs.revoked
}

// Collect implements prometheus.Collector: the staleness, the time since
// the last good poll and the size of the revoked set, read at the scrape.
func (p *Poller) Collect(ch chan<- prometheus.Metric) {
	stale := 0.0
	if p.set.Stale() {
		stale = 1
	}
	lag := math.Inf(1)
	if last := p.LastSync(); !last.IsZero() {
		lag = p.now().Sub(last).Seconds()
	}
	ch <- gauge(p.descs.stale, stale)
	ch <- gauge(p.descs.lag, lag)
	ch <- gauge(p.descs.revoked, float64(p.Size()))
}

// gauge is one reading of the gauge d.
func gauge(d *prometheus.Desc, v float64) prometheus.Metric {
	m, err := prometheus.NewConstMetric(d, prometheus.GaugeValue, v)
	if err != nil {
		return prometheus.NewInvalidMetric(d, err)
	}
	return m
}
