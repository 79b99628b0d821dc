package http

import (
	"strings"
	"sync"
	"testing"
)

func TestRequestIDsAreUniqueAcrossGoroutinesAndProcesses(t *testing.T) {
	t.Parallel()
	g := newRequestIDs()
	const workers, each = 8, 500
	ids := make(chan string, workers*each)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range each {
				ids <- g.next()
			}
		})
	}
	wg.Wait()
	close(ids)
	seen := make(map[string]bool, workers*each)
	for id := range ids {
		if seen[id] {
			t.Fatalf("request id %q handed out twice", id)
		}
		seen[id] = true
	}
	if len(seen) != workers*each {
		t.Fatalf("got %d ids, want %d", len(seen), workers*each)
	}

	// A second generator stands for another process or replica: its ids
	// must not collide with the first one's.
	other := newRequestIDs().next()
	if seen[other] || strings.SplitN(other, "-", 2)[0] == strings.SplitN(g.next(), "-", 2)[0] {
		t.Errorf("two generators share a prefix: %q", other)
	}
}
