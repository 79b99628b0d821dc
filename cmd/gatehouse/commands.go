package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/alecthomas/kong"

	"github.com/gatehouse-auth/gatehouse/domain"
	"github.com/gatehouse-auth/gatehouse/infrastructure/config"
)

// commandLine is the command line: the settings, which every command accepts before
// or after its name, and the commands, as in DESIGN.md's CLI block. kong
// parses it; each command's Run does the work.
type commandLine struct {
	Config config.Config `embed:""`
	Help   helpFlag      `short:"h" help:"print this usage"`

	Serve   serveCmd   `cmd:"" help:"run the service (applies pending migrations first)"`
	Migrate migrateCmd `cmd:"" help:"apply migrations and exit"`
	User    struct {
		Add      userAddCmd    `cmd:"" help:"create a user"`
		List     userListCmd   `cmd:"" help:"list the users"`
		Disable  userNameCmd   `cmd:"" help:"disable a user: their sessions and tokens stop working"`
		Enable   userNameCmd   `cmd:"" help:"enable a disabled user"`
		Delete   userNameCmd   `cmd:"" help:"delete a user and their sessions"`
		Passwd   userPasswdCmd `cmd:"" help:"set a user's password; their sessions are revoked"`
		MfaReset userNameCmd   `cmd:"" name:"mfa-reset" help:"turn a locked-out user's MFA off; their sessions end"`
	} `cmd:"" help:"manage users"`
	Client struct {
		Add    clientAddCmd    `cmd:"" help:"create a machine client; prints client_id and client_secret once"`
		List   clientListCmd   `cmd:"" help:"list the machine clients (never their secrets)"`
		Delete clientDeleteCmd `cmd:"" help:"delete a machine client"`
	} `cmd:"" help:"manage machine clients"`
	Keys struct {
		List   keysListCmd   `cmd:"" help:"list the stored signing keys of every algorithm, newest first"`
		Rotate keysRotateCmd `cmd:"" help:"make a new signing key the active one"`
	} `cmd:"" help:"manage signing keys"`
	Apikey struct {
		Add    apikeyAddCmd    `cmd:"" help:"create an API key for a user; prints id and api_key once"`
		List   apikeyListCmd   `cmd:"" help:"list a user's API keys (never the keys)"`
		Revoke apikeyRevokeCmd `cmd:"" help:"revoke an API key everywhere within the revocation sync interval"`
	} `cmd:"" help:"manage users' API keys"`
	Events  eventsCmd  `cmd:"" help:"print auth events, newest first, as JSON lines"`
	Version versionCmd `cmd:"" help:"print the version"`
}

type serveCmd struct{}

func (serveCmd) Help() string {
	return `Run the service until SIGINT or SIGTERM, then drain. Pending migrations are
applied first. On a database with no signing key at all (a first start) the
first key of --signing-alg is created and logged; a database whose active key
has another algorithm stops start-up (change it with "gatehouse keys rotate").`
}

func (serveCmd) Run(ctx context.Context, e env, cfg config.Config) error { return serve(ctx, e, cfg) }

type migrateCmd struct{}

func (migrateCmd) Run(ctx context.Context, e env, cfg config.Config) error {
	return migrate(ctx, e, cfg)
}

type userAddCmd struct {
	Name          string   `arg:"" name:"NAME" help:"the username"`
	Role          []string `placeholder:"R" sep:"none" help:"grant the role R (repeatable)"`
	PasswordStdin bool     `help:"read the password from the first line of standard input"`
}

func (userAddCmd) Help() string {
	return `The password is read from a hidden prompt, or with --password-stdin from the
first line of standard input.`
}

func (c userAddCmd) Run(ctx context.Context, e env, cfg config.Config) error {
	return userAdd(ctx, e, cfg, c.Name, c.Role, c.PasswordStdin)
}

type userListCmd struct{}

func (userListCmd) Run(ctx context.Context, e env, cfg config.Config) error {
	return withApp(ctx, e, cfg, func(a *app) error { return listUsers(ctx, e, a) })
}

// userNameCmd is "user disable|enable|delete|mfa-reset NAME".
type userNameCmd struct {
	Name string `arg:"" name:"NAME" help:"the username"`
}

func (c userNameCmd) Run(ctx context.Context, e env, cfg config.Config, kctx *kong.Context) error {
	return userChange(ctx, e, cfg, kctx.Selected().Name, c.Name)
}

