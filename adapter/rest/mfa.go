package rest

import (
	"context"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/gatehouse-auth/gatehouse/adapter/internal/problem"
	"github.com/gatehouse-auth/gatehouse/domain"
)

// codeBody is the body of the MFA routes that take a code.
type codeBody struct {
	Code string `json:"code"`
}

// claimsAndCode returns the caller's claims and the {"code"} of the body; a
// missing code is 400 invalid_request (a wrong one is the use case's 400
// invalid_code).
func claimsAndCode(c echo.Context) (*domain.Claims, string, error) {
	cl, err := claimsOf(c)
	if err != nil {
		return nil, "", err
	}
	var in codeBody
	if err := decodeJSON(c, &in); err != nil {
		return nil, "", err
	}
	if in.Code == "" {
		return nil, "", badRequest("code is required")
	}
	return cl, in.Code, nil
}

// recoveryCodesBody answers a confirmation or a new set of recovery codes
// (shown only here).
type recoveryCodesBody struct {
	RecoveryCodes []string `json:"recovery_codes"`
}

// enrollTOTP is POST /me/mfa/totp: a new pending secret and its otpauth URL.
func (s *Server) enrollTOTP(c echo.Context) error {
	cl, err := claimsOf(c)
	if err != nil {
		return err
	}
	e, err := s.d.MFA.Enroll(c.Request().Context(), cl)
	if err != nil {
		return err
	}
	return problem.JSON(c, http.StatusOK, struct {
		Secret string `json:"secret"`
		URL    string `json:"otpauth_url"`
	}{e.Secret, e.URL})
}

// confirmTOTP is POST /me/mfa/totp/confirm {"code"}: MFA on, the recovery
// codes, the user's other sessions ended.
func (s *Server) confirmTOTP(c echo.Context) error {
	return answerRecoveryCodes(c, s.d.MFA.Confirm)
}

// newRecoveryCodes is POST /me/mfa/recovery-codes {"code"}: a new set, the
// old one void.
func (s *Server) newRecoveryCodes(c echo.Context) error {
	return answerRecoveryCodes(c, s.d.MFA.RegenerateCodes)
}

// answerRecoveryCodes runs a {"code"} route whose answer is a set of
// recovery codes.
func answerRecoveryCodes(c echo.Context, run func(context.Context, *domain.Claims, string) ([]string, error)) error {
	cl, code, err := claimsAndCode(c)
	if err != nil {
		return err
	}
	codes, err := run(c.Request().Context(), cl, code)
	if err != nil {
		return err
	}
	return problem.JSON(c, http.StatusOK, recoveryCodesBody{codes})
}

// disableTOTP is DELETE /me/mfa/totp {"code"} (a TOTP or recovery code).
func (s *Server) disableTOTP(c echo.Context) error {
	cl, code, err := claimsAndCode(c)
	if err != nil {
		return err
	}
	if err := s.d.MFA.Disable(c.Request().Context(), cl, code); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// resetMFA is DELETE /admin/users/:id/mfa: a locked-out user's MFA off,
// every session of theirs ended.
func (s *Server) resetMFA(c echo.Context) error {
	if err := s.d.MFA.Reset(c.Request().Context(), c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
