package http

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	nethttp "net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/gatehouse-auth/gatehouse/usecase"
)

// DefaultRevocationPoll is how often a RevocationPoller reads the feed when
// given no interval: Gatehouse's own replicas sync this often.
const DefaultRevocationPoll = 2 * time.Second

// DefaultRevocationMaxStaleness is how long a RevocationPoller's set may go
// without a good poll before it is stale, when given no maximum: the
// default of Gatehouse's own GATEHOUSE_REVOCATION_MAX_STALENESS.
const DefaultRevocationMaxStaleness = usecase.DefaultMaxStaleness

const (
	// pollOverlap is how far behind its cursor the poller re-reads the
	// feed. Gatehouse's cursor is a sequence number, and on Postgres an
	// entry can become visible after one with a higher number (numbers are
	// handed out before commit); usecase.RevocationList does the same.
	pollOverlap  = 256
	pollLimit    = 1000 // entries per request: the feed's maximum page
	pollMaxPages = 100  // per Poll, so a misbehaving feed cannot loop us
	maxFeedBytes = 4 << 20
	pollTimeout  = 10 * time.Second
)

// secret is a credential that never prints.
type secret string

func (secret) String() string       { return "[redacted]" }
func (secret) LogValue() slog.Value { return slog.StringValue("[redacted]") }

// feedPage is one answer of GET /oauth/revocations (adapter/http/oauth.go).
type feedPage struct {
	Revocations []struct {
		SessionID string    `json:"sid"`
		ExpiresAt time.Time `json:"expires_at"`
	} `json:"revocations"`
	NextCursor string `json:"next_cursor"`
}

// RevocationPoller keeps an in-memory set of the sessions Gatehouse has
// revoked, read from its revocation feed (GET /oauth/revocations) with a
// machine client's credentials. Each entry is kept until its expires_at,
// after which no token of that session can be valid anyway. Give it to
// GuardConfig.Revocations, and its Readyz (or Err) to your readiness
// check: the set goes stale when no poll has succeeded for the maximum
// staleness, as a Gatehouse replica's does. It is safe for concurrent use.
type RevocationPoller struct {
	feedURL  *url.URL
	clientID string
	secret   secret
	client   *nethttp.Client
	every    time.Duration
	now      func() time.Time
	fresh    *usecase.Freshness

	pollMu sync.Mutex // one poll at a time; guards cursor
	cursor int64

	mu      sync.RWMutex
	revoked map[string]time.Time // session id -> entry expiry
}

// NewRevocationPoller returns a poller of the feed at feedURL (Gatehouse's
// base URL + "/oauth/revocations") that authenticates with HTTP Basic as
// clientID/clientSecret, uses client (nil: a client with a 10 s timeout)
// and, once Run, polls every interval (DefaultRevocationPoll when zero or
// less). The set is stale (Err, Readyz) before the first good poll and
// whenever the last one is more than maxStale ago (when zero or less:
// DefaultRevocationMaxStaleness, or three intervals if that is longer; an
// error when shorter than one interval). now is the clock (nil: time.Now).
// log (nil: discarded)
// hears when polls start failing, when the set goes stale and when polls
// recover; the secret is never logged.
func NewRevocationPoller(feedURL, clientID, clientSecret string, client *nethttp.Client, every, maxStale time.Duration, now func() time.Time, log *slog.Logger) (*RevocationPoller, error) {
	u, err := url.Parse(feedURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("revocation feed url %q: want an absolute http or https URL", feedURL)
	}
	if clientID == "" || clientSecret == "" {
		return nil, errors.New("revocation feed: client id and secret are required")
	}
	if client == nil {
		client = &nethttp.Client{Timeout: pollTimeout}
	}
	if every <= 0 {
		every = DefaultRevocationPoll
	}
	if maxStale <= 0 {
		maxStale = max(DefaultRevocationMaxStaleness, 3*every)
	}
	if maxStale < every {
		return nil, fmt.Errorf("revocation feed: maximum staleness %s is shorter than the poll interval %s", maxStale, every)
	}
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &RevocationPoller{
		feedURL: u, clientID: clientID, secret: secret(clientSecret), client: client,
		every: every, now: now, revoked: make(map[string]time.Time),
		fresh: usecase.NewFreshness("revocation feed poll", maxStale, now, log),
	}, nil
}

