package usecase

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse/domain"
)

// TOTPCodes makes RFC 6238 secrets and codes: SHA-1, domain.TOTPDigits
// digits, domain.TOTPPeriod steps (adapter/token.TOTP). It lives outside
// the use cases because it rests on a library, which usecase may not
// import.
type TOTPCodes interface {
	// NewSecret returns a new random secret (base32) and its
	// otpauth://totp/<issuer>:<account> URL.
	NewSecret(issuer, account string) (secret, url string, err error)
	// Code returns the code of secret for the time step that holds t.
	Code(secret string, t time.Time) (string, error)
}

// Second factors, as mfa.* events name them (EventDetails.Method).
const (
	methodTOTP         = "totp"
	methodRecoveryCode = "recovery_code"
)

// codeKind says which codes a check accepts.
type codeKind int

const (
	anyCode      codeKind = iota // a TOTP code or a recovery code
	totpCode                     // a TOTP code only
	recoveryCode                 // a recovery code only
)

// Recovery codes: recoveryCodeLen characters of recoveryAlphabet (5 bits
// each: 60 random bits), shown as xxxx-xxxx-xxxx.
const (
	recoveryCodeLen  = 12
	recoveryAlphabet = "abcdefghijklmnopqrstuvwxyz234567"
)

// factorCheck is the one check of a second factor, behind enrolment,
// login and the self-service changes: a code is accepted once, and a wrong
// one is recorded as mfa.failed (without the code).
type factorCheck struct {
	store   domain.MFAStore
	box     domain.SecretBox
	codes   TOTPCodes
	now     func() time.Time
	events  EventRecorder // nil records nothing
	metrics Metrics
}

// verify checks code, of the kinds kind allows, as a second factor of the
// user (whose factor must be confirmed) and uses it up: a TOTP step is
// accepted once, a recovery code is spent. It returns the method that
// matched; domain.ErrInvalidCode for a wrong, malformed or replayed code
// (recorded as mfa.failed, grant naming the login it belongs to, "" for
// none), domain.ErrMFANotEnabled when the user has no confirmed factor.
func (f *factorCheck) verify(ctx context.Context, userID, code string, kind codeKind, grant string) (string, error) {
	method := methodRecoveryCode
	if kind == totpCode || (kind == anyCode && isTOTPCode(code)) {
		method = methodTOTP
	}
	var ok bool
	var err error
	if method == methodTOTP {
		ok, err = f.useTOTP(ctx, userID, code)
	} else {
		ok, err = f.useRecoveryCode(ctx, userID, code)
	}
	if err != nil {
		return "", err
	}
	if !ok {
		f.failed(ctx, userID, method, grant)
		return "", domain.ErrInvalidCode
	}
	return method, nil
}

// useTOTP reports whether code is the user's TOTP code of a step within
// the drift allowed and records that step as used (of concurrent uses of
// one code exactly one wins).
func (f *factorCheck) useTOTP(ctx context.Context, userID, code string) (bool, error) {
	t, err := f.store.TOTPOf(ctx, userID)
	switch {
	case errors.Is(err, domain.ErrNotFound):
		return false, domain.ErrMFANotEnabled
	case err != nil:
		return false, fmt.Errorf("read totp: %w", err)
	case !t.Confirmed():
		return false, domain.ErrMFANotEnabled
	}
	step, ok, err := f.matchStep(userID, t, code)
	if err != nil || !ok {
		return false, err
	}
	used, err := f.store.UseTOTPStep(ctx, userID, step)
	if err != nil {
		return false, fmt.Errorf("use totp step: %w", err)
	}
	return used, nil // false: a replay
}

