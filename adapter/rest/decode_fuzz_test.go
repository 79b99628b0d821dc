package rest

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/gatehouse-auth/gatehouse/adapter/internal/problem"
)

// decodeSeeds are request bodies and content types every decoding fuzz
// target starts from: valid JSON and forms, and the classic malformations.
var decodeSeeds = []struct {
	contentType string
	body        string
}{
	{"application/json", `{"username":"alice","password":"correct horse battery"}`},
	{"application/json; charset=utf-8", `{"username":"alice","password":"pw","roles":["admin"]}`},
	{"application/json", `{"grant_type":"password","username":"alice","password":"pw","scope":"read write"}`},
	{"application/json", `{"grant_type":"refresh_token","refresh_token":"abc"}`},
	{"application/json", `{"username":1,"password":true}`},
	{"application/json", `{"username":"a","password":"b"} trailing`},
	{"application/json", `{"username":"a","username":"b","password":"c"}`},
	{"application/json", `[1,2,3]`},
	{"application/json", `{"roles":{"a":1}}`},
	{"application/json", `"\ud800"`},
	{"application/json", `{`},
	{"application/json", ``},
	{"application/json", `null`},
	{"application/json", `{"username":"` + strings.Repeat("a", 70<<10) + `"}`},
	{"application/x-www-form-urlencoded", "username=alice&password=correct+horse+battery"},
	{"application/x-www-form-urlencoded", "grant_type=client_credentials&client_id=x&client_secret=y&scope=a+b"},
	{"application/x-www-form-urlencoded", "username=%zz&password=%"},
	{"application/x-www-form-urlencoded", "username=a;password=b"},
	{"application/x-www-form-urlencoded", "username=a&username=b&password=c"},
	{"application/x-www-form-urlencoded; charset=utf-8", "password=" + strings.Repeat("x", 70<<10)},
	{"multipart/form-data; boundary=X", "--X\r\nContent-Disposition: form-data; name=\"username\"\r\n\r\nalice\r\n--X--\r\n"},
	{"multipart/form-data", "garbage"},
	{"text/plain", "username=alice&password=pw"},
	{"", `{"username":"alice","password":"pw"}`},
	{"application/json; charset=\"", `{}`},
}

// runDecoder sends body with contentType through the production body limit
// into decode, the way Echo runs a handler, and returns decode's error.
func runDecoder(contentType string, body []byte, decode func(echo.Context) error) error {
	e := echo.New()
	req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
	if contentType != "" {
		req.Header.Set(echo.HeaderContentType, contentType)
	}
	c := e.NewContext(req, httptest.NewRecorder())
	h := middleware.BodyLimitWithConfig(middleware.BodyLimitConfig{Limit: maxBody})(decode)
	return h(c)
}

// checkDecodeError fails unless err is one of the two kinds of error the
// decoders may return and maps to a client-error status.
func checkDecodeError(t *testing.T, err error) {
	t.Helper()
	var re *problem.RequestError
	var he *echo.HTTPError
	if !errors.As(err, &re) && !errors.As(err, &he) {
		t.Fatalf("decode error %T %v is neither *problem.RequestError nor *echo.HTTPError", err, err)
	}
	if p := problem.Classify(err); p.Status < 400 || p.Status >= 500 {
		t.Fatalf("decode error %v maps to %d %s; want a 4xx", err, p.Status, p.Code)
	}
	if p := problem.Classify(problem.OAuth(err)); p.Status >= 500 {
		t.Fatalf("decode error %v maps to %d at an OAuth endpoint; want a 4xx", err, p.Status)
	}
}

func FuzzDecodeCredentials(f *testing.F) {
	for _, s := range decodeSeeds {
		f.Add(s.contentType, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		var got credentials
		err := runDecoder(contentType, body, func(c echo.Context) error {
			var err error
			got, err = decodeCredentials(c)
			return err
		})
		if err != nil {
			checkDecodeError(t, err)
			return
		}
		if strings.TrimSpace(got.Username) == "" || got.Password == "" {
			t.Fatalf("decodeCredentials accepted %+v without a username or password", got)
		}
		if len(body) > 64<<10 {
			t.Fatalf("decodeCredentials accepted a %d-byte body over the 64 KiB limit", len(body))
		}
	})
}

func FuzzReadOAuthParams(f *testing.F) {
	for _, s := range decodeSeeds {
		f.Add(s.contentType, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		var got oauthParams
		err := runDecoder(contentType, body, func(c echo.Context) error {
			var err error
			got, err = readOAuthParams(c)
			return err
		})
		if err != nil {
			checkDecodeError(t, err)
			return
		}
		// An empty value may be present (JSON "") or left out (forms); the
		// handlers treat both as absent.
		for k := range got {
			if !slices.Contains(oauthFields, k) {
				t.Fatalf("readOAuthParams returned unknown parameter %q", k)
			}
		}
		if len(body) > 64<<10 {
			t.Fatalf("readOAuthParams accepted a %d-byte body over the 64 KiB limit", len(body))
		}
	})
}

// TestDecodeSeeds pins the answers for the seed inputs, so the fuzz
// targets' assumptions are checked on every plain test run too.
func TestDecodeSeeds(t *testing.T) {
	tests := []struct {
		name        string
		contentType string
		body        string
		wantStatus  int // 0: accepted
	}{
		{"json", "application/json", `{"username":"alice","password":"pw"}`, 0},
		{"form", "application/x-www-form-urlencoded", "username=alice&password=pw", 0},
		{"json with charset", "application/json; charset=utf-8", `{"username":"alice","password":"pw"}`, 0},
		{"no content type is JSON", "", `{"username":"alice","password":"pw"}`, 0},
		{"wrong types", "application/json", `{"username":1,"password":true}`, 400},
		{"trailing data", "application/json", `{"username":"a","password":"b"} x`, 400},
		{"not an object", "application/json", `[1]`, 400},
		{"empty", "application/json", ``, 400},
		{"bad json", "application/json", `{`, 400},
		{"bad form escape", "application/x-www-form-urlencoded", "username=%zz&password=x", 400},
		{"blank username", "application/json", `{"username":"  ","password":"pw"}`, 400},
		{"over 64 KiB json", "application/json", `{"username":"` + strings.Repeat("a", 70<<10) + `","password":"pw"}`, 413},
		{"over 64 KiB form", "application/x-www-form-urlencoded", "username=a&password=" + strings.Repeat("x", 70<<10), 413},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := runDecoder(tt.contentType, []byte(tt.body), func(c echo.Context) error {
				_, err := decodeCredentials(c)
				return err
			})
			if tt.wantStatus == 0 {
				if err != nil {
					t.Fatalf("decodeCredentials = %v; want success", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("decodeCredentials accepted the body; want %d", tt.wantStatus)
			}
			checkDecodeError(t, err)
			if got := problem.Classify(err).Status; got != tt.wantStatus {
				t.Fatalf("decodeCredentials error %v maps to %d; want %d", err, got, tt.wantStatus)
			}
		})
	}
}
