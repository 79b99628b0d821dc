package guard

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/gatehouse-auth/gatehouse/adapter/internal/problem"
	"github.com/gatehouse-auth/gatehouse/adapter/internal/remote"
	"github.com/gatehouse-auth/gatehouse/domain"
)

// DefaultPoll is how often a Poller reads the feed when given no interval:
// Gatehouse's own replicas sync this often.
const DefaultPoll = 2 * time.Second

// DefaultMaxStaleness is how long a Poller's set may go without a good
// poll before it is stale, when given no maximum: the default of
// Gatehouse's own GATEHOUSE_REVOCATION_MAX_STALENESS.
const DefaultMaxStaleness = domain.DefaultMaxStaleness

const (
	pollMaxPages = 100 // per Poll, so a misbehaving feed cannot loop us
	maxFeedBytes = 4 << 20
	pollTimeout  = 10 * time.Second
)

// secret is a credential that never prints.
type secret string

func (secret) String() string       { return "[redacted]" }
func (secret) LogValue() slog.Value { return slog.StringValue("[redacted]") }

// feedPage is one answer of GET /oauth/revocations (adapter/rest/oauth.go).
type feedPage struct {
	Revocations []struct {
		SessionID string    `json:"sid"`
		ExpiresAt time.Time `json:"expires_at"`
	} `json:"revocations"`
	NextCursor string `json:"next_cursor"`
}

// Poller keeps an in-memory set of the sessions Gatehouse has revoked,
// read from its revocation feed (GET /oauth/revocations) with a machine
// client's credentials: the same domain.RevokedSet a Gatehouse replica
// keeps. Give it to Config.Revocations, and its Readyz (or Err) to your
// readiness check: the set goes stale when no poll has succeeded for the
// maximum staleness, as a Gatehouse replica's does. It is a
// prometheus.Collector of that staleness (metrics.go). It is safe for
// concurrent use.
type Poller struct {
	feedURL  *url.URL
	clientID string
	secret   secret
	client   *http.Client
	every    time.Duration
	set      *domain.RevokedSet
	now      func() time.Time
	descs    pollerDescs
}

// NewPoller returns a poller of the feed at feedURL (Gatehouse's base URL
// + "/oauth/revocations") that authenticates with HTTP Basic as
// clientID/clientSecret, uses client (nil: a client with a 10 s timeout, traced like KeyIntrospector's)
// and, once Run, polls every interval (DefaultPoll when zero or less). The
// set is stale (Err, Readyz) before the first good poll and whenever the
// last one is more than maxStale ago (when zero or less:
// DefaultMaxStaleness, or three intervals if that is longer; an error when
// shorter than one interval). now is the clock (nil: time.Now). log (nil:
// discarded) hears when polls start failing, when the set goes stale and
// when polls recover; the secret is never logged.
func NewPoller(feedURL, clientID, clientSecret string, client *http.Client, every, maxStale time.Duration, now func() time.Time, log *slog.Logger) (*Poller, error) {
	u, err := remote.URL("revocation feed url", feedURL)
	if err != nil {
		return nil, err
	}
	if clientID == "" || clientSecret == "" {
		return nil, errors.New("revocation feed: client id and secret are required")
	}
	client = remote.Client(client, pollTimeout)
	if every <= 0 {
		every = DefaultPoll
	}
	if maxStale <= 0 {
		maxStale = max(DefaultMaxStaleness, 3*every)
	}
	if maxStale < every {
		return nil, fmt.Errorf("revocation feed: maximum staleness %s is shorter than the poll interval %s", maxStale, every)
	}
	if now == nil {
		now = time.Now
	}
	return &Poller{
		feedURL: u, clientID: clientID, secret: secret(clientSecret), client: client, every: every,
		set: domain.NewRevokedSet("revocation feed poll", maxStale, now, log), now: now, descs: newPollerDescs(),
	}, nil
}

// Revoked reports whether session id was revoked, as of the last poll.
func (p *Poller) Revoked(sessionID string) bool { return p.set.Revoked(sessionID) }

// Size returns the number of revoked sessions held.
func (p *Poller) Size() int { return p.set.Len() }

// LastSync returns when a poll last succeeded (zero before the first).
// Revocations are as old as this, plus the feed's own lag.
func (p *Poller) LastSync() time.Time { return p.set.LastSync() }

// Err returns nil while the revoked set is fresh, and an error wrapping
// domain.ErrUnavailable before the first good poll or once none has
// succeeded for the maximum staleness. Tokens are still checked against
// what the set holds; Err is for the service's readiness, so that a load
// balancer drains it (see Readyz).
func (p *Poller) Err() error { return p.set.Err() }

// Readyz is a readiness handler for the service that uses the guard:
// 200 {"status":"ready"} while the revoked set is fresh, else 503 with
// Gatehouse's error body, as Gatehouse's own GET /readyz answers. A service
// with more to check can call Err itself.
func (p *Poller) Readyz(c echo.Context) error {
	if p.Err() != nil {
		return problem.Write(c, nil, problem.ErrStale)
	}
	return problem.JSON(c, http.StatusOK, map[string]string{"status": "ready"})
}

// Run polls at once and then every interval until ctx ends. Failures are
// logged when they start, once when the set goes stale, and when polls
// recover; meanwhile the set keeps what it had. A poll may take at most
// the maximum staleness.
func (p *Poller) Run(ctx context.Context) {
	tick := time.NewTicker(p.every)
	defer tick.Stop()
	for {
		pollCtx, cancel := context.WithTimeout(ctx, p.set.MaxAge())
		err := p.Poll(pollCtx)
		cancel()
		switch {
		case err != nil && ctx.Err() != nil:
			return
		case err != nil:
			p.set.Failed(ctx, err)
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
func (p *Poller) Poll(ctx context.Context) error {
	return p.set.Refresh(ctx, p.read, pollMaxPages)
}

// read fetches one page of the feed (domain.FeedReader).
func (p *Poller) read(ctx context.Context, after int64) ([]domain.Revocation, int64, error) {
	page, err := p.fetch(ctx, after)
	if err != nil {
		return nil, after, err
	}
	next, err := strconv.ParseInt(page.NextCursor, 10, 64)
	if err != nil || next < 0 {
		return nil, after, errors.New("revocation feed: next_cursor is not a sequence number")
	}
	out := make([]domain.Revocation, 0, len(page.Revocations))
	for _, e := range page.Revocations {
		out = append(out, domain.Revocation{SessionID: e.SessionID, Expires: e.ExpiresAt})
	}
	return out, next, nil
}

// fetch GETs one page of the feed.
func (p *Poller) fetch(ctx context.Context, since int64) (*feedPage, error) {
	u := *p.feedURL
	q := u.Query()
	q.Set("since", strconv.FormatInt(since, 10))
	q.Set("limit", strconv.Itoa(domain.RevocationPage))
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
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
	case http.StatusOK:
	case http.StatusUnauthorized, http.StatusForbidden:
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
