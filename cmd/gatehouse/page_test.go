package main

import (
	"net/http"
	"testing"
)

// TestPageLimits: both paged lists follow one rule (usecase): no limit is
// the default page, a limit up to the list's maximum is served, and a bad
// or huge one is 400 invalid_request, never a 500 and never silently
// changed.
func TestPageLimits(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, nil)
	admin := bearerHeader(e.adminToken())
	tests := []struct {
		path   string
		status int
	}{
		{"/admin/users", 200},
		{"/admin/users?limit=1", 200},
		{"/admin/users?limit=500", 200},
		{"/admin/users?limit=501", 400},
		{"/admin/users?limit=0", 400},
		{"/admin/users?limit=-1", 400},
		{"/admin/users?limit=ten", 400},
		{"/admin/users?limit=99999999999999999999", 400},
		{"/oauth/revocations", 200},
		{"/oauth/revocations?limit=1", 200},
		{"/oauth/revocations?limit=1000", 200},
		{"/oauth/revocations?limit=1001", 400},
		{"/oauth/revocations?limit=0", 400},
		{"/oauth/revocations?limit=-1", 400},
		{"/oauth/revocations?limit=ten", 400},
		{"/oauth/revocations?limit=99999999999999999999", 400},
	}
	for _, tt := range tests {
		r := e.do(http.MethodGet, tt.path, nil, admin)
		if r.status != tt.status {
			t.Errorf("GET %s = %d %s; want %d", tt.path, r.status, r.body, tt.status)
			continue
		}
		if tt.status == 400 && r.json(t)["error"] != "invalid_request" {
			t.Errorf("GET %s = %s; want error invalid_request", tt.path, r.body)
		}
	}
}
