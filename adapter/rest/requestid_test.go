package rest

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/testkit"
)

func TestRequestIDsAreUniqueAcrossGoroutinesAndProcesses(t *testing.T) {
	t.Parallel()
	g := newRequestIDs()
	const workers, each = 8, 500
	ids := make(chan string, workers*each)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range each {
				ids <- g.next()
			}
		})
	}
	wg.Wait()
	close(ids)
	seen := make(map[string]bool, workers*each)
	for id := range ids {
		if seen[id] {
			t.Fatalf("request id %q handed out twice", id)
		}
		seen[id] = true
	}
	if len(seen) != workers*each {
		t.Fatalf("got %d ids, want %d", len(seen), workers*each)
	}

	// A second generator stands for another process or replica: its ids
	// must not collide with the first one's.
	other := newRequestIDs().next()
	if seen[other] || strings.SplitN(other, "-", 2)[0] == strings.SplitN(g.next(), "-", 2)[0] {
		t.Errorf("two generators share a prefix: %q", other)
	}
}

// TestIncomingRequestID: a caller's X-Request-ID is echoed and logged only
// when it is 1-64 characters of A-Za-z0-9._-; anything else is replaced by
// a generated id, in the response header and in the access log line.
func TestIncomingRequestID(t *testing.T) {
	t.Parallel()
	generated := regexp.MustCompile(`^[0-9a-f]{16}-[0-9a-f]{16}$`)
	valid64 := strings.Repeat("aZ9._-", 10) + "abcd"
	tests := []struct {
		name string
		sent string // "" sends no header
		kept bool
	}{
		{"absent", "", false},
		{"15000 characters", strings.Repeat("a", 15000), false},
		{"65 characters", valid64 + "e", false},
		{"space", "abc def", false},
		{"markup", "<script>", false},
		{"quotes", `"abc"`, false},
		{"tab", "abc\tdef", false},
		{"non-ASCII", "abcé", false},
		{"slash", "a/b", false},
		{"64 characters", valid64, true},
		{"one character", "x", true},
		{"uuid", "123e4567-e89b-12d3-a456-426614174000", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sink := &testkit.LogBuffer{}
			srv := httptest.NewServer(New(Deps{}, Options{}, slog.New(slog.NewJSONHandler(sink, nil))))
			defer srv.Close()
			req, err := http.NewRequest(http.MethodGet, srv.URL+"/healthz", nil)
			if err != nil {
				t.Fatal(err)
			}
			if tt.sent != "" {
				req.Header.Set("X-Request-ID", tt.sent)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			got := resp.Header.Values("X-Request-Id")
			if len(got) != 1 {
				t.Fatalf("X-Request-Id response headers = %q; want exactly one", got)
			}
			switch {
			case tt.kept && got[0] != tt.sent:
				t.Errorf("sent X-Request-ID %q, got back %q; want it echoed", tt.sent, got[0])
			case !tt.kept && (got[0] == tt.sent || !generated.MatchString(got[0])):
				t.Errorf("sent X-Request-ID %.80q, got back %.80q; want a generated id", tt.sent, got[0])
			}
			lines := sink.JSONLines(t)
			if len(lines) != 1 || lines[0]["request_id"] != got[0] {
				t.Errorf("access log = %.300v; want one line with request_id %q", lines, got[0])
			}
		})
	}
}
