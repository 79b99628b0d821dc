package rest

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/gatehouse-auth/gatehouse/domain"
	"github.com/gatehouse-auth/gatehouse/usecase"
)

// errStore is an outage below a use case.
var errStore = errors.New("store: connection refused")

// oauthFakes are hand-written use cases for the OAuth endpoints: the
// client "rs"/"pw" authenticates, the admin token "admin" verifies, the
// user token "user" verifies but is not an admin, and every other call
// fails with errStore.
type oauthFakes struct{}

func (oauthFakes) Authenticate(_ context.Context, id, secret string) (*domain.Client, error) {
	if id == "rs" && secret == "pw" {
		return &domain.Client{ID: "rs"}, nil
	}
	return nil, domain.ErrInvalidClient
}

func (oauthFakes) Create(context.Context, string, []string) (*domain.Client, string, error) {
	return nil, "", errStore
}
func (oauthFakes) List(context.Context) ([]domain.Client, error) { return nil, errStore }
func (oauthFakes) Delete(context.Context, string) error          { return errStore }
func (oauthFakes) Grant(context.Context, string, string, []string) (*usecase.TokenPair, error) {
	return nil, errStore
}

func (oauthFakes) Verify(_ context.Context, token string) (*domain.Claims, error) {
	switch token {
	case "admin":
		return &domain.Claims{Subject: "a", Roles: []string{domain.RoleAdmin}}, nil
	case "user":
		return &domain.Claims{Subject: "u"}, nil
	}
	return nil, domain.ErrTokenInvalid
}

func (oauthFakes) Authorize(_ context.Context, c *domain.Claims, role string) error {
	if !c.HasRole(role) {
		return domain.ErrForbidden
	}
	return nil
}
func (oauthFakes) Me(context.Context, *domain.Claims) (*domain.User, error) { return nil, errStore }
func (oauthFakes) ChangePassword(context.Context, *domain.Claims, string, string, string) error {
	return errStore
}

// Admit stands in for usecase.Introspect's admission: an admin token or
// the client rs.
func (f oauthFakes) Admit(ctx context.Context, c usecase.Caller) error {
	if c.Bearer == "" {
		_, err := f.Authenticate(ctx, c.ClientID, c.ClientSecret)
		return err
	}
	cl, err := f.Verify(ctx, c.Bearer)
	if err != nil {
		return err
	}
	return f.Authorize(ctx, cl, domain.RoleAdmin)
}

func (f oauthFakes) Introspect(ctx context.Context, c usecase.Caller, _ string) (*usecase.Introspection, error) {
	if err := f.Admit(ctx, c); err != nil {
		return nil, err
	}
	return nil, errStore
}

func (oauthFakes) Logout(context.Context, *domain.Claims, usecase.LogoutScope) error { return errStore }
func (oauthFakes) UserSessions(context.Context, string, string) error                { return errStore }
func (oauthFakes) Token(context.Context, string, string) error                       { return errStore }

// Feed refuses a bad limit as the use case does (the handler passes it on
// unjudged) and fails otherwise.
func (oauthFakes) Feed(_ context.Context, _ int64, limit int) ([]domain.Revocation, error) {
	if limit < 0 {
		return nil, &domain.ValidationError{Code: domain.CodeInvalidRequest, Message: "limit must be between 1 and 1000"}
	}
	return nil, errStore
}