type userPasswdCmd struct {
	Name          string `arg:"" name:"NAME" help:"the username"`
	PasswordStdin bool   `help:"read the password from the first line of standard input"`
}

func (userPasswdCmd) Help() string { return `The password is read as for "user add".` }

func (c userPasswdCmd) Run(ctx context.Context, e env, cfg config.Config) error {
	return userPasswd(ctx, e, cfg, c.Name, c.PasswordStdin)
}

type clientAddCmd struct {
	Name  string   `arg:"" name:"NAME" help:"the client's name"`
	Scope []string `placeholder:"S" sep:"none" help:"grant the scope S (repeatable, or space-separated)"`
}

func (clientAddCmd) Help() string {
	return `The secret is not stored and cannot be shown again.`
}

func (c clientAddCmd) Run(ctx context.Context, e env, cfg config.Config) error {
	return clientAdd(ctx, e, cfg, c.Name, c.Scope)
}

type clientListCmd struct{}

func (clientListCmd) Run(ctx context.Context, e env, cfg config.Config) error {
	return withApp(ctx, e, cfg, func(a *app) error { return listClients(ctx, e, a) })
}

type clientDeleteCmd struct {
	ID string `arg:"" name:"ID" help:"the client_id"`
}

func (c clientDeleteCmd) Run(ctx context.Context, e env, cfg config.Config) error {
	return clientDelete(ctx, e, cfg, c.ID)
}

type keysListCmd struct{}

func (keysListCmd) Run(ctx context.Context, e env, cfg config.Config) error {
	return withApp(ctx, e, cfg, func(a *app) error { return listKeys(ctx, e, a) })
}

type keysRotateCmd struct {
	Alg string `placeholder:"ALG" help:"signing algorithm of the new key: EdDSA, ES256, RS256 or HS256 (default --signing-alg)"`
}

func (keysRotateCmd) Help() string {
	return `The new key of ALG (default: --signing-alg) becomes the active one; the
retired public keys stay published until their tokens have expired. This is
the only command that creates or activates a key, and the only way to change
the signing algorithm: without --alg it refuses when the active key has
another algorithm. Servers configured for another algorithm keep their keys
and must be restarted with GATEHOUSE_SIGNING_ALG=ALG. HS256 signs with the
configured secret, which is never stored: rotating to HS256 records HS256 as
the active algorithm, and while it is active a new HS256 key is a new secret.`
}

func (c keysRotateCmd) Run(ctx context.Context, e env, cfg config.Config) error {
	return rotateKeys(ctx, e, cfg, c.Alg)
}

type versionCmd struct{}

func (versionCmd) Run(e env) error {
	_, err := fmt.Fprintln(e.stdout, "gatehouse", version)
	return err
}

type apikeyAddCmd struct {
	User      string        `arg:"" name:"USER" help:"the username"`
	Name      string        `required:"" placeholder:"N" help:"the key's name (1-64 characters)"`
	Scope     []string      `placeholder:"S" sep:"none" help:"give the key the scope S, one of --user-scopes (repeatable, or space-separated)"`
	ExpiresIn time.Duration `placeholder:"DURATION" help:"the key's lifetime, e.g. 720h (default 2160h, at most --api-key-max-ttl)"`
}

func (apikeyAddCmd) Help() string {
	return `The key is printed once and not stored (only its SHA-256 is); it cannot be
shown again. See docs/api-keys.md.`
}

func (c apikeyAddCmd) Run(ctx context.Context, e env, cfg config.Config) error {
	return apikeyAdd(ctx, e, cfg, c.User, c.Name, c.Scope, c.ExpiresIn)
}

type apikeyListCmd struct {
	User string `arg:"" name:"USER" help:"the username"`
}

func (c apikeyListCmd) Run(ctx context.Context, e env, cfg config.Config) error {
	return withApp(ctx, e, cfg, func(a *app) error { return listAPIKeys(ctx, e, a, c.User) })
}

type apikeyRevokeCmd struct {
	ID string `arg:"" name:"ID" help:"the key's id"`
}

func (c apikeyRevokeCmd) Run(ctx context.Context, e env, cfg config.Config) error {
	return withApp(ctx, e, cfg, func(a *app) error {
		if err := a.apiKeys.DeleteAny(ctx, c.ID); err != nil {
			if errors.Is(err, domain.ErrNotFound) {
				return errors.New("no such API key (or already revoked)")
			}
			return describe(err)
		}
		fmt.Fprintf(e.stdout, "revoked API key %s\n", c.ID)
		return nil
	})
}
