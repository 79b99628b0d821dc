package metrics_test

import (
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gatehouse-auth/gatehouse/adapter/metrics"
)

func TestRevocationStaleGauge(t *testing.T) {
	t.Parallel()
	var stale atomic.Bool
	m := metrics.New(metrics.Sources{RevocationStale: stale.Load})
	for _, want := range []float64{0, 1, 0} {
		stale.Store(want == 1)
		if got, ok := value(scrape(t, m), "gatehouse_revocation_stale"); !ok || got != want {
			t.Errorf("gatehouse_revocation_stale with Stale() = %v: %v (present %v); want %v", stale.Load(), got, ok, want)
		}
	}
	if body := scrape(t, metrics.New(metrics.Sources{})); strings.Contains(body, "gatehouse_revocation_stale") {
		t.Error("scrape has gatehouse_revocation_stale without a source")
	}
}
