// Command gatehouse is the Gatehouse token service and its admin CLI.
//
// This is the composition root: the only package that sees every adapter
// and builds the running system from the configuration.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// env is what a command gets from the outside world; tests pass their own.
type env struct {
	getenv func(string) string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

const usage = `usage: gatehouse COMMAND [flags]

commands:
  serve                                   run the service (applies pending migrations first)
  migrate                                 apply migrations and exit
  user add NAME [--role R] [--password-stdin]
  user list | disable NAME | enable NAME | delete NAME | passwd NAME [--password-stdin]
  client add NAME [--scope S]             prints client_id and client_secret once
  client list | delete ID
  keys list | rotate [--alg ALG]          list signing keys, or make a new one active
  version

settings (flag, environment variable):
`

// run executes one command and returns the process exit code.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := env{getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr}
	if len(args) == 0 {
		printUsage(stderr)
		return 2
	}
	var err error
	switch args[0] {
	case "serve":
		err = serve(ctx, e, args[1:])
	case "migrate":
		err = migrate(ctx, e, args[1:])
	case "user":
		err = userCommand(ctx, e, args[1:])
	case "client":
		err = clientCommand(ctx, e, args[1:])
	case "keys":
		err = keysCommand(ctx, e, args[1:])
	case "version", "--version":
		fmt.Fprintln(stdout, "gatehouse", version)
	case "help", "-h", "--help":
		printUsage(stdout)
	default:
		fmt.Fprintf(stderr, "gatehouse: unknown command %q\n", args[0])
		printUsage(stderr)
		return 2
	}
	if err != nil {
		fmt.Fprintln(stderr, "gatehouse:", err)
		return 1
	}
	return 0
}
