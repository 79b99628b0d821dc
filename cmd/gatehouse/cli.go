package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"golang.org/x/term"

	"github.com/gatehouse-auth/gatehouse/adapter/token"
	"github.com/gatehouse-auth/gatehouse/domain"
	"github.com/gatehouse-auth/gatehouse/infrastructure/config"
	"github.com/gatehouse-auth/gatehouse/usecase"
)

// withApp builds the app for a CLI command, logging to stderr, runs fn
// and closes the app. It does not load the signing keys: CLI commands never
// sign, work on a database that has no key yet, and never create or
// activate a key ("keys rotate" does, explicitly).
func withApp(ctx context.Context, e env, cfg config.Config, fn func(*app) error) error {
	a, err := build(ctx, cfg, e.stderr, buildOptions{noKeys: true})
	if err != nil {
		return err
	}
	defer a.close()
	return fn(a)
}

// userAdd is "gatehouse user add NAME [--role R] [--password-stdin]".
func userAdd(ctx context.Context, e env, cfg config.Config, name string, roles []string, fromStdin bool) error {
	return withApp(ctx, e, cfg, func(a *app) error {
		pw, err := readPassword(e, fromStdin)
		if err != nil {
			return err
		}
		u, err := a.register.Create(ctx, name, pw, roles)
		if err != nil {
			return describe(err)
		}
		fmt.Fprintf(e.stdout, "created user %s (id %s)\n", u.Username, u.ID)
		return nil
	})
}

// userChange is "gatehouse user disable|enable|delete|mfa-reset NAME".
func userChange(ctx context.Context, e env, cfg config.Config, sub, name string) error {
	return withApp(ctx, e, cfg, func(a *app) error {
		u, err := a.users.Get(ctx, name, true)
		if err != nil {
			return describe(err)
		}
		switch sub {
		case "delete":
			if err := a.users.Delete(ctx, u.ID); err != nil {
				return describe(err)
			}
			fmt.Fprintf(e.stdout, "deleted user %s\n", u.Username)
			return nil
		case "mfa-reset":
			if err := a.mfa.Reset(ctx, u.ID); err != nil {
				return describe(err)
			}
			fmt.Fprintf(e.stdout, "MFA turned off for %s; their sessions were revoked\n", u.Username)
			return nil
		}
		disabled := sub == "disable"
		if _, err := a.users.Update(ctx, u.ID, usecase.UserPatch{Disabled: &disabled}); err != nil {
			return describe(err)
		}
		fmt.Fprintf(e.stdout, "%sd user %s\n", sub, u.Username)
		return nil
	})
}

// userPasswd is "gatehouse user passwd NAME [--password-stdin]".
func userPasswd(ctx context.Context, e env, cfg config.Config, name string, fromStdin bool) error {
	return withApp(ctx, e, cfg, func(a *app) error {
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
		return nil
	})
}

func listUsers(ctx context.Context, e env, a *app) error {
	tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tUSERNAME\tROLES\tDISABLED\tCREATED")
	cursor := ""
	for {
		users, next, err := a.users.List(ctx, cursor, 0) // the use case's default page
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

// clientAdd is "gatehouse client add NAME [--scope S]".
func clientAdd(ctx context.Context, e env, cfg config.Config, name string, scopes []string) error {
	return withApp(ctx, e, cfg, func(a *app) error {
		c, secret, err := a.clients.Create(ctx, name, domain.ParseScope(strings.Join(scopes, " ")))
		if err != nil {
			return describe(err)
		}
		fmt.Fprintf(e.stdout, "client_id: %s\nclient_secret: %s\n", c.ID, secret)
		fmt.Fprintln(e.stderr, "store the secret now: it is not shown again")
		return nil
	})
}

func listClients(ctx context.Context, e env, a *app) error {
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
}

// clientDelete is "gatehouse client delete ID".
func clientDelete(ctx context.Context, e env, cfg config.Config, id string) error {
	return withApp(ctx, e, cfg, func(a *app) error {
		if err := a.clients.Delete(ctx, id); err != nil {
			return describe(err)
		}
		fmt.Fprintf(e.stdout, "deleted client %s\n", id)
		return nil
	})
}

func listKeys(ctx context.Context, e env, a *app) error {
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
func rotateKeys(ctx context.Context, e env, cfg config.Config, alg string) error {
	if alg != "" {
		if !slices.Contains([]string{token.AlgEdDSA, token.AlgES256, token.AlgRS256, token.AlgHS256}, alg) {
			return fmt.Errorf("--alg: %q is not one of EdDSA, ES256, RS256, HS256", alg)
		}
		cfg.SigningAlg = alg
		if err := cfg.Check(); err != nil {
			return err
		}
	}
	return withApp(ctx, e, cfg, func(a *app) error {
		kid, err := a.keys.RotateAs(ctx, usecase.KeyRotation{By: "cli", Switch: alg != ""})
		if err != nil {
			return describe(err)
		}
		fmt.Fprintf(e.stdout, "new signing key: %s\n", kid)
		return nil
	})
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
	case errors.Is(err, domain.ErrMFANotEnabled):
		return errors.New("the user has no MFA")
	}
	return err
}