// Revoked reports whether session id was revoked, as of the last poll.
func (p *RevocationPoller) Revoked(sessionID string) bool {
	p.mu.RLock()
	exp, ok := p.revoked[sessionID]
	p.mu.RUnlock()
	return ok && p.now().Before(exp)
}

// Size returns the number of revoked sessions held.
func (p *RevocationPoller) Size() int {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return len(p.revoked)
}

// LastSync returns when a poll last succeeded (zero before the first).
// Revocations are as old as this, plus the feed's own lag.
func (p *RevocationPoller) LastSync() time.Time { return p.fresh.Last() }

// Err returns nil while the revoked set is fresh, and an error wrapping
// domain.ErrUnavailable before the first good poll or once none has
// succeeded for the maximum staleness. Tokens are still checked against
// what the set holds; Err is for the service's readiness, so that a load
// balancer drains it (see Readyz).
func (p *RevocationPoller) Err() error { return p.fresh.Err() }

// Readyz is a readiness handler for the service that uses the guard:
// 200 {"status":"ready"} while the revoked set is fresh, else 503 with
// Gatehouse's error body, as Gatehouse's own GET /readyz answers. A service
// with more to check can call Err itself.
func (p *RevocationPoller) Readyz(c echo.Context) error {
	if p.Err() != nil {
		return writeStale(c)
	}
	return writeJSON(c, nethttp.StatusOK, map[string]string{"status": "ready"})
}

// Run polls at once and then every interval until ctx ends. Failures are
// logged when they start, once when the set goes stale, and when polls
// recover; meanwhile the set keeps what it had. A poll may take at most
// the maximum staleness.
func (p *RevocationPoller) Run(ctx context.Context) {
	tick := time.NewTicker(p.every)
	defer tick.Stop()
	for {
		pollCtx, cancel := context.WithTimeout(ctx, p.fresh.MaxAge())
		err := p.Poll(pollCtx)
		cancel()
		switch {
		case err != nil && ctx.Err() != nil:
			return
		case err != nil:
			p.fresh.Failed(ctx, err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// Poll reads the feed entries added since the last poll, page by page, and
// drops expired ones from the set.
func (p *RevocationPoller) Poll(ctx context.Context) error {
	p.pollMu.Lock()
	defer p.pollMu.Unlock()
	start := p.now() // the set is as fresh as the first read
	since := max(p.cursor-pollOverlap, 0)
	for range pollMaxPages {
		page, err := p.fetch(ctx, since)
		if err != nil {
			return err
		}
		next, err := strconv.ParseInt(page.NextCursor, 10, 64)
		if err != nil || next < 0 {
			return errors.New("revocation feed: next_cursor is not a sequence number")
		}
		now := p.now()
		p.mu.Lock()
		for _, e := range page.Revocations {
			if e.SessionID != "" && e.ExpiresAt.After(now) && e.ExpiresAt.After(p.revoked[e.SessionID]) {
				p.revoked[e.SessionID] = e.ExpiresAt
			}
		}
		p.mu.Unlock()
		p.cursor = max(p.cursor, next)
		if len(page.Revocations) < pollLimit || next <= since {
			break
		}
		since = next
	}
	now := p.now()
	p.mu.Lock()
	for id, exp := range p.revoked {
		if !now.Before(exp) {
			delete(p.revoked, id)
		}
	}
	p.mu.Unlock()
	p.fresh.Refreshed(ctx, start)
	return nil
}

// fetch GETs one page of the feed.
func (p *RevocationPoller) fetch(ctx context.Context, since int64) (*feedPage, error) {
	u := *p.feedURL
	q := u.Query()
	q.Set("since", strconv.FormatInt(since, 10))
	q.Set("limit", strconv.Itoa(pollLimit))
	u.RawQuery = q.Encode()
	req, err := nethttp.NewRequestWithContext(ctx, nethttp.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("revocation feed: %w", err)
	}
	req.SetBasicAuth(p.clientID, string(p.secret))
	req.Header.Set("Accept", "application/json")
	resp, err := p.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("revocation feed: %w", err)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case nethttp.StatusOK:
	case nethttp.StatusUnauthorized, nethttp.StatusForbidden:
		return nil, fmt.Errorf("revocation feed: client %s refused (status %d)", p.clientID, resp.StatusCode)
	default:
		return nil, fmt.Errorf("revocation feed: status %d", resp.StatusCode)
	}
	var page feedPage
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxFeedBytes)).Decode(&page); err != nil {
		return nil, fmt.Errorf("revocation feed: decode: %w", err)
	}
	return &page, nil
}
