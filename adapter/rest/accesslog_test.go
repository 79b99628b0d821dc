package rest

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/domain"
	"github.com/gatehouse-auth/gatehouse/internal/testkit"
)

// TestAccessLogLine: one JSON line per request, carrying the id the client
// got in X-Request-Id, the route pattern, status, latency and client
// address, and reporting the same request to Observe.
func TestAccessLogLine(t *testing.T) {
	t.Parallel()
	sink := &testkit.LogBuffer{}
	v := &staticVerifier{token: "t0k3n", claims: domain.Claims{Subject: "u1", Username: "alice", ExpiresAt: time.Now().Add(time.Hour)}}
	type seen struct {
		route  string
		status int
	}
	var mu sync.Mutex
	var observed []seen
	opts := Options{Observe: func(route string, status int, _ time.Duration) {
		mu.Lock()
		defer mu.Unlock()
		observed = append(observed, seen{route, status})
	}}
	srv := httptest.NewServer(New(Deps{Verify: v}, opts, slog.New(slog.NewJSONHandler(sink, nil))))
	defer srv.Close()

	var ids []string
	for _, auth := range []string{"Bearer t0k3n", "Bearer wrong"} {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/protected_resource", nil)
		req.Header.Set("Authorization", auth)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		ids = append(ids, resp.Header.Get("X-Request-Id"))
	}
	if ids[0] == "" || ids[0] == ids[1] {
		t.Fatalf("X-Request-Id headers %q; want two distinct ids", ids)
	}

	lines := sink.JSONLines(t)
	if len(lines) != 2 {
		t.Fatalf("got %d log lines, want one per request: %v", len(lines), lines)
	}
	for i, want := range []struct {
		status float64
		level  string
	}{{200, "INFO"}, {401, "INFO"}} {
		l := lines[i]
		if l["msg"] != "request" || l["level"] != want.level || l["request_id"] != ids[i] || l["method"] != "GET" ||
			l["route"] != "/protected_resource" || l["status"] != want.status || l["remote_ip"] != "127.0.0.1" {
			t.Errorf("line %d = %v; want request %s GET /protected_resource %v from 127.0.0.1", i, l, ids[i], want.status)
		}
		if lat, ok := l["latency"].(float64); !ok || lat <= 0 {
			t.Errorf("line %d latency = %v; want a positive duration", i, l["latency"])
		}
		if _, ok := l["time"]; !ok {
			t.Errorf("line %d has no time", i)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(observed) != 2 || observed[0] != (seen{"/protected_resource", 200}) || observed[1] != (seen{"/protected_resource", 401}) {
		t.Errorf("Observe saw %v; want the 200 and the 401 of /protected_resource", observed)
	}
}
