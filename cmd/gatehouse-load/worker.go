package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"
)

const formType = "application/x-www-form-urlencoded"

// outcome is how one request went.
type outcome int

const (
	outOK       outcome = iota
	outRejected         // 429 or 503
	outFailed
	outAborted // the run ended while it was in flight: not counted
)

// worker is one connection's loop and its own tallies (merged at the end,
// so the hot loop shares nothing but two counters).
type worker struct {
	l       *loader
	rng     *mrand.Rand
	refresh string   // this worker's refresh token chain
	raw     *rawConn // lean connection for verify requests, when used

	hist     histogram
	ok       uint64
	rejected uint64
	failed   uint64
	kinds    map[string]uint64
	ops      map[string]uint64
}

// loop sends requests until ctx ends or the request budget is spent.
func (w *worker) loop(ctx context.Context) {
	budget := int64(w.l.cfg.Requests)
	for ctx.Err() == nil {
		if budget > 0 && w.l.issued.Add(1) > budget {
			return
		}
		op := w.pick()
		start := time.Now()
		out, kind := w.do(ctx, op)
		elapsed := time.Since(start)
		switch out {
		case outOK:
			w.ok++
			w.ops[op]++
			w.hist.record(elapsed)
		case outRejected:
			w.rejected++
		case outFailed:
			w.failed++
			w.kinds[kind]++
			w.l.failures.Add(1)
		case outAborted:
			return
		}
		w.l.done.Add(1)
	}
}

// pick chooses the next operation; mixed is 90% verify, 5% refresh, 3%
// client credentials and 2% login, roughly what an API with 15-minute
// access tokens sees.
func (w *worker) pick() string {
	if w.l.cfg.Scenario != scMixed {
		return w.l.cfg.Scenario
	}
	switch r := w.rng.IntN(100); {
	case r < 90:
		return scVerify
	case r < 95:
		return scRefresh
	case r < 98:
		return scClientCredentials
	}
	return scLogin
}

// do sends one request of kind op.
func (w *worker) do(ctx context.Context, op string) (outcome, string) {
	l := w.l
	var status int
	var body []byte
	var err error
	switch op {
	case scVerify:
		tok := l.token
		if len(l.tokens) > 0 {
			tok = l.tokens[(l.next.Add(1)-1)%uint64(len(l.tokens))]
		}
		if l.newRaw == nil {
			status, body, err = l.send(ctx, http.MethodGet, "/protected_resource", "", "", "Bearer "+tok)
			break
		}
		if w.raw == nil {
			w.raw = l.newRaw()
		}
		status, err = w.raw.get(ctx, l.basePath+"/protected_resource", "Bearer "+tok)
	case scLogin:
		status, body, err = l.send(ctx, http.MethodPost, "/get_token", "application/json", l.loginBody(), "")
	case scRefresh:
		status, body, err = l.send(ctx, http.MethodPost, "/oauth/token", formType,
			"grant_type=refresh_token&refresh_token="+url.QueryEscape(w.refresh), "")
	case scClientCredentials:
		status, body, err = l.send(ctx, http.MethodPost, "/oauth/token", formType, "grant_type=client_credentials", l.basicAuth())
	}
	switch {
	case err != nil && ended(ctx):
		return outAborted, ""
	case err != nil:
		// A refresh whose answer was lost is retried with the same token:
		// within the reuse interval it yields the same successor.
		return outFailed, op + ": " + transportKind(err)
	case status == http.StatusOK && op == scRefresh:
		pair, err := decodePair(status, body)
		if err != nil {
			return outFailed, "bad token response"
		}
		w.refresh = pair.RefreshToken
		return outOK, ""
	case status == http.StatusOK:
		return outOK, ""
	case backoff(status):
		return outRejected, ""
	case op == scRefresh && status == http.StatusBadRequest:
		// The chain is dead (reuse detected, session revoked): start another.
		if pair, err := l.loginRetry(ctx); err == nil {
			w.refresh = pair.RefreshToken
		}
	}
	return outFailed, fmt.Sprintf("%s: status %d", op, status)
}

// send performs one request and reads the whole answer. auth, when set, is
// the Authorization header.
func (l *loader) send(ctx context.Context, method, path, contentType, body, auth string) (int, []byte, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, l.base+path, rd)
	if err != nil {
		return 0, nil, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := l.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return 0, nil, err
	}
	return resp.StatusCode, raw, nil
}

// tokenPair is the part of a token response the load tool uses.
type tokenPair struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
}

// decodePair reads a 200 token response. The error never quotes the body,
// which holds tokens.
func decodePair(status int, body []byte) (*tokenPair, error) {
	if status != http.StatusOK {
		var e struct {
			Error string `json:"error"`
		}
		if err := json.Unmarshal(body, &e); err != nil {
			return nil, fmt.Errorf("status %d", status)
		}
		return nil, fmt.Errorf("status %d %s", status, e.Error)
	}
	var p tokenPair
	if err := json.Unmarshal(body, &p); err != nil || p.AccessToken == "" {
		return nil, fmt.Errorf("token response is not the expected JSON")
	}
	return &p, nil
}

// transportKind names a transport failure without addresses, so equal
// failures group together in the report.
func transportKind(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, errMalformed):
		return "malformed response"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed by server"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, errRemote):
		return "refused: not loopback"
	case errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	}
	return "transport error"
}

// ended reports whether the run is over. A connection deadline set from
// ctx's deadline can fire a moment before ctx itself reports it.
func ended(ctx context.Context) bool {
	if ctx.Err() != nil {
		return true
	}
	d, ok := ctx.Deadline()
	return ok && !time.Now().Before(d)
}
