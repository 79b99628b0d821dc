package logging

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer is a goroutine-safe sink.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func TestBufferedFlushesOnTickAndClose(t *testing.T) {
	t.Parallel()
	sink := &lockedBuffer{}
	b := NewBuffered(sink, 20*time.Millisecond)
	log := New(b, "info", "json")
	log.Info("first")
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(sink.String(), "first") {
		if time.Now().After(deadline) {
			t.Fatal("a buffered line never reached the sink")
		}
		time.Sleep(5 * time.Millisecond)
	}
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
