package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse/domain"
	"github.com/gatehouse-auth/gatehouse/infrastructure/config"
	"github.com/gatehouse-auth/gatehouse/usecase"
)

type eventsCmd struct {
	Type  []string `placeholder:"T" help:"only events of type T (repeatable, or comma-separated), e.g. login.failed"`
	User  string   `placeholder:"NAME" help:"only the events of this user (a username, or the id of a deleted user)"`
	Since string   `placeholder:"WHEN" help:"only events since WHEN: a duration back from now (1h, 30m) or an RFC 3339 time"`
	Limit int      `default:"100" placeholder:"N" help:"print at most N events"`
}

func (eventsCmd) Help() string {
	return `Print auth events newest first, one JSON object per line, in the shape of
GET /admin/events. Pipe into jq to pick fields, e.g.
  gatehouse events --type login.failed --since 24h | jq -r .ip | sort | uniq -c`
}

func (c eventsCmd) Run(ctx context.Context, e env, cfg config.Config) error {
	in, err := c.query(time.Now())
	if err != nil {
		return err
	}
	return withApp(ctx, e, cfg, func(a *app) error {
		if c.User != "" {
			u, err := a.users.Get(ctx, c.User, true)
			switch {
			case err == nil:
				in.UserID = u.ID
			case errors.Is(err, domain.ErrNotFound) || isValidation(err):
				in.UserID = c.User // a deleted user's events stay, under their id
			default:
				return describe(err)
			}
		}
		return printEvents(ctx, e, a.events, in, c.Limit)
	})
}

// query turns the flags into the use case's input, resolving --since
// against now.
func (c eventsCmd) query(now time.Time) (usecase.EventListInput, error) {
	var in usecase.EventListInput
	if c.Limit < 1 {
		return in, errors.New("--limit: must be at least 1")
	}
	for _, t := range c.Type {
		for name := range strings.SplitSeq(t, ",") {
			if name = strings.TrimSpace(name); name == "" {
				continue
			}
			if _, err := domain.ParseEventType(name); err != nil {
				return in, fmt.Errorf("--type: unknown event type %q (see docs/events.md)", name)
			}
			in.Types = append(in.Types, name)
		}
	}
	if c.Since != "" {
		if d, err := time.ParseDuration(c.Since); err == nil && d > 0 {
			in.Since = now.Add(-d)
		} else if t, err := time.Parse(time.RFC3339Nano, c.Since); err == nil {
			in.Since = t
		} else {
			return in, fmt.Errorf("--since: %q is neither a positive duration (1h) nor an RFC 3339 time", c.Since)
		}
	}
	return in, nil
}

// printEvents writes up to limit events selected by in, one JSON object per
// line, reading the use case's default pages (their size is its business).
func printEvents(ctx context.Context, e env, events *usecase.Events, in usecase.EventListInput, limit int) error {
	enc := json.NewEncoder(e.stdout)
	in.Limit = 0
	for {
		page, err := events.List(ctx, in)
		if err != nil {
			return describe(err)
		}
		for _, ev := range page.Events {
			if limit == 0 {
				return nil
			}
			if err := enc.Encode(ev); err != nil {
				return err
			}
			limit--
		}
		if page.NextCursor == "" {
			return nil
		}
		in.Cursor = page.NextCursor
	}
}

// isValidation reports whether err is a *domain.ValidationError (a name
// that is no valid username may still be a deleted user's id).
func isValidation(err error) bool {
	var ve *domain.ValidationError
	return errors.As(err, &ve)
}
