package logging

import (
	"bufio"
	"io"
	"sync"
	"time"
)

// Buffered batches log output: lines are written to the underlying writer
// when 64 KiB have gathered or every interval, whichever comes first, and
// on Close. One write(2) per request was a measurable share of a cached
// token check; the price is that a crash loses at most one interval of
// log lines.
type Buffered struct {
	mu   sync.Mutex
	buf  *bufio.Writer
	stop chan struct{}
	done chan struct{}
}

// NewBuffered starts flushing to w every interval.
func NewBuffered(w io.Writer, interval time.Duration) *Buffered {
	b := &Buffered{buf: bufio.NewWriterSize(w, 64<<10), stop: make(chan struct{}), done: make(chan struct{})}
	go b.flushEvery(interval)
	return b
}

// Write buffers p.
func (b *Buffered) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// Flush writes out what is buffered.
func (b *Buffered) Flush() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Flush()
}

// Close stops the flusher and writes out what is buffered.
func (b *Buffered) Close() error {
	close(b.stop)
	<-b.done
	return b.Flush()
}

func (b *Buffered) flushEvery(interval time.Duration) {
	defer close(b.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-b.stop:
			return
		case <-t.C:
			b.Flush() // a failing log sink has nowhere to report to
		}
	}
}
