package main

import (
	"context"
	"time"

	"github.com/alecthomas/kong"

	"github.com/gatehouse-auth/gatehouse/infrastructure/config"
	"github.com/gatehouse-auth/gatehouse/usecase"
)

// maintain runs the app's jobs on a Scheduler of their own until ctx ends,
// as serve's Scheduler does beside the revoked set's.
func (a *app) maintain(ctx context.Context, every time.Duration) {
	usecase.NewScheduler(a.jobs(every)...).Run(ctx)
}

// loadConfig parses the settings alone, from getenv, into a validated
// Config, as every command does with its own grammar.
func loadConfig(getenv func(string) string) (config.Config, error) {
	var c config.Config
	k, err := config.NewParser(&c, getenv, kong.Name("gatehouse"), kong.NoDefaultHelp())
	if err != nil {
		return config.Config{}, err
	}
	if _, err := k.Parse(nil); err != nil {
		return config.Config{}, err
	}
	return c.Complete()
}
