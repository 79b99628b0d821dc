package server_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/infrastructure/server"
	"github.com/gatehouse-auth/gatehouse/internal/testkit"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// start runs ServeWith on a fresh 127.0.0.1 port until the test ends (or
// cancel is called) and returns the address and Serve's result channel.
func start(t *testing.T, h http.Handler, to server.Timeouts) (addr string, cancel context.CancelFunc, done <-chan error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		errc <- server.ServeWith(ctx, ln, h, quiet, to)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-finished:
		case <-time.After(10 * time.Second):
			t.Error("Serve did not return within 10 s of cancel")
		}
	})
	return ln.Addr().String(), cancel, errc
}

func okHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") })
}

// trickle opens a connection, sends a request line and then one header
// byte every 50 ms until the server closes the connection or stop is
// closed. It returns the connection so the caller can watch it.
func trickle(t *testing.T, addr string, stop <-chan struct{}) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: gatehouse\r\n"); err != nil {
		t.Fatal(err)
	}
	go func() {
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			if _, err := c.Write([]byte("X")); err != nil {
				return
			}
		}
	}()
	return c
}

// closedWithin reports whether the peer closed c before wait elapsed: a
// read that ends in EOF or a reset, not in our own deadline.
func closedWithin(c net.Conn, wait time.Duration) (bool, error) {
	_ = c.SetReadDeadline(time.Now().Add(wait))
	_, err := io.Copy(io.Discard, c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return false, err
	}
	return true, err
}

func TestSlowlorisConnectionsAreCut(t *testing.T) {
	t.Parallel()
	const conns = 20
	short := server.Timeouts{ReadHeader: 300 * time.Millisecond, Read: time.Minute, Write: time.Minute, Idle: time.Minute}
	long := server.Timeouts{ReadHeader: time.Minute, Read: time.Minute, Write: time.Minute, Idle: time.Minute}
	addr, _, _ := start(t, okHandler(), short)
	controlAddr, _, _ := start(t, okHandler(), long)

	stop := make(chan struct{})
	defer close(stop)
	began := time.Now()
	control := trickle(t, controlAddr, stop)
	attackers := make([]net.Conn, conns)
	for i := range attackers {
		attackers[i] = trickle(t, addr, stop)
	}

	// The server keeps answering real clients while the attack runs.
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Get("http://" + addr + "/")
	if err != nil {
		t.Fatalf("GET during the attack: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET during the attack = %d; want 200", resp.StatusCode)
	}

	var wg sync.WaitGroup
	for i, c := range attackers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// 10 s is over 30 times the header timeout: a connection still
			// open then was never going to be cut.
			if closed, err := closedWithin(c, 10*time.Second); !closed {
				t.Errorf("slow connection %d still open after 10 s (ReadHeader 300 ms): %v", i, err)
			}
			if el := time.Since(began); el < short.ReadHeader {
				t.Errorf("slow connection %d closed after %v, before ReadHeader %v", i, el, short.ReadHeader)
			}
		}()
	}
	wg.Wait()

	// The same trickle against a server with a long header timeout is still
	// open: it was the timeout, not the client, that ended the others.
	if closed, err := closedWithin(control, 100*time.Millisecond); closed {
		t.Fatalf("control connection (ReadHeader 1 min) was closed too (%v); the test proves nothing", err)
	}
}

func TestSlowBodyIsCut(t *testing.T) {
	t.Parallel()
	readErr := make(chan error, 1)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := io.ReadAll(r.Body)
		readErr <- err
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
		}
	})
	addr, _, _ := start(t, h, server.Timeouts{ReadHeader: time.Minute, Read: 400 * time.Millisecond, Write: time.Minute, Idle: time.Minute})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, "POST / HTTP/1.1\r\nHost: gatehouse\r\nContent-Length: 1000\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
			if _, err := c.Write([]byte("x")); err != nil {
				return
			}
		}
	}()
	if closed, err := closedWithin(c, 10*time.Second); !closed {
		t.Fatalf("slow body connection still open after 10 s (Read 400 ms): %v", err)
	}
	select {
	case err := <-readErr:
		if err == nil {
			t.Fatal("handler read the whole 1000-byte body; want a read timeout")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("handler never finished reading")
	}
}

func TestHeaderSizeIsCapped(t *testing.T) {
	t.Parallel()
	addr, _, _ := start(t, okHandler(), server.DefaultTimeouts())
	req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/", nil)
	req.Header.Set("X-Big", strings.Repeat("a", 64<<10))
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("GET with a 64 KiB header: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("GET with a 64 KiB header = %d; want 431", resp.StatusCode)
	}
}

func TestServeDrainsInFlightRequests(t *testing.T) {
	t.Parallel()
	entered := make(chan struct{})
	release := make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		close(entered)
		<-release
		_, _ = io.WriteString(w, "done")
	})
	addr, cancel, done := start(t, h, server.Timeouts{Drain: 10 * time.Second})

	type result struct {
		status int
		body   string
		err    error
	}
	got := make(chan result, 1)
	go func() {
		resp, err := (&http.Client{Timeout: 10 * time.Second}).Get("http://" + addr + "/slow")
		if err != nil {
			got <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		got <- result{resp.StatusCode, string(b), err}
	}()
	<-entered
	cancel()

	// Shutdown stops accepting: new connections are refused while the
	// in-flight request is still running.
	testkit.Eventually(t, "the listener refuses connections after cancel", 5*time.Second, func() bool {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			return true
		}
		c.Close()
		return false
	})
	select {
	case err := <-done:
		t.Fatalf("Serve returned (%v) while a request was in flight", err)
	default:
	}

	close(release)
	r := <-got
	if r.err != nil || r.status != http.StatusOK || r.body != "done" {
		t.Fatalf("in-flight request = %d %q, %v; want 200 \"done\"", r.status, r.body, r.err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve after a clean drain = %v; want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after the drain")
	}
}

func TestServeGivesUpAfterDrainTimeout(t *testing.T) {
	t.Parallel()
	entered := make(chan struct{})
	h := http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		close(entered)
		<-r.Context().Done() // stuck until the connection is cut
	})
	addr, cancel, done := start(t, h, server.Timeouts{Drain: 200 * time.Millisecond})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, "GET /stuck HTTP/1.1\r\nHost: gatehouse\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	<-entered
	cancel()
	select {
	case err := <-done:
		if err == nil || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Serve with a stuck request = %v; want a shutdown deadline error", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve still waiting 10 s after cancel with Drain 200 ms")
	}
	// The stuck connection was cut rather than left behind.
	if closed, err := closedWithin(c, 5*time.Second); !closed {
		t.Fatalf("stuck connection still open after Serve returned: %v", err)
	}
}

func TestServeReportsListenerFailure(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln.Close()
	err = server.Serve(context.Background(), ln, okHandler(), quiet)
	if err == nil || !strings.HasPrefix(err.Error(), "serve:") {
		t.Fatalf("Serve on a closed listener = %v; want a serve: error", err)
	}
}

func TestDefaultTimeoutsAreSet(t *testing.T) {
	t.Parallel()
	d := server.DefaultTimeouts()
	for name, v := range map[string]time.Duration{"ReadHeader": d.ReadHeader, "Read": d.Read, "Write": d.Write, "Idle": d.Idle, "Drain": d.Drain} {
		if v <= 0 {
			t.Errorf("DefaultTimeouts().%s = %v; every default must bound the wait", name, v)
		}
	}
	if d.ReadHeader > d.Read {
		t.Errorf("ReadHeader %v > Read %v", d.ReadHeader, d.Read)
	}
}