// matchStep returns the time step within domain.TOTPSkew steps of now
// whose code of t's secret is code; false for none, for a code that is
// not exactly domain.TOTPDigits ASCII digits, and for a step not later
// than the last one used (a replay, told without a write).
func (f *factorCheck) matchStep(userID string, t *domain.TOTP, code string) (int64, bool, error) {
	if !isTOTPCode(code) {
		return 0, false, nil
	}
	secret, err := f.box.Open(t.Secret, userID)
	if err != nil {
		return 0, false, fmt.Errorf("open totp secret: %w", err)
	}
	defer clear(secret)
	period := int64(domain.TOTPPeriod / time.Second)
	now := f.now().Unix() / period
	var step int64
	found := 0
	// Every candidate is computed and compared, in constant time.
	for s := now - domain.TOTPSkew; s <= now+domain.TOTPSkew; s++ {
		want, err := f.codes.Code(string(secret), time.Unix(s*period, 0))
		if err != nil {
			return 0, false, fmt.Errorf("totp code: %w", err)
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			step, found = s, 1
		}
	}
	if found == 0 || step <= t.LastStep {
		return 0, false, nil
	}
	return step, true, nil
}

// useRecoveryCode reports whether code is an unused recovery code of the
// user and spends it; mfa.recovery_code_used commits with it.
func (f *factorCheck) useRecoveryCode(ctx context.Context, userID, code string) (bool, error) {
	norm, ok := normaliseRecoveryCode(code)
	if !ok {
		return false, nil
	}
	now := f.now()
	ev := newEvent(ctx, now, domain.EventMFARecoveryCodeUsed, userID, selfActor(userID))
	ev.Details.Method = methodRecoveryCode
	events := []domain.Event{ev}
	used, err := f.store.UseRecoveryCode(ctx, userID, hashRecoveryCode(norm), now.UTC(), events)
	if err != nil {
		return false, fmt.Errorf("use recovery code: %w", err)
	}
	if used {
		countWritten(f.metrics, events)
	}
	return used, nil
}

// failed records a wrong code of the user: the method, never the code.
func (f *factorCheck) failed(ctx context.Context, userID, method, grant string) {
	if f.events == nil {
		return
	}
	ev := newEvent(ctx, f.now(), domain.EventMFAFailed, userID, selfActor(userID))
	ev.Details.Method, ev.Details.Grant = method, grant
	f.events.Record(ev)
}

// isTOTPCode reports whether code has the shape of a TOTP code: exactly
// domain.TOTPDigits ASCII digits.
func isTOTPCode(code string) bool {
	if len(code) != domain.TOTPDigits {
		return false
	}
	for i := range len(code) {
		if code[i] < '0' || code[i] > '9' {
			return false
		}
	}
	return true
}

// normaliseRecoveryCode lower-cases code and drops spaces and dashes; it
// reports whether what is left can be a recovery code.
func normaliseRecoveryCode(code string) (string, bool) {
	if len(code) > 4*recoveryCodeLen {
		return "", false
	}
	var b strings.Builder
	for _, r := range strings.ToLower(code) {
		switch {
		case r == ' ' || r == '-' || r == '\t':
		case r < 128 && strings.ContainsRune(recoveryAlphabet, r):
			b.WriteRune(r)
		default:
			return "", false
		}
	}
	return b.String(), b.Len() == recoveryCodeLen
}

// hashRecoveryCode is how a recovery code is stored: the SHA-256 of its
// normalised form. 60 random bits need no slow hash: the code is single
// use and only ever tried online, throttled.
func hashRecoveryCode(norm string) []byte {
	h := sha256.Sum256([]byte(norm))
	return h[:]
}

// newRecoveryCodes returns domain.RecoveryCodeCount new recovery codes, as
// shown (xxxx-xxxx-xxxx) and as stored (their hashes).
func newRecoveryCodes() (codes []string, hashes [][]byte) {
	for len(codes) < domain.RecoveryCodeCount {
		var raw [recoveryCodeLen]byte
		rand.Read(raw[:]) // never fails, see newID
		var norm [recoveryCodeLen]byte
		for i, b := range raw {
			norm[i] = recoveryAlphabet[b&31] // 256 is a multiple of 32: uniform
		}
		h := hashRecoveryCode(string(norm[:]))
		if containsHash(hashes, h) {
			continue // a collision of 60 random bits: draw again
		}
		codes = append(codes, string(norm[0:4])+"-"+string(norm[4:8])+"-"+string(norm[8:12]))
		hashes = append(hashes, h)
	}
	return codes, hashes
}

func containsHash(hashes [][]byte, h []byte) bool {
	for _, x := range hashes {
		if subtle.ConstantTimeCompare(x, h) == 1 {
			return true
		}
	}
	return false
}
