// Command gatehouse-load drives a running Gatehouse over HTTP with N
// concurrent connections for a duration or a request count, and prints
// requests per second, errors and latency percentiles. It refuses any
// target that is not a loopback address unless --allow-remote is given,
// and always stops by itself.
//
//	gatehouse-load --scenario verify --workers 64 --duration 10s
//	gatehouse-load --scenario mixed --client-id ID --client-secret SECRET
//	gatehouse-load baseline --addr 127.0.0.1:9090   (bare Echo, for comparison)
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"syscall"
	"time"

	"golang.org/x/term"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli(ctx, os.Args[1:], os.Stdout, os.Stderr, term.IsTerminal(int(os.Stdout.Fd())))
	stop()
	os.Exit(code)
}

// cli runs the command and returns the exit code. tty says whether stdout
// is a terminal, which turns the live progress line on. --help prints the
// usage (the flag package writes it to stdout) and succeeds.
func cli(ctx context.Context, args []string, stdout, stderr io.Writer, tty bool) int {
	var err error
	if len(args) > 0 && args[0] == "baseline" {
		err = baselineCmd(ctx, args[1:], stdout)
	} else {
		err = loadCmd(ctx, args, stdout, tty)
	}
	switch {
	case errors.Is(err, flag.ErrHelp):
		return 0
	case err != nil:
		fmt.Fprintln(stderr, "gatehouse-load:", err)
		return 1
	}
	return 0
}

func loadCmd(ctx context.Context, args []string, stdout io.Writer, tty bool) error {
	var c config
	fs := flag.NewFlagSet("gatehouse-load", flag.ContinueOnError)
	fs.StringVar(&c.Target, "target", "http://127.0.0.1:8080", "base URL of the Gatehouse to load (loopback only unless --allow-remote)")
	fs.StringVar(&c.Scenario, "scenario", scVerify, "verify, login, refresh, client-credentials or mixed")
	fs.IntVar(&c.Workers, "workers", 64, "concurrent connections")
	fs.DurationVar(&c.Duration, "duration", 10*time.Second, "how long to measure (capped at 10m); 0 with --requests runs until they are done")
	fs.IntVar(&c.Requests, "requests", 0, "stop after this many requests (0: no limit)")
	fs.StringVar(&c.Username, "username", "", "existing user to log in as (default: sign up a new one)")
	fs.StringVar(&c.Password, "password", "", "password of --username")
	fs.StringVar(&c.ClientID, "client-id", "", "client for client-credentials, mixed and verify --distinct")
	fs.StringVar(&c.ClientSecret, "client-secret", "", "secret of --client-id")
	fs.StringVar(&c.Token, "token", "", "verify: send this access token (no setup; use against the baseline)")
	fs.IntVar(&c.Distinct, "distinct", 0, "verify: mint this many distinct tokens and cycle through them")
	fs.BoolVar(&c.AllowRemote, "allow-remote", false, "allow a target that is not a loopback address")
	fs.DurationVar(&c.Timeout, "timeout", 10*time.Second, "per-request timeout")
	fs.StringVar(&c.Client, "client", "raw", "verify requests: raw (lean HTTP/1.1 client, plain http only) or std (net/http)")
	fs.IntVar(&c.WatchPID, "watch-pid", 0, "Linux: report this process's CPU and memory (VmRSS, VmHWM) over the measured phase")
	fs.SetOutput(stdout)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	var progress io.Writer
	if tty {
		progress = stdout
	}
	rep, err := run(ctx, c, progress)
	if err != nil {
		return err
	}
	printReport(stdout, rep)
	if rep.Errors > 0 {
		return fmt.Errorf("%d request(s) failed", rep.Errors)
	}
	return nil
}

// printReport writes the summary of a run.
func printReport(w io.Writer, r *report) {
	fmt.Fprintf(w, "scenario   %s, %d workers, target %s\n", r.Scenario, r.Workers, r.Target)
	fmt.Fprintf(w, "requests   %d ok, %d rejected (429/503), %d errors in %.2fs\n", r.OK, r.Rejected, r.Errors, r.Elapsed.Seconds())
	fmt.Fprintf(w, "throughput %.1f ok/s\n", r.Rate())
	h := &r.Latency
	fmt.Fprintf(w, "latency    mean %s  p50 %s  p90 %s  p99 %s  max %s (successful requests)\n",
		round(h.mean()), round(h.quantile(.5)), round(h.quantile(.9)), round(h.quantile(.99)), round(h.max))
	if r.Self != nil {
		fmt.Fprintf(w, "load tool  %.2f CPU cores\n", r.Self.Cores)
	}
	if s := r.Server; s != nil {
		fmt.Fprintf(w, "server     pid %s: %.2f CPU cores; VmRSS %s at start, %s max, %s at end; VmHWM %s\n",
			s.PID, s.Cores, mib(s.RSSStart), mib(s.RSSMax), mib(s.RSSEnd), mib(s.PeakRSS))
	}
	if r.Scenario == scMixed && r.OK > 0 {
		fmt.Fprint(w, "mix       ")
		for _, op := range []string{scVerify, scRefresh, scClientCredentials, scLogin} {
			fmt.Fprintf(w, " %s %.1f%%", op, 100*float64(r.Ops[op])/float64(r.OK))
		}
		fmt.Fprintln(w)
	}
	kinds := make([]string, 0, len(r.Kinds))
	for k := range r.Kinds {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	for _, k := range kinds {
		fmt.Fprintf(w, "error      %s x%d\n", k, r.Kinds[k])
	}
}

// mib renders bytes in MiB.
func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

// round shortens a duration for display.
func round(d time.Duration) time.Duration {
	switch {
	case d >= time.Second:
		return d.Round(time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond)
	}
	return d.Round(100 * time.Nanosecond)
}
