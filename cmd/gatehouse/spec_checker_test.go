package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/gatehouse-auth/gatehouse/api"
)

// loadSpec parses and validates api/openapi.yaml.
func loadSpec(t testing.TB) *openapi3.T {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(api.Spec())
	if err != nil {
		t.Fatalf("load api/openapi.yaml: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("api/openapi.yaml is not valid OpenAPI: %v", err)
	}
	return doc
}

// specChecker is an http.RoundTripper that validates every response it
// carries against api/openapi.yaml: the status must be documented for the
// operation, and the body and documented headers must match. Requests are
// not validated, because tests send malformed ones on purpose. Responses to
// paths or methods the document does not know must be a documented-shape
// error (ErrorBody) with 401, 403, 404 or 405.
type specChecker struct {
	base   http.RoundTripper
	doc    *openapi3.T
	router routers.Router
	report func(format string, args ...any)
}

// newSpecChecker wraps base; failures go to report (t.Errorf in tests).
func newSpecChecker(t testing.TB, base http.RoundTripper, report func(string, ...any)) *specChecker {
	t.Helper()
	doc := loadSpec(t)
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatalf("openapi router: %v", err)
	}
	return &specChecker{base: base, doc: doc, router: router, report: report}
}

// RoundTrip sends req, then checks the response it got back.
func (c *specChecker) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := c.base.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("read response body: %w", err)
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if err := c.check(req, resp, body); err != nil {
		// Path only: query strings and bodies may hold secrets.
		c.report("%s %s answered %d, which api/openapi.yaml does not allow (request from %s): %v",
			req.Method, req.URL.Path, resp.StatusCode, testCaller(), err)
	}
	return resp, nil
}

// testCaller names the test line that made the request: the reported
// line is otherwise this file's, since net/http sits in between.
func testCaller() string {
	pcs := make([]uintptr, 64)
	frames := runtime.CallersFrames(pcs[:runtime.Callers(2, pcs)])
	for {
		f, more := frames.Next()
		base := filepath.Base(f.File)
		if strings.HasSuffix(base, "_test.go") && base != "openapi_test.go" && base != "helpers_test.go" {
			return fmt.Sprintf("%s:%d", base, f.Line)
		}
		if !more {
			return "unknown"
		}
	}
}

// CloseIdleConnections lets httptest.Server.Close reach the base transport.
func (c *specChecker) CloseIdleConnections() {
	type closeIdler interface{ CloseIdleConnections() }
	if ci, ok := c.base.(closeIdler); ok {
		ci.CloseIdleConnections()
	}
}

// schemaError names where a body broke the schema without echoing the
// value, which may be a token.
func schemaError(err *openapi3.SchemaError) string {
	return fmt.Sprintf("at /%s: %s", strings.Join(err.JSONPointer(), "/"), err.Reason)
}

func (c *specChecker) check(req *http.Request, resp *http.Response, body []byte) error {
	route, params, err := c.router.FindRoute(req)
	if errors.Is(err, routers.ErrPathNotFound) || errors.Is(err, routers.ErrMethodNotAllowed) {
		return c.checkUnrouted(resp, body)
	}
	if err != nil {
		return fmt.Errorf("find route: %w", err)
	}
	opts := &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true}
	opts.WithCustomSchemaErrorFunc(schemaError)
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
		Status:                 resp.StatusCode,
		Header:                 resp.Header,
		Body:                   io.NopCloser(bytes.NewReader(body)),
		Options:                opts,
	}
	if err := openapi3filter.ValidateResponse(req.Context(), in); err != nil {
		return err
	}
	// kin-openapi does not object to a body where none is documented.
	if doc := route.Operation.Responses.Status(resp.StatusCode); doc != nil && len(doc.Value.Content) == 0 && len(body) > 0 {
		return fmt.Errorf("documented without a body, but the response has %d bytes", len(body))
	}
	return nil
}

// checkUnrouted checks the answer to a path or method the document does
// not describe: Echo's 404/405, or the admin group's 401/403 (its
// middleware runs before routing), always with an ErrorBody.
func (c *specChecker) checkUnrouted(resp *http.Response, body []byte) error {
	switch resp.StatusCode {
	case http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound, http.StatusMethodNotAllowed:
	default:
		return fmt.Errorf("undocumented path or method must answer 401, 403, 404 or 405")
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		return fmt.Errorf("undocumented path or method: Content-Type %q; want application/json", ct)
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return fmt.Errorf("undocumented path or method: body is not JSON: %w", err)
	}
	return c.doc.Components.Schemas["ErrorBody"].Value.VisitJSON(v,
		openapi3.VisitAsResponse(), openapi3.SetSchemaErrorMessageCustomizer(schemaError))
}
