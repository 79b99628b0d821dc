package testkit

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
)

// Request is one request a Receiver got, and how it was answered.
type Request struct {
	Method, Path string
	Header       http.Header
	Body         []byte
	Status       int
}

// Receiver is an HTTP server that keeps every request it gets (a webhook
// destination, an OTLP collector). It answers each one with the status
// Status holds at that moment and the body given to NewReceiver. It is safe
// for concurrent use.
type Receiver struct {
	// URL is the server's base URL, http://127.0.0.1:port.
	URL string
	// Status is the status of the answers to come; a test may change it
	// (a destination that recovers).
	Status atomic.Int32

	answer []byte
	mu     sync.Mutex
	got    []Request
}

// NewReceiver starts a Receiver answering status with answer (nil: no
// body). It is closed when tb's test ends.
func NewReceiver(tb testing.TB, status int, answer []byte) *Receiver {
	tb.Helper()
	r := &Receiver{answer: answer}
	r.Status.Store(int32(status))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		code := int(r.Status.Load())
		r.mu.Lock()
		r.got = append(r.got, Request{Method: req.Method, Path: req.URL.Path, Header: req.Header.Clone(), Body: body, Status: code})
		r.mu.Unlock()
		w.WriteHeader(code)
		w.Write(r.answer)
	}))
	tb.Cleanup(srv.Close)
	r.URL = srv.URL
	return r
}

// Requests returns a copy of the requests got so far, oldest first.
func (r *Receiver) Requests() []Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Request(nil), r.got...)
}
