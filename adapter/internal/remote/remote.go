// Package remote holds what the clients of a Gatehouse server share: the
// JWKS key set of adapter/token, and the revocation poller and key
// introspector of adapter/guard. They check the URL they are given the
// same way and, given no HTTP client, make the same one.
package remote

import (
	"fmt"
	"net/http"
	"net/url"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
)

// URL parses raw, which must be an absolute http or https URL; what names
// it in the error ("jwks url").
func URL(what, raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%s %q: want an absolute http or https URL", what, raw)
	}
	return u, nil
}

// Client returns c or, when c is nil, a client with timeout whose requests
// are OpenTelemetry client spans of the global provider carrying the
// caller's traceparent.
func Client(c *http.Client, timeout time.Duration) *http.Client {
	if c != nil {
		return c
	}
	return &http.Client{Timeout: timeout, Transport: otelhttp.NewTransport(http.DefaultTransport)}
}
