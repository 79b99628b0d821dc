package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// setup creates the user and tokens the scenario needs and one worker per
// connection, each ready to go (refresh chains already started).
func (l *loader) setup(ctx context.Context) ([]*worker, error) {
	c := l.cfg
	needUser := c.Scenario == scLogin || c.Scenario == scRefresh || c.Scenario == scMixed ||
		(c.Scenario == scVerify && c.Token == "" && c.Distinct == 0)
	l.username, l.password = c.Username, c.Password
	if needUser && l.username == "" {
		if err := l.createUser(ctx); err != nil {
			return nil, err
		}
	}
	switch {
	case c.Scenario == scVerify && c.Token != "":
		l.token = c.Token
	case c.Scenario == scVerify && c.Distinct > 0:
		if err := l.mintDistinct(ctx); err != nil {
			return nil, err
		}
	case c.Scenario == scVerify || c.Scenario == scMixed:
		pair, err := l.loginRetry(ctx)
		if err != nil {
			return nil, err
		}
		l.token = pair.AccessToken
	}
	workers := make([]*worker, c.Workers)
	for i := range workers {
		workers[i] = &worker{l: l, rng: mrand.New(mrand.NewPCG(uint64(i), 0x6761746568)), kinds: map[string]uint64{}, ops: map[string]uint64{}}
	}
	if c.Scenario == scRefresh || c.Scenario == scMixed {
		if err := l.startChains(ctx, workers); err != nil {
			return nil, err
		}
	}
	return workers, nil
}

// createUser signs up a user of its own with a random name and password.
func (l *loader) createUser(ctx context.Context) error {
	l.username = "load-" + strings.ToLower(rand.Text()[:12])
	l.password = rand.Text()
	status, body, err := l.send(ctx, http.MethodPost, "/users", "application/json",
		fmt.Sprintf(`{"username":%q,"password":%q}`, l.username, l.password), "")
	if err != nil {
		return fmt.Errorf("create user: %w", err)
	}
	if status != http.StatusCreated {
		return fmt.Errorf("create user: POST /users = %d %.200s (is signup on? otherwise pass --username and --password)", status, body)
	}
	return nil
}

// startChains logs every worker in once, a few at a time, so that each owns
// a refresh token chain.
func (l *loader) startChains(ctx context.Context, workers []*worker) error {
	return parallel(ctx, len(workers), min(len(workers), 8), func(ctx context.Context, i int) error {
		pair, err := l.loginRetry(ctx)
		if err != nil {
			return err
		}
		workers[i].refresh = pair.RefreshToken
		return nil
	})
}

// mintDistinct fetches cfg.Distinct access tokens through the
// client_credentials grant (cheap: no password hashing), each one distinct.
func (l *loader) mintDistinct(ctx context.Context) error {
	l.tokens = make([]string, l.cfg.Distinct)
	return parallel(ctx, len(l.tokens), min(l.cfg.Workers, 32), func(ctx context.Context, i int) error {
		for {
			status, body, err := l.send(ctx, http.MethodPost, "/oauth/token", formType, "grant_type=client_credentials", l.basicAuth())
			if err != nil {
				return fmt.Errorf("mint token: %w", err)
			}
			if backoff(status) {
				if err := sleep(ctx, 100*time.Millisecond); err != nil {
					return err
				}
				continue
			}
			pair, err := decodePair(status, body)
			if err != nil {
				return fmt.Errorf("mint token: %w", err)
			}
			l.tokens[i] = pair.AccessToken
			return nil
		}
	})
}

// loginRetry logs the user in, waiting out 429 and 503 answers.
func (l *loader) loginRetry(ctx context.Context) (*tokenPair, error) {
	for {
		status, body, err := l.send(ctx, http.MethodPost, "/get_token", "application/json", l.loginBody(), "")
		if err != nil {
			return nil, fmt.Errorf("login: %w", err)
		}
		if backoff(status) {
			if err := sleep(ctx, time.Duration(50+mrand.IntN(200))*time.Millisecond); err != nil {
				return nil, fmt.Errorf("login: %w", err)
			}
			continue
		}
		pair, err := decodePair(status, body)
		if err != nil {
			return nil, fmt.Errorf("login: %w", err)
		}
		return pair, nil
	}
}

func (l *loader) loginBody() string {
	return fmt.Sprintf(`{"username":%q,"password":%q}`, l.username, l.password)
}

func (l *loader) basicAuth() string {
	req := http.Request{Header: http.Header{}}
	req.SetBasicAuth(l.cfg.ClientID, l.cfg.ClientSecret)
	return req.Header.Get("Authorization")
}

// parallel runs f for 0..n-1 on at most width goroutines and returns the
// first error.
func parallel(ctx context.Context, n, width int, f func(context.Context, int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range max(width, 1) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				if err := f(ctx, i); err != nil {
					cancel(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return ctx.Err()
}
