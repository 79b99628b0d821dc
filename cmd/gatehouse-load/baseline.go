package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/gatehouse-auth/gatehouse/infrastructure/server"
)

// protectedBody is the same JSON Gatehouse's GET /protected_resource sends.
type protectedBody struct {
	Message string `json:"message"`
	User    string `json:"user"`
}

// baseline is a bare Echo application answering GET /protected_resource
// with Gatehouse's body and no authentication or middleware: the ceiling a
// protected route is compared with.
func baseline() *echo.Echo {
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.GET("/protected_resource", func(c echo.Context) error {
		return c.JSON(http.StatusOK, protectedBody{Message: "This is a protected resource", User: "load"})
	})
	return e
}

// baselineCmd serves baseline() on a loopback address, with the HTTP server
// settings of `gatehouse serve`, until ctx ends or --for has passed.
func baselineCmd(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("gatehouse-load baseline", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:9090", "listen address (loopback only unless --allow-remote)")
	lifetime := fs.Duration("for", maxDuration, "stop after this long")
	allowRemote := fs.Bool("allow-remote", false, "allow listening on a non-loopback address")
	fs.SetOutput(stdout)
	if err := fs.Parse(args); err != nil {
		return err
	}
	host, _, err := net.SplitHostPort(*addr)
	if err != nil {
		return fmt.Errorf("--addr: %w", err)
	}
	if !*allowRemote && !isLoopbackHost(host) {
		return fmt.Errorf("--addr %s: %w", *addr, errRemote)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("--addr: %w", err)
	}
	// The same http.Server settings as `gatehouse serve` (timeouts, header
	// limit), so a comparison differs only in what the handlers do.
	fmt.Fprintf(stdout, "baseline listening on %s\n", ln.Addr())
	ctx, cancel := context.WithTimeout(ctx, *lifetime)
	defer cancel()
	t := server.DefaultTimeouts()
	t.Drain = 5 * time.Second
	return server.ServeWith(ctx, ln, baseline(), slog.New(slog.DiscardHandler), t)
}
