package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"golang.org/x/term"

	"github.com/gatehouse-auth/gatehouse/adapter/password"
	"github.com/gatehouse-auth/gatehouse/adapter/token"
	"github.com/gatehouse-auth/gatehouse/domain"
	"github.com/gatehouse-auth/gatehouse/usecase"
)

// stringList is a repeatable flag (--role admin --role ops).
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

// openApp loads the configuration and assembles the app for a CLI command,
// logging to stderr. It does not load the signing keys: CLI commands never
// sign, work on a database that has no key yet, and never create or
// activate a key ("keys rotate" does, explicitly).
func openApp(ctx context.Context, e env, name string, args []string, extra func(*flag.FlagSet)) (*app, []string, error) {
	cfg, rest, err := loadConfig(e, name, args, extra)
	if err != nil {
		return nil, nil, err
	}
	a, err := assemble(ctx, cfg, e.stderr, password.DefaultParams())
	if err != nil {
		return nil, nil, err
	}
	return a, rest, nil
}

// userCommand is "gatehouse user ...".
func userCommand(ctx context.Context, e env, args []string) error {
	sub, err := subcommand(e, "user", args)
	if err != nil {
		return err
	}
	var roles stringList
	var fromStdin bool
	var flags func(*flag.FlagSet)
	switch sub {
	case "add":
		flags = func(fs *flag.FlagSet) {
			fs.Var(&roles, "role", "grant the role `R` (repeatable)")
			fs.BoolVar(&fromStdin, "password-stdin", false, "read the password from the first line of standard input")
		}
	case "passwd":
		flags = func(fs *flag.FlagSet) {
			fs.BoolVar(&fromStdin, "password-stdin", false, "read the password from the first line of standard input")
		}
	}
	a, rest, err := openApp(ctx, e, "user "+sub, args[1:], flags)
	if err != nil {
		return err
	}
	defer a.close()
	name := ""
	if sub != "list" {
		if len(rest) != 1 {
			return fmt.Errorf("user %s: expected exactly one NAME", sub)
		}
		name = rest[0]
	}
	switch sub {
	case "add":
		pw, err := readPassword(e, fromStdin)
		if err != nil {
			return err
		}
		u, err := a.register.Create(ctx, name, pw, roles)
		if err != nil {
			return describe(err)
		}
		fmt.Fprintf(e.stdout, "created user %s (id %s)\n", u.Username, u.ID)
	case "list":
		return listUsers(ctx, e, a)
	case "disable", "enable":
		u, err := a.users.Get(ctx, name, true)
		if err != nil {
			return describe(err)
		}
		disabled := sub == "disable"
		if _, err := a.users.Update(ctx, u.ID, usecase.UserPatch{Disabled: &disabled}); err != nil {
			return describe(err)
		}
		fmt.Fprintf(e.stdout, "%sd user %s\n", sub, u.Username)
	case "delete":
		u, err := a.users.Get(ctx, name, true)
		if err != nil {
			return describe(err)
		}
		if err := a.users.Delete(ctx, u.ID); err != nil {
			return describe(err)
		}
		fmt.Fprintf(e.stdout, "deleted user %s\n", u.Username)
	case "passwd":
		u, err := a.users.Get(ctx, name, true)
		if err != nil {
			return describe(err)
		}
		pw, err := readPassword(e, fromStdin)
		if err != nil {
			return err
		}
		if err := a.users.SetPassword(ctx, u.ID, pw); err != nil {
			return describe(err)
		}
		fmt.Fprintf(e.stdout, "password changed for %s; its sessions were revoked\n", u.Username)
	}
	return nil
}

func listUsers(ctx context.Context, e env, a *app) error {
	tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tUSERNAME\tROLES\tDISABLED\tCREATED")
	cursor := ""
	for {
		users, next, err := a.users.List(ctx, cursor, 500)
		if err != nil {
			return err
		}
		for _, u := range users {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%t\t%s\n", u.ID, u.Username, strings.Join(u.Roles, ","), u.Disabled, u.CreatedAt.UTC().Format(time.RFC3339))
		}
		if next == "" {
			break
		}
		cursor = next
	}
	return tw.Flush()
}

