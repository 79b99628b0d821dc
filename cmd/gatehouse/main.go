// Command gatehouse is the Gatehouse token service and its admin CLI.
//
// This is the composition root: the only package that sees every adapter
// and builds the running system from the configuration.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/alecthomas/kong"

	"github.com/gatehouse-auth/gatehouse/domain"
	"github.com/gatehouse-auth/gatehouse/infrastructure/config"
	"github.com/gatehouse-auth/gatehouse/usecase"
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

// run executes one command and returns the process exit code: 0, 1 when
// the command failed, 2 when there was no command to run.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := env{getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr}
	switch {
	case len(args) == 0:
	case args[0] == "help":
		// "gatehouse help user add" is "gatehouse user add --help".
		args = append(args[1:len(args):len(args)], "--help")
	case args[0] == "--version":
		args = []string{"version"}
	}
	var grammar commandLine
	parser, err := config.NewParser(&grammar, getenv,
		kong.Name("gatehouse"),
		kong.Writers(stdout, stderr),
		kong.NoDefaultHelp(),
		kong.Help(printHelp),
	)
	if err != nil {
		fmt.Fprintln(stderr, "gatehouse:", err)
		return 1
	}
	kctx, err := parser.Parse(args)
	if errors.Is(err, errHelp) {
		return 0 // the usage went to stdout
	}
	if err != nil {
		return usageError(e, parser.Model, args, err)
	}
	if kctx.Command() != "serve" {
		// The auth events of a command's changes name the CLI as actor.
		ctx = usecase.WithOrigin(ctx, usecase.Origin{Actor: domain.Actor{Type: domain.ActorCLI}})
	}
	kctx.BindTo(ctx, (*context.Context)(nil))
	kctx.Bind(e)
	// Only the commands that take a config.Config read the settings: a
	// secret file is read, and the settings checked, once, here.
	if err := kctx.BindToProvider(grammar.Config.Complete); err != nil {
		fmt.Fprintln(stderr, "gatehouse:", err)
		return 1
	}
	if err := kctx.Run(); err != nil {
		fmt.Fprintln(stderr, "gatehouse:", err)
		return 1
	}
	return 0
}

// usageError reports a command line that names no command (exit 2, with
// the usage) or that kong could not parse (exit 1, one line naming the
// command and the flag, setting or argument).
func usageError(e env, app *kong.Application, args []string, err error) int {
	var perr *kong.ParseError
	var selected *kong.Node
	if errors.As(err, &perr) {
		selected = perr.Context.Selected()
	}
	unknown, isUnknown := strings.CutPrefix(err.Error(), "unexpected argument ")
	switch {
	case len(args) == 0:
	case selected == nil && isUnknown:
		fmt.Fprintf(e.stderr, "gatehouse: unknown command %q\n", unknown)
	case selected != nil && len(selected.Children) > 0 && isUnknown:
		fmt.Fprintf(e.stderr, "gatehouse: %s: unknown subcommand %q; see \"gatehouse %s --help\"\n", selected.Path(), unknown, selected.Path())
		return 1
	case selected != nil && !strings.HasPrefix(err.Error(), "--"):
		// A bad argument: name the command. (A bad setting already starts
		// with its flag, as the start-up errors always have.)
		fmt.Fprintf(e.stderr, "gatehouse: %s: %v\n", selected.Path(), err)
		return 1
	default:
		fmt.Fprintln(e.stderr, "gatehouse:", err)
		return 1
	}
	writeRootUsage(e.stderr, app)
	return 2
}
