// Package server owns the http.Server lifecycle: timeouts, start, and
// graceful shutdown when the context ends.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// maxHeaderBytes caps the request line and headers (Go's default is 1 MiB).
const maxHeaderBytes = 16 << 10

// DrainTimeout is how long Shutdown waits for in-flight requests by default.
const DrainTimeout = 20 * time.Second

// Timeouts bound slow clients (slowloris), stuck handlers and the drain on
// shutdown. A zero field means "no limit" for the http.Server fields, as in
// net/http, and DrainTimeout for Drain.
type Timeouts struct {
	ReadHeader time.Duration // request line and headers
	Read       time.Duration // whole request, body included
	Write      time.Duration // from the end of the headers to the end of the response
	Idle       time.Duration // keep-alive wait for the next request
	Drain      time.Duration // Shutdown's wait for in-flight requests
}

// DefaultTimeouts returns the production values: a client has 5 s to send
// its headers and 15 s for the whole request, a response must be written
// within 30 s, idle connections close after 120 s and shutdown waits 20 s.
func DefaultTimeouts() Timeouts {
	return Timeouts{
		ReadHeader: 5 * time.Second,
		Read:       15 * time.Second,
		Write:      30 * time.Second,
		Idle:       120 * time.Second,
		Drain:      DrainTimeout,
	}
}

// Listen opens the TCP listener, so a bad address fails before anything
// else starts.
func Listen(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--addr: listen on %s: %w", addr, err)
	}
	return ln, nil
}

// Serve runs h on ln with DefaultTimeouts until ctx ends, then stops
// accepting connections and waits up to DrainTimeout for in-flight
// requests to finish.
func Serve(ctx context.Context, ln net.Listener, h http.Handler, log *slog.Logger) error {
	return ServeWith(ctx, ln, h, log, DefaultTimeouts())
}

// ServeWith is Serve with explicit timeouts (tests use short ones).
func ServeWith(ctx context.Context, ln net.Listener, h http.Handler, log *slog.Logger, t Timeouts) error {
	drain := t.Drain
	if drain <= 0 {
		drain = DrainTimeout
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: t.ReadHeader,
		ReadTimeout:       t.Read,
		WriteTimeout:      t.Write,
		IdleTimeout:       t.Idle,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("listening", "addr", ln.Addr().String())
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down: draining in-flight requests")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), drain)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		// Cut the connections still open, so no handler outlives Serve;
		// the drain failure is what gets reported.
		_ = srv.Close()
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}