// clientCommand is "gatehouse client ...".
func clientCommand(ctx context.Context, e env, args []string) error {
	sub, err := subcommand(e, "client", args)
	if err != nil {
		return err
	}
	var scopes stringList
	var flags func(*flag.FlagSet)
	if sub == "add" {
		flags = func(fs *flag.FlagSet) {
			fs.Var(&scopes, "scope", "grant the scope `S` (repeatable, or space-separated)")
		}
	}
	a, rest, err := openApp(ctx, e, "client "+sub, args[1:], flags)
	if err != nil {
		return err
	}
	defer a.close()
	switch sub {
	case "add":
		if len(rest) != 1 {
			return errors.New("client add: expected exactly one NAME")
		}
		c, secret, err := a.clients.Create(ctx, rest[0], domain.ParseScope(strings.Join(scopes, " ")))
		if err != nil {
			return describe(err)
		}
		fmt.Fprintf(e.stdout, "client_id: %s\nclient_secret: %s\n", c.ID, secret)
		fmt.Fprintln(e.stderr, "store the secret now: it is not shown again")
	case "list":
		cs, err := a.clients.List(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "CLIENT_ID\tNAME\tSCOPES\tCREATED")
		for _, c := range cs {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", c.ID, c.Name, strings.Join(c.Scopes, " "), c.CreatedAt.UTC().Format(time.RFC3339))
		}
		return tw.Flush()
	case "delete":
		if len(rest) != 1 {
			return errors.New("client delete: expected exactly one ID")
		}
		if err := a.clients.Delete(ctx, rest[0]); err != nil {
			return describe(err)
		}
		fmt.Fprintf(e.stdout, "deleted client %s\n", rest[0])
	}
	return nil
}

// keysCommand is "gatehouse keys list|rotate".
func keysCommand(ctx context.Context, e env, args []string) error {
	sub, err := subcommand(e, "keys", args)
	if err != nil {
		return err
	}
	if sub == "rotate" {
		return rotateKeys(ctx, e, args[1:])
	}
	a, _, err := openApp(ctx, e, "keys list", args[1:], nil)
	if err != nil {
		return err
	}
	defer a.close()
	keys, err := a.keys.List(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KID\tALG\tSTATUS\tCREATED")
	for _, k := range keys {
		status := "active"
		if !k.Active() {
			status = "retired " + k.RetiredAt.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", k.ID, k.Algorithm, status, k.CreatedAt.UTC().Format(time.RFC3339))
	}
	if len(keys) == 0 {
		fmt.Fprintln(e.stderr, `no signing key yet: "gatehouse serve" creates the first one, or run "gatehouse keys rotate"`)
	}
	return tw.Flush()
}

// rotateKeys is "gatehouse keys rotate [--alg ALG]": a new key of ALG,
// by default the configured GATEHOUSE_SIGNING_ALG. Only an explicit --alg
// may change the active key's algorithm.
func rotateKeys(ctx context.Context, e env, args []string) error {
	var alg string
	cfg, rest, err := loadConfig(e, "keys rotate", args, func(fs *flag.FlagSet) {
		fs.StringVar(&alg, "alg", "", "signing algorithm `ALG` of the new key: EdDSA, ES256, RS256 or HS256 (default --signing-alg)")
	})
	if err != nil {
		return err
	}
	if len(rest) != 0 {
		return fmt.Errorf("keys rotate: unexpected argument %q", rest[0])
	}
	if alg != "" {
		if !slices.Contains([]string{token.AlgEdDSA, token.AlgES256, token.AlgRS256, token.AlgHS256}, alg) {
			return fmt.Errorf("--alg: %q is not one of EdDSA, ES256, RS256, HS256", alg)
		}
		cfg.SigningAlg = alg
		if err := cfg.Validate(); err != nil {
			return err
		}
	}
	a, err := assemble(ctx, cfg, e.stderr, password.DefaultParams())
	if err != nil {
		return err
	}
	defer a.close()
	kid, err := a.keys.RotateAs(ctx, usecase.KeyRotation{By: "cli", Switch: alg != ""})
	if err != nil {
		return describe(err)
	}
	fmt.Fprintf(e.stdout, "new signing key: %s\n", kid)
	return nil
}

// readPassword reads a password from stdin (--password-stdin: first line)
// or, on a terminal, from a hidden prompt.
func readPassword(e env, fromStdin bool) (string, error) {
	if fromStdin {
		line, err := bufio.NewReader(e.stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", fmt.Errorf("read password: %w", err)
		}
		pw := strings.TrimRight(line, "\r\n")
		if pw == "" {
			return "", errors.New("read password: standard input was empty")
		}
		return pw, nil
	}
	f, ok := e.stdin.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return "", errors.New("no terminal to prompt for a password: use --password-stdin")
	}
	fmt.Fprint(e.stderr, "Password: ")
	first, err := term.ReadPassword(int(f.Fd()))
	fmt.Fprintln(e.stderr)
	if err != nil {
		return "", fmt.Errorf("read password: %w", err)
	}
	fmt.Fprint(e.stderr, "Repeat password: ")
	second, err := term.ReadPassword(int(f.Fd()))
	fmt.Fprintln(e.stderr)
	if err != nil {
		return "", fmt.Errorf("read password: %w", err)
	}
	if string(first) != string(second) {
		return "", errors.New("passwords do not match")
	}
	return string(first), nil
}

// describe turns domain errors into CLI messages.
func describe(err error) error {
	var ve *domain.ValidationError
	switch {
	case errors.As(err, &ve):
		return errors.New(ve.Message)
	case errors.Is(err, domain.ErrUsernameTaken):
		return errors.New("username is already taken")
	case errors.Is(err, domain.ErrNotFound):
		return errors.New("no such user or client")
	}
	return err
}
