// Package mfa holds the second factor's codes: RFC 6238 TOTP secrets and
// codes for the MFA use case. It sits apart from adapter/token so that
// services importing the JWKS verifier do not get an OTP library.
package mfa

import (
	"errors"
	"fmt"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/gatehouse-auth/gatehouse/domain"
)

// totpSecretBytes is the size of a new TOTP secret: 160 bits, the length
// of SHA-1's output that RFC 4226 recommends.
const totpSecretBytes = 20

// TOTP makes RFC 6238 secrets and codes with github.com/pquerna/otp:
// SHA-1, domain.TOTPDigits digits, domain.TOTPPeriod steps. It implements
// usecase.TOTPCodes. The zero value is ready to use.
type TOTP struct{}

// NewTOTP returns a TOTP.
func NewTOTP() *TOTP { return &TOTP{} }

// NewSecret returns a new random secret (base32, unpadded) and its
// otpauth://totp/<issuer>:<account> URL for authenticator apps.
func (*TOTP) NewSecret(issuer, account string) (secret, url string, err error) {
	key, err := totp.Generate(totp.GenerateOpts{
		Issuer:      issuer,
		AccountName: account,
		Period:      uint(domain.TOTPPeriod / time.Second),
		SecretSize:  totpSecretBytes,
		Digits:      otp.DigitsSix,
		Algorithm:   otp.AlgorithmSHA1,
	})
	if err != nil {
		return "", "", fmt.Errorf("generate totp secret: %w", err)
	}
	return key.Secret(), key.URL(), nil
}

// errTOTPSecret is why a code cannot be computed: the secret is not
// base32. A fixed string: the secret never reaches an error.
var errTOTPSecret = errors.New("totp secret is not valid base32")

// Code returns the code of secret for the time step that holds t.
func (*TOTP) Code(secret string, t time.Time) (string, error) {
	code, err := totp.GenerateCodeCustom(secret, t, totp.ValidateOpts{
		Period:    uint(domain.TOTPPeriod / time.Second),
		Digits:    otp.DigitsSix,
		Algorithm: otp.AlgorithmSHA1,
	})
	if err != nil {
		return "", errTOTPSecret
	}
	return code, nil
}
