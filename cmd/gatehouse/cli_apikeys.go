package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gatehouse-auth/gatehouse/domain"
	"github.com/gatehouse-auth/gatehouse/infrastructure/config"
	"github.com/gatehouse-auth/gatehouse/usecase"
)

// apikeyAdd is "gatehouse apikey add USER --name N [--scope S] [--expires-in D]".
func apikeyAdd(ctx context.Context, e env, cfg config.Config, user, name string, scopes []string, expiresIn time.Duration) error {
	return withApp(ctx, e, cfg, func(a *app) error {
		u, err := a.users.Get(ctx, user, true)
		if err != nil {
			return describe(err)
		}
		in := usecase.APIKeyInput{Name: name, Scope: domain.ParseScope(strings.Join(scopes, " "))}
		if expiresIn != 0 {
			in.ExpiresIn = &expiresIn
		}
		k, key, err := a.apiKeys.Create(ctx, u.ID, in)
		switch {
		case errors.Is(err, domain.ErrInvalidScope):
			return fmt.Errorf("--scope: each scope must be one of --user-scopes (%s)", strings.Join(cfg.UserScopes, " "))
		case errors.Is(err, domain.ErrTooManyAPIKeys):
			return fmt.Errorf("%s already has %d live API keys; revoke one first", u.Username, domain.MaxLiveAPIKeys)
		case errors.Is(err, domain.ErrTokenRevoked):
			return fmt.Errorf("%s is disabled", u.Username)
		case err != nil:
			return describe(err)
		}
		fmt.Fprintf(e.stdout, "id: %s\napi_key: %s\n", k.ID, key)
		fmt.Fprintf(e.stderr, "store the key now: it is not shown again (expires %s)\n", k.ExpiresAt.UTC().Format(time.RFC3339))
		return nil
	})
}

func listAPIKeys(ctx context.Context, e env, a *app, user string) error {
	u, err := a.users.Get(ctx, user, true)
	if err != nil {
		return describe(err)
	}
	keys, err := a.apiKeys.List(ctx, u.ID)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tHINT\tSCOPE\tCREATED\tEXPIRES\tLAST USED")
	for _, k := range keys {
		last := "never"
		if !k.LastUsedAt.IsZero() {
			last = k.LastUsedAt.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", k.ID, k.Name, k.Hint, strings.Join(k.Scope, " "),
			k.CreatedAt.UTC().Format(time.RFC3339), k.ExpiresAt.UTC().Format(time.RFC3339), last)
	}
	return tw.Flush()
}
