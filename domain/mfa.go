package domain

import (
	"errors"
	"time"
)

// Multi-factor authentication (DESIGN.md "Multi-factor authentication").
const (
	// TOTPPeriod, TOTPDigits and TOTPSkew are RFC 6238's parameters here:
	// 30 s steps, 6 digits, one step of drift each way (SHA-1).
	TOTPPeriod = 30 * time.Second
	TOTPDigits = 6
	TOTPSkew   = 1
	// RecoveryCodeCount is how many recovery codes a user holds.
	RecoveryCodeCount = 10
	// MFATokenTTL is how long an mfa_token may complete a login.
	MFATokenTTL = 5 * time.Minute
	// MFATokenMaxFailures is how many wrong codes kill an mfa_token.
	MFATokenMaxFailures = 5
)

// Authentication methods (RFC 8176 amr values) and assurance levels (acr).
const (
	AMRPassword = "pwd"
	AMROTP      = "otp"
	ACRAAL1     = "aal1" // one factor
	ACRAAL2     = "aal2" // a second factor
)

// Errors of MFA.
var (
	// ErrInvalidCode means a TOTP or recovery code is wrong, malformed or
	// already used.
	ErrInvalidCode = errors.New("invalid code")
	// ErrMFAAlreadyEnabled means the user has MFA on already.
	ErrMFAAlreadyEnabled = errors.New("mfa already enabled")
	// ErrMFANotEnabled means the user has no MFA (or no pending
	// enrolment to confirm).
	ErrMFANotEnabled = errors.New("mfa not enabled")
	// ErrInsufficientAuthentication means the token's acr is below what
	// the route requires (RFC 9470 step-up).
	ErrInsufficientAuthentication = errors.New("insufficient user authentication")
)

// MFARequiredError answers a correct password of a user with MFA: the
// login continues with Token (the mfa_token) and a code.
type MFARequiredError struct {
	Token string
}

func (e *MFARequiredError) Error() string { return "mfa required" }

// TOTP is a user's TOTP factor: pending until confirmed.
type TOTP struct {
	UserID string
	// Secret is the shared secret as the store keeps it: sealed with the
	// key-encryption key when one is configured.
	Secret      []byte
	CreatedAt   time.Time
	ConfirmedAt time.Time // zero while pending
	// LastStep is the last time step (Unix time / TOTPPeriod) whose code
	// was accepted: a code of that step or an earlier one is a replay.
	LastStep int64
}

// Confirmed reports whether the factor is on.
func (t *TOTP) Confirmed() bool { return !t.ConfirmedAt.IsZero() }

// MFAChange turns a user's MFA on or off, or replaces the recovery codes,
// as part of a UserChange (one transaction with the stamp, the session
// revocations and the events).
type MFAChange struct {
	// Enable confirms the user's pending TOTP (users.mfa_enabled true);
	// Disable removes the TOTP and the recovery codes (false). At most one
	// is set; with neither, only RecoveryCodes applies.
	Enable, Disable bool
	// RecoveryCodes, when not nil, replace every recovery code of the
	// user: SHA-256 hashes of the codes.
	RecoveryCodes [][]byte
	// Step, with Enable, is the time step of the confirming code (the
	// factor's first LastStep).
	Step int64
	// Secret, with Enable, is the stored secret of the pending factor the
	// code was checked against: the factor is confirmed only while it is
	// still that one. An enrolment that replaced it in between makes the
	// change ErrConflict, so a secret nobody proved is never turned on.
	Secret []byte
}

// MFAToken is the state of a login between its password and its second
// factor. The store keeps the SHA-256 of the token only.
type MFAToken struct {
	Hash      []byte
	UserID    string
	UserStamp int64 // the user's stamp when the password was checked
	Scope     []string
	Grant     string // how the login came (password, get_token)
	IP        string
	UserAgent string
	CreatedAt time.Time
	ExpiresAt time.Time
	Failures  int
	UsedAt    time.Time // zero until a code completed the login
}

// Live reports whether t can still complete a login at now.
func (t *MFAToken) Live(now time.Time) bool {
	return t.UsedAt.IsZero() && t.Failures < MFATokenMaxFailures && now.Before(t.ExpiresAt)
}
