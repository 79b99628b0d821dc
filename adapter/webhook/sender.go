package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"time"

	"github.com/gatehouse-auth/gatehouse/domain"
	"go.opentelemetry.io/otel/trace"
)

// userAgent names Gatehouse to receivers.
const userAgent = "Gatehouse-Webhooks/1"

// responseDrain is the most of a response body read (and discarded), so the
// connection can be reused without a receiver making us read megabytes.
const responseDrain = 4 << 10

// Sender posts signed deliveries to webhook receivers and checks their
// destinations. Safe for concurrent use.
type Sender struct {
	allowPrivate bool
	client       *http.Client
	resolver     resolver
	now          func() time.Time
	// timeout bounds one attempt, answer and body included
	// (domain.WebhookTimeout; tests shorten it).
	timeout time.Duration
}

// NewSender returns a Sender. Unless allowPrivate, it refuses to connect to
// loopback, private, link-local, unspecified, multicast and CGNAT
// addresses, checked on the address each connection actually dials. It
// never uses a proxy and never follows a redirect.
//
// With a tracer provider (not nil) each attempt is a client span with the
// standard HTTP client attributes and a traceparent header (tracing.go).
func NewSender(allowPrivate bool, tp trace.TracerProvider) *Sender {
	s := &Sender{
		allowPrivate: allowPrivate,
		resolver:     net.DefaultResolver,
		now:          time.Now,
		timeout:      domain.WebhookTimeout,
	}
	dialer := &net.Dialer{Timeout: domain.WebhookTimeout, KeepAlive: 30 * time.Second, Control: s.control}
	transport := &http.Transport{
		Proxy:                  nil, // a proxy would be dialled instead of the checked destination
		DialContext:            dialer.DialContext,
		ForceAttemptHTTP2:      true,
		TLSHandshakeTimeout:    domain.WebhookTimeout,
		MaxIdleConns:           64,
		MaxIdleConnsPerHost:    4,
		IdleConnTimeout:        90 * time.Second,
		MaxResponseHeaderBytes: 64 << 10,
	}
	var rt http.RoundTripper = transport
	if tp != nil {
		rt = traced(transport, tp)
	}
	s.client = &http.Client{
		Transport: rt,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse // a 3xx is the answer, not a pointer to follow
		},
	}
	return s
}

// resolver looks host names up (*net.Resolver; tests fake it).
type resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// payload is the body of a delivery (Standard Webhooks). The event
// marshals itself in its public shape (domain.Event.MarshalJSON), the same
// as in GET /admin/events.
type payload struct {
	Type      domain.EventType `json:"type"`
	Timestamp time.Time        `json:"timestamp"`
	Data      domain.Event     `json:"data"`
}

// Body returns the JSON body a delivery of e carries:
// {"type", "timestamp" (the event's time), "data": the event}.
func Body(e domain.Event) ([]byte, error) {
	b, err := json.Marshal(payload{Type: e.Type, Timestamp: e.Time.UTC(), Data: e})
	if err != nil {
		return nil, fmt.Errorf("encode event %s: %w", e.ID, err)
	}
	return b, nil
}

// Send makes one attempt to deliver job: a signed POST of the event to the
// webhook's URL. It returns the answer's status code, whatever it is (the
// caller decides that only a 2xx is a delivery), or 0 and an error when no
// answer came: a refused destination, a network error, the timeout. Errors
// are short, never name the URL (its path may be a credential) and never
// carry the secret or the signature.
func (s *Sender) Send(ctx context.Context, job domain.DeliveryJob) (int, error) {
	body, err := Body(job.Event)
	if err != nil {
		return 0, err
	}
	now := s.now()
	sig, err := Sign(job.Secret, job.Event.ID, now, body)
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, job.URL, bytes.NewReader(body))
	if err != nil {
		return 0, errors.New("webhook URL is not a valid request URL")
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", userAgent)
	req.Header.Set("webhook-id", job.Event.ID)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(now.Unix(), 10))
	req.Header.Set("webhook-signature", sig)
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, s.attemptError(ctx, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, responseDrain)) // the answer's body means nothing to us
	return resp.StatusCode, nil
}

// attemptError turns a failed request into a short error without the URL.
func (s *Sender) attemptError(ctx context.Context, err error) error {
	var refused *RefusedError
	switch {
	case errors.As(err, &refused):
		return refused
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return fmt.Errorf("no answer within %s", s.timeout)
	case ctx.Err() != nil:
		return fmt.Errorf("attempt interrupted: %w", ctx.Err())
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) {
		return opErr // "dial tcp 192.0.2.1:443: connect: connection refused": no path, no query
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return fmt.Errorf("resolve host %s: %s", dnsErr.Name, dnsErr.Err)
	}
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		return errors.New(urlErr.Err.Error()) // a TLS or protocol error; url.Error's text would name the URL
	}
	return errors.New("request failed")
}
