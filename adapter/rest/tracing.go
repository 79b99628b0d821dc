package rest

import (
	"context"
	"net/http"
	"net/url"

	"github.com/labstack/echo/v4"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// traced is what the tracing middleware hands through otelhttp's handler
// to the rest of the Echo chain.
type traced struct {
	c          echo.Context
	url        *url.URL
	requestURI string
	next       echo.HandlerFunc
	err        error
}

type tracedKey struct{}

// tracing returns the middleware that opens a server span per request with
// otelhttp (W3C traceparent and baggage from the caller, the standard HTTP
// server attributes, the status code) and names it by the Echo route
// template, "GET /me/sessions/:id", never by the raw path. Echo has routed
// the request before its middleware runs, so the template is known here.
//
// otelhttp sees the request without its query string (tokens may travel
// there) and no header or body is recorded; the handlers get the request
// as it came. It runs inside the request id middleware and outside the
// access log, which then finds the span in the request context.
func tracing(tp trace.TracerProvider) echo.MiddlewareFunc {
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t := r.Context().Value(tracedKey{}).(*traced)
		// r is otelhttp's copy of the request, carrying the span.
		r.URL, r.RequestURI = t.url, t.requestURI
		c := t.c
		route := c.Path()
		span := trace.SpanFromContext(r.Context())
		span.SetName(r.Method + " " + route)
		span.SetAttributes(attribute.String("http.route", route))
		rw := c.Response().Writer
		c.SetRequest(r)
		c.Response().Writer = w // otelhttp's writer, which sees the status
		t.err = t.next(c)
		if t.err != nil {
			c.Error(t.err) // answered inside the span, so it records the status
			t.err = nil
		}
		c.Response().Writer = rw
	})
	h := otelhttp.NewHandler(inner, "http.server",
		otelhttp.WithTracerProvider(tp),
		otelhttp.WithPropagators(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})),
	)
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			shown := *req.URL
			shown.RawQuery, shown.ForceQuery, shown.Fragment, shown.RawFragment, shown.User = "", false, "", "", nil
			t := &traced{c: c, url: req.URL, requestURI: req.RequestURI, next: next}
			r := req.WithContext(context.WithValue(req.Context(), tracedKey{}, t))
			r.URL = &shown
			r.RequestURI = shown.RequestURI()
			h.ServeHTTP(c.Response().Writer, r) // the writer under echo.Response, which inner puts back
			return t.err
		}
	}
}
