package rest

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
)

// isForm reports whether the request body is form-encoded.
func isForm(c echo.Context) bool {
	mt, _, err := mime.ParseMediaType(c.Request().Header.Get(echo.HeaderContentType))
	return err == nil && mt == echo.MIMEApplicationForm
}

// isMultipart reports a multipart body, which no endpoint accepts (415
// rather than a confusing "field missing").
func isMultipart(c echo.Context) bool {
	mt, _, err := mime.ParseMediaType(c.Request().Header.Get(echo.HeaderContentType))
	return err == nil && strings.HasPrefix(mt, "multipart/")
}

// decodeJSON reads the body into dst. Malformed JSON, wrong field types and
// trailing data are 400; a body over the limit is 413.
func decodeJSON(c echo.Context, dst any) error {
	if isMultipart(c) {
		return echo.ErrUnsupportedMediaType
	}
	dec := json.NewDecoder(c.Request().Body)
	if err := dec.Decode(dst); err != nil {
		var he *echo.HTTPError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &he):
			return he
		case errors.Is(err, io.EOF):
			return badRequest("request body is empty")
		case errors.As(err, &te):
			return badRequest("field " + te.Field + " has the wrong type")
		}
		return badRequest("request body is not valid JSON")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		var he *echo.HTTPError
		if errors.As(err, &he) {
			return he
		}
		return badRequest("request body has trailing data")
	}
	return nil
}

// formValue reads one form field; a malformed or oversized form is an error.
func formValue(c echo.Context, name string) (string, error) {
	if err := c.Request().ParseForm(); err != nil {
		var he *echo.HTTPError
		if errors.As(err, &he) {
			return "", he
		}
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return "", echo.ErrStatusRequestEntityTooLarge
		}
		return "", badRequest("request body is not a valid form")
	}
	return c.Request().PostForm.Get(name), nil
}

// credentials is the body of /get_token, POST /users and the admin create.
type credentials struct {
	Username string   `json:"username"`
	Password string   `json:"password"`
	Roles    []string `json:"roles"`
	// OTP is a TOTP code sent with the password (POST /get_token), for
	// a user with MFA to log in with one request.
	OTP string `json:"otp"`
}

// decodeCredentials reads username and password from JSON or a form; both
// are required.
func decodeCredentials(c echo.Context) (credentials, error) {
	var in credentials
	if isForm(c) {
		var err error
		if in.Username, err = formValue(c, "username"); err != nil {
			return in, err
		}
		if in.Password, err = formValue(c, "password"); err != nil {
			return in, err
		}
		if in.OTP, err = formValue(c, "otp"); err != nil {
			return in, err
		}
	} else if err := decodeJSON(c, &in); err != nil {
		return in, err
	}
	if strings.TrimSpace(in.Username) == "" || in.Password == "" {
		return in, badRequest("username and password are required")
	}
	return in, nil
}
