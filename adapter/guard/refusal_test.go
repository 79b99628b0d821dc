package guard_test

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/adapter/guard"
	"github.com/gatehouse-auth/gatehouse/internal/testkit"
)

// TestRequireLogsWhyItRefused: RequireScope and RequireACR log their
// refusals at debug through New's logger, as New logs its own, with a
// reason that names what was needed and what the token had.
func TestRequireLogsWhyItRefused(t *testing.T) {
	t.Parallel()
	logs := &testkit.LogBuffer{}
	url, _ := guardApp(t, false, guard.Config{
		Verifier: guardVerifierFixture(),
		Log:      slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	for _, tc := range []struct {
		path, auth string
		status     int
		reason     []string
	}{
		{"/reports", "Bearer client", http.StatusForbidden, []string{`token scope "other"`, "reports:read"}},
		{"/both", "Bearer good", http.StatusForbidden, []string{`token scope "reports:read"`, "reports:write"}},
		{"/step-up", "Bearer pwd", http.StatusUnauthorized, []string{`token acr "aal1"`, "aal2"}},
		{"/step-up", "Bearer good", http.StatusUnauthorized, []string{`token acr ""`, "aal2"}},
	} {
		before := len(logs.String())
		if r := guardDo(t, url+tc.path, http.MethodGet, tc.auth); r.status != tc.status {
			t.Fatalf("GET %s with %q = %d; want %d", tc.path, tc.auth, r.status, tc.status)
		}
		var line struct {
			Level, Msg, Reason, Route string
			Status                    int
		}
		if err := json.Unmarshal([]byte(logs.String()[before:]), &line); err != nil {
			t.Fatalf("refusal of %s: log %q: %v", tc.path, logs.String()[before:], err)
		}
		if line.Level != "DEBUG" || line.Msg != "guard refused a request" || line.Status != tc.status || line.Route != tc.path {
			t.Errorf("refusal of %s logged %+v; want DEBUG guard refused a request, %d, route %s", tc.path, line, tc.status, tc.path)
		}
		for _, want := range tc.reason {
			if !strings.Contains(line.Reason, want) {
				t.Errorf("refusal of %s: reason %q; want it to name %s", tc.path, line.Reason, want)
			}
		}
	}
}