// TestOAuthRoutesAnswerInOAuthShape: every error of the /oauth group, from
// any return of its handlers, carries error_description (RFC 6749 5.2),
// including the ones that used to miss it (the revoke and introspect use
// cases, the admin-token path of introspection, the revocation feed).
func TestOAuthRoutesAnswerInOAuthShape(t *testing.T) {
	t.Parallel()
	f := oauthFakes{}
	e := New(Deps{Verify: f, Clients: f, Account: f, Introspect: f, Revoke: f, Feed: f}, Options{},
		slog.New(slog.DiscardHandler))
	form := func(v url.Values) string { return v.Encode() }
	tests := []struct {
		name, method, target, auth, body string
		status                           int
		code                             string
	}{
		{"revoke: use case fails", "POST", "/oauth/revoke", "", form(url.Values{"token": {"t"}}), 500, "server_error"},
		{"revoke: no token", "POST", "/oauth/revoke", "", "", 400, "invalid_request"},
		{"introspect: bad admin token", "POST", "/oauth/introspect", "Bearer nope", form(url.Values{"token": {"t"}}), 401, "invalid_token"},
		{"introspect: not an admin", "POST", "/oauth/introspect", "Bearer user", form(url.Values{"token": {"t"}}), 403, "forbidden"},
		{"introspect: use case fails", "POST", "/oauth/introspect", "Bearer admin", form(url.Values{"token": {"t"}}), 500, "server_error"},
		{"introspect: bad client", "POST", "/oauth/introspect", "", form(url.Values{"token": {"t"}, "client_id": {"rs"}, "client_secret": {"x"}}), 401, "invalid_client"},
		{"revocations: bad since", "GET", "/oauth/revocations?since=x", "Bearer admin", "", 400, "invalid_request"},
		{"revocations: bad limit", "GET", "/oauth/revocations?limit=-1", "Bearer admin", "", 400, "invalid_request"},
		{"revocations: feed fails", "GET", "/oauth/revocations", "Bearer admin", "", 500, "server_error"},
		{"token: unknown grant", "POST", "/oauth/token", "", form(url.Values{"grant_type": {"magic"}}), 400, "unsupported_grant_type"},
		{"token: client grant fails", "POST", "/oauth/token", "", form(url.Values{"grant_type": {"client_credentials"}}), 500, "server_error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := httptest.NewRequest(tt.method, tt.target, strings.NewReader(tt.body))
			req.Header.Set(echo.HeaderContentType, echo.MIMEApplicationForm)
			if tt.auth != "" {
				req.Header.Set(echo.HeaderAuthorization, tt.auth)
			}
			rec := httptest.NewRecorder()
			e.ServeHTTP(rec, req)
			var body map[string]string
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatalf("%s %s: body %q: %v", tt.method, tt.target, rec.Body, err)
			}
			if rec.Code != tt.status || body["error"] != tt.code || body["error_description"] == "" ||
				body["error_description"] != body["message"] {
				t.Errorf("%s %s = %d %v; want %d %s with error_description", tt.method, tt.target, rec.Code, body, tt.status, tt.code)
			}
			if strings.Contains(rec.Body.String(), errStore.Error()) {
				t.Errorf("%s %s leaks the internal error: %s", tt.method, tt.target, rec.Body)
			}
		})
	}
}

// TestOtherRoutesHaveNoOAuthShape: error_description stays on the OAuth
// group.
func TestOtherRoutesHaveNoOAuthShape(t *testing.T) {
	t.Parallel()
	e := New(Deps{Verify: oauthFakes{}}, Options{}, slog.New(slog.DiscardHandler))
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/protected_resource", nil))
	if rec.Code != http.StatusUnauthorized || strings.Contains(rec.Body.String(), "error_description") {
		t.Errorf("GET /protected_resource = %d %s; want 401 without error_description", rec.Code, rec.Body)
	}
}

// TestHandlersFailClosedWithoutClaims: a handler that acts for the caller,
// registered by mistake without requireToken, answers 500 and does not
// call its use case with empty claims (logout used to answer 204).
func TestHandlersFailClosedWithoutClaims(t *testing.T) {
	t.Parallel()
	calls := 0
	revoke := countingRevoke{calls: &calls}
	s := &Server{d: Deps{Revoke: revoke, Account: oauthFakes{}}, log: slog.New(slog.DiscardHandler)}
	e := echo.New()
	e.HTTPErrorHandler = s.handleError
	e.POST("/logout", s.logout)
	e.GET("/me", s.me)
	e.POST("/me/password", s.changePassword)
	e.GET("/protected_resource", s.protectedResource)
	e.GET("/admin", s.healthz, requireRole(oauthFakes{}, domain.RoleAdmin))
	for _, r := range []struct{ method, path, body string }{
		{"POST", "/logout", ""},
		{"GET", "/me", ""},
		{"POST", "/me/password", `{"current_password":"a","new_password":"b"}`},
		{"GET", "/protected_resource", ""},
		{"GET", "/admin", ""},
	} {
		req := httptest.NewRequest(r.method, r.path, strings.NewReader(r.body))
		req.Header.Set(echo.HeaderContentType, echo.MIMEApplicationJSON)
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		if rec.Code != http.StatusInternalServerError {
			t.Errorf("%s %s without auth = %d %s; want 500", r.method, r.path, rec.Code, rec.Body)
		}
	}
	if calls != 0 {
		t.Errorf("Logout called %d times without claims; want 0", calls)
	}
}

// countingRevoke counts Logout calls and succeeds.
type countingRevoke struct {
	oauthFakes
	calls *int
}

func (r countingRevoke) Logout(context.Context, *domain.Claims, usecase.LogoutScope) error {
	*r.calls++
	return nil
}
