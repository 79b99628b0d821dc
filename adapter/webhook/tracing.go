package webhook

import (
	"context"
	"net/http"
	"net/url"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// traced wraps the sender's transport in an otelhttp client span per
// attempt ("webhook POST"), which also sends the W3C traceparent of the
// delivery's context. The dialer's destination check and the client's
// no-redirect policy are untouched: they live in transport and the client.
//
// Webhook URLs often carry a secret in the path or query (many receivers
// take one there), and otelhttp records the request's whole URL as url.full.
// So otelhttp sees the URL cut down to scheme and host, and the real URL is
// put back below it before the request is sent.
func traced(transport http.RoundTripper, tp trace.TracerProvider) http.RoundTripper {
	return hideURL{next: otelhttp.NewTransport(restoreURL{next: transport},
		otelhttp.WithTracerProvider(tp),
		otelhttp.WithPropagators(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})),
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string { return "webhook " + r.Method }),
	)}
}

type realURLKey struct{}

// hideURL hands the next transport the request with its URL reduced to
// scheme and host, keeping the real one in the context.
type hideURL struct{ next http.RoundTripper }

func (h hideURL) RoundTrip(r *http.Request) (*http.Response, error) {
	shown := &url.URL{Scheme: r.URL.Scheme, Host: r.URL.Host}
	hidden := r.WithContext(context.WithValue(r.Context(), realURLKey{}, r.URL))
	hidden.URL = shown
	resp, err := h.next.RoundTrip(hidden)
	if resp != nil {
		resp.Request = r
	}
	return resp, err
}

// restoreURL puts the real URL back before the request goes out.
type restoreURL struct{ next http.RoundTripper }

func (h restoreURL) RoundTrip(r *http.Request) (*http.Response, error) {
	if u, ok := r.Context().Value(realURLKey{}).(*url.URL); ok {
		r = r.Clone(r.Context())
		r.URL = u
	}
	return h.next.RoundTrip(r)
}
