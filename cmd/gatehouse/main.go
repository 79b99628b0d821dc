// Command gatehouse is the Gatehouse token service and its admin CLI.
//
// This is the composition root: the only package that sees every adapter
// and builds the running system from the configuration.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
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

Run "gatehouse COMMAND --help" for the usage of one command.

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
		if len(args) > 1 && isHelp(args[1]) {
			err = commandUsage(stdout, "version", nil)
			break
		}
		fmt.Fprintln(stdout, "gatehouse", version)
	case "help", "-h", "-help", "--help":
		if len(args) > 1 && args[0] == "help" {
			// "gatehouse help user add" is "gatehouse user add --help".
			return run(ctx, append(args[1:len(args):len(args)], "--help"), getenv, stdin, stdout, stderr)
		}
		printUsage(stdout)
	default:
		fmt.Fprintf(stderr, "gatehouse: unknown command %q\n", args[0])
		printUsage(stderr)
		return 2
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0 // the usage went to stdout
	}
	if err != nil {
		fmt.Fprintln(stderr, "gatehouse:", err)
		return 1
	}
	return 0
}

// isHelp reports whether arg asks for help, as the flag package takes it.
func isHelp(arg string) bool {
	switch arg {
	case "-h", "-help", "--h", "--help":
		return true
	}
	return false
}

// commandDoc is the usage of one command.
type commandDoc struct {
	name     string // the words that select it: "user add"
	synopsis string // its arguments and own flags
	text     string // what it does
}

// commandDocs lists every command in the order of the main usage.
func commandDocs() []commandDoc {
	return []commandDoc{
		{"serve", "", `Run the service until SIGINT or SIGTERM, then drain. Pending migrations are
applied first. On a database with no signing key at all (a first start) the
first key of --signing-alg is created and logged; a database whose active key
has another algorithm stops start-up (change it with "gatehouse keys rotate").`},
		{"migrate", "", "Apply pending database migrations and exit."},
		{"user add", "NAME [--role R] [--password-stdin]", `Create a user. The password is read from a hidden prompt, or with
--password-stdin from the first line of standard input.`},
		{"user list", "", "List the users."},
		{"user disable", "NAME", "Disable a user: their sessions and tokens stop working."},
		{"user enable", "NAME", "Enable a disabled user."},
		{"user delete", "NAME", "Delete a user and their sessions."},
		{"user passwd", "NAME [--password-stdin]", `Set a user's password; their sessions are revoked. The password is read as
for "user add".`},
		{"client add", "NAME [--scope S]", `Create a machine client. Prints client_id and client_secret once: the secret
is not stored and cannot be shown again.`},
		{"client list", "", "List the machine clients (never their secrets)."},
		{"client delete", "ID", "Delete a machine client."},
		{"keys list", "", "List the stored signing keys of every algorithm, newest first."},
		{"keys rotate", "[--alg ALG]", `Make a new signing key of ALG (default: --signing-alg) the active one; the
retired public keys stay published until their tokens have expired. This is
the only command that creates or activates a key, and the only way to change
the signing algorithm: without --alg it refuses when the active key has
another algorithm. Servers configured for another algorithm keep their keys
and must be restarted with GATEHOUSE_SIGNING_ALG=ALG. HS256 signs with the
configured secret, which is never stored: rotating to HS256 records HS256 as
the active algorithm, and while it is active a new HS256 key is a new secret.`},
		{"version", "", "Print the version."},
	}
}

// commandUsage writes the usage of the command name, with its own flags
// (registered by extra) and the settings, and returns flag.ErrHelp.
func commandUsage(w io.Writer, name string, extra func(*flag.FlagSet)) error {
	for _, d := range commandDocs() {
		if d.name != name {
			continue
		}
		fmt.Fprintf(w, "usage: gatehouse %s\n\n%s\n", strings.TrimSpace(d.name+" "+d.synopsis), d.text)
		if extra != nil {
			fs := flag.NewFlagSet(name, flag.ContinueOnError)
			extra(fs)
			fmt.Fprintln(w, "\nflags:")
			fs.VisitAll(func(f *flag.Flag) {
				arg, text := flag.UnquoteUsage(f)
				fmt.Fprintf(w, "  --%-24s %s\n", strings.TrimSpace(f.Name+" "+arg), text)
			})
		}
		if name != "version" {
			fmt.Fprintln(w, "\nsettings (flag, environment variable):")
			printSettings(w)
		}
		return flag.ErrHelp
	}
	return fmt.Errorf("no usage for %q", name)
}

// groupUsage writes the subcommands of group ("user", "client", "keys")
// and returns flag.ErrHelp.
func groupUsage(w io.Writer, group string) error {
	fmt.Fprintf(w, "usage: gatehouse %s SUBCOMMAND [flags]\n\nsubcommands:\n", group)
	for _, d := range commandDocs() {
		if strings.HasPrefix(d.name, group+" ") {
			fmt.Fprintf(w, "  gatehouse %s\n", strings.TrimSpace(d.name+" "+d.synopsis))
		}
	}
	fmt.Fprintf(w, "\nRun \"gatehouse %s SUBCOMMAND --help\" for the usage of one subcommand.\n", group)
	return flag.ErrHelp
}

// subcommand checks the first argument of a command group before anything
// is opened: it returns the subcommand, or flag.ErrHelp after writing the
// group's usage, or an error naming what was expected.
func subcommand(e env, group string, args []string) (string, error) {
	var names []string
	for _, d := range commandDocs() {
		if name, ok := strings.CutPrefix(d.name, group+" "); ok {
			names = append(names, name)
		}
	}
	expected := strings.Join(names, ", ")
	switch {
	case len(args) == 0:
		return "", fmt.Errorf("%s: expected one of %s", group, expected)
	case isHelp(args[0]):
		return "", groupUsage(e.stdout, group)
	}
	for _, name := range names {
		if args[0] == name {
			return name, nil
		}
	}
	return "", fmt.Errorf("%s: unknown subcommand %q (expected one of %s)", group, args[0], expected)
}
