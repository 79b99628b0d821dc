package logging

import (
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/testkit"
)

func TestBufferedFlushesOnTickAndClose(t *testing.T) {
	t.Parallel()
	sink := &testkit.LogBuffer{}
	b := NewBuffered(sink, 20*time.Millisecond)
	log := New(b, "info", "json")
	log.Info("first")
	testkit.Eventually(t, "a buffered line reaches the sink", 5*time.Second, func() bool { return strings.Contains(sink.String(), "first") })
	slow := NewBuffered(sink, time.Hour)
	New(slow, "info", "json").Info("second")
	if strings.Contains(sink.String(), "second") {
		t.Fatal("the line was written before any flush; want it batched")
	}
	if err := slow.Close(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(sink.String(), "second") {
		t.Error("Close did not flush the buffered line")
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
}
