package testkit_test

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/testkit"
)

func TestLogBufferConcurrentWrites(t *testing.T) {
	t.Parallel()
	var buf testkit.LogBuffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() { log.Info("line", "i", i) })
	}
	wg.Wait()
	lines := buf.JSONLines(t)
	if len(lines) != 20 {
		t.Fatalf("JSONLines() = %d lines; want 20\n%s", len(lines), buf.String())
	}
	if lines[0]["msg"] != "line" {
		t.Errorf("JSONLines()[0][msg] = %v; want line", lines[0]["msg"])
	}
}

func TestClock(t *testing.T) {
	t.Parallel()
	start := time.Date(2030, time.January, 2, 3, 4, 5, 0, time.UTC)
	c := testkit.NewClock(start)
	if got := c.Now(); !got.Equal(start) {
		t.Fatalf("Now() = %v; want %v", got, start)
	}
	c.Advance(time.Minute)
	if got := c.Now(); !got.Equal(start.Add(time.Minute)) {
		t.Errorf("Now() after Advance(1m) = %v; want %v", got, start.Add(time.Minute))
	}
	c.Set(start)
	if got := c.Now(); !got.Equal(start) {
		t.Errorf("Now() after Set = %v; want %v", got, start)
	}
}

// recorder is a testing.TB that records Fatalf instead of stopping.
type recorder struct {
	testing.TB
	failed string
}

func (r *recorder) Helper() {}
func (r *recorder) Fatalf(format string, args ...any) {
	r.failed = fmt.Sprintf(format, args...)
}

func TestWantErr(t *testing.T) {
	t.Parallel()
	sentinel := errors.New("sentinel")
	tests := []struct {
		name     string
		err      error
		want     error
		wantFail string
	}{
		{"success", nil, nil, ""},
		{"wrapped match", fmt.Errorf("load: %w", sentinel), sentinel, ""},
		{"unexpected error", sentinel, nil, "Call() = sentinel; want nil"},
		{"missing error", nil, sentinel, "Call() = <nil>; want sentinel"},
		{"other error", errors.New("other"), sentinel, "Call() = other; want sentinel"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := &recorder{TB: t}
			testkit.WantErr(r, "Call()", tt.err, tt.want)
			if r.failed != tt.wantFail {
				t.Errorf("WantErr(%v, %v) failed with %q; want %q", tt.err, tt.want, r.failed, tt.wantFail)
			}
		})
	}
}

func TestEventually(t *testing.T) {
	t.Parallel()
	n := 0
	testkit.Eventually(t, "the third poll", time.Second, func() bool { n++; return n == 3 })
	if n != 3 {
		t.Errorf("cond called %d times; want 3", n)
	}
	r := &recorder{TB: t}
	testkit.Eventually(r, "never", 10*time.Millisecond, func() bool { return r.failed != "" })
	if r.failed != "timed out after 10ms waiting until never" {
		t.Errorf("Eventually(never) failed with %q", r.failed)
	}
}

func TestAwait(t *testing.T) {
	t.Parallel()
	n := 0
	testkit.Await(t, time.Second, func() error {
		if n++; n < 3 {
			return fmt.Errorf("poll %d", n)
		}
		return nil
	})
	if n != 3 {
		t.Errorf("check called %d times; want 3", n)
	}
	r := &recorder{TB: t}
	n = 0
	testkit.Await(r, 10*time.Millisecond, func() error {
		if r.failed != "" {
			return nil // the recorder does not stop the loop
		}
		n++
		return fmt.Errorf("status 503 (poll %d)", n)
	})
	if want := fmt.Sprintf("timed out after 10ms: status 503 (poll %d)", n); r.failed != want {
		t.Errorf("Await(never) failed with %q; want the last error, %q", r.failed, want)
	}
}

// TestHOTP checks the independent HOTP against RFC 4226 appendix D.
func TestHOTP(t *testing.T) {
	t.Parallel()
	key := []byte("12345678901234567890")
	want := []string{"755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489"}
	for counter, w := range want {
		if got := testkit.HOTP(key, uint64(counter), 6); got != w {
			t.Errorf("HOTP(counter %d) = %s; want %s", counter, got, w)
		}
	}
	// The same key in base32, lower case and padded, as TOTPStep takes it.
	if got := testkit.TOTPStep(t, "gezdgnbvgy3tqojqgezdgnbvgy3tqojq", 1); got != want[1] {
		t.Errorf("TOTPStep(step 1) = %s; want %s", got, want[1])
	}
}
