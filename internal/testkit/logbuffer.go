package testkit

import (
	"bytes"
	"encoding/json"
	"sync"
	"testing"
)

// LogBuffer is an io.Writer that many goroutines may write to at once (a
// server's handlers and background loops logging through one slog.Handler)
// while the test reads what has been written so far. The zero value is ready
// to use.
type LogBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p.
func (b *LogBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *LogBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// JSONLines decodes everything written so far as one JSON object per line,
// the shape slog.NewJSONHandler writes, and fails tb on a line that is not
// one.
func (b *LogBuffer) JSONLines(tb testing.TB) []map[string]any {
	tb.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	for line := range bytes.Lines(b.buf.Bytes()) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal(line, &m); err != nil {
			tb.Fatalf("log line %q: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}
