package usecase

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/gatehouse-auth/gatehouse/domain"
)

// MFA is a user's second factor (TOTP) and recovery codes: enrolment,
// confirmation, turning it off, new recovery codes, and the admin reset.
// Turning MFA on or off is a credential change: the user's stamp moves on
// and sessions end (all but the caller's for a self-service change), so a
// login in flight under the old state cannot open a session after it.
type MFA struct {
	users  domain.UserUpdater
	store  domain.MFAStore
	box    domain.SecretBox
	codes  TOTPCodes
	revoke *Revoke
	issuer string
	now    func() time.Time
	check  *factorCheck
}

// DefaultTOTPIssuer names Gatehouse in authenticator apps when NewMFA is
// given no issuer.
const DefaultTOTPIssuer = "Gatehouse"

// NewMFA returns an MFA. Secrets are sealed with box under the user's id;
// codes makes secrets and codes; issuer (DefaultTOTPIssuer when empty) is
// the name authenticator apps show. Changes go through revoke, which
// commits their events and learns the sessions they end; the event of a
// used recovery code, which commits with it, is reported to metrics (nil
// reports nothing); wrong codes are recorded in events (nil records
// nothing).
func NewMFA(users domain.UserUpdater, store domain.MFAStore, box domain.SecretBox, codes TOTPCodes, revoke *Revoke,
	issuer string, now func() time.Time, metrics Metrics, events EventRecorder) *MFA {
	if issuer == "" {
		issuer = DefaultTOTPIssuer
	}
	return &MFA{
		users: users, store: store, box: box, codes: codes, revoke: revoke, issuer: issuer, now: now,
		check: &factorCheck{store: store, box: box, codes: codes, now: now, events: events, metrics: orNoMetrics(metrics)},
	}
}

// TOTPEnrolment is a pending TOTP factor as the user sees it once: the
// secret (base32) and the otpauth:// URL that carries it.
type TOTPEnrolment struct {
	Secret string
	URL    string
}

// LogValue keeps the secret out of logs.
func (TOTPEnrolment) LogValue() slog.Value { return slog.StringValue("[redacted]") }

// Enroll makes a new TOTP secret for the caller and keeps it, sealed, as
// the user's pending factor (replacing a pending one) until Confirm.
// domain.ErrMFAAlreadyEnabled when MFA is on.
func (m *MFA) Enroll(ctx context.Context, c *domain.Claims) (*TOTPEnrolment, error) {
	u, err := m.self(ctx, c)
	if err != nil {
		return nil, err
	}
	if u.MFAEnabled {
		return nil, domain.ErrMFAAlreadyEnabled
	}
	secret, url, err := m.codes.NewSecret(m.issuer, u.Username)
	if err != nil {
		return nil, fmt.Errorf("new totp secret: %w", err)
	}
	sealed, err := m.box.Seal([]byte(secret), u.ID)
	if err != nil {
		return nil, fmt.Errorf("seal totp secret: %w", err)
	}
	t := &domain.TOTP{UserID: u.ID, Secret: sealed, CreatedAt: m.now().UTC().Truncate(time.Microsecond)}
	if err := m.store.PutPendingTOTP(ctx, t); err != nil {
		return nil, fmt.Errorf("store pending totp: %w", err)
	}
	return &TOTPEnrolment{Secret: secret, URL: url}, nil
}

// Confirm turns MFA on with a current code of the pending secret and
// returns the new recovery codes (shown this once; only their hashes are
// kept). Every other session of the user ends. domain.ErrMFANotEnabled
// when nothing is pending, domain.ErrMFAAlreadyEnabled when MFA is on,
// domain.ErrInvalidCode for a wrong code.
func (m *MFA) Confirm(ctx context.Context, c *domain.Claims, code string) ([]string, error) {
	u, err := m.self(ctx, c)
	if err != nil {
		return nil, err
	}
	if u.MFAEnabled {
		return nil, domain.ErrMFAAlreadyEnabled
	}
	t, err := m.store.TOTPOf(ctx, u.ID)
	switch {
	case errors.Is(err, domain.ErrNotFound):
		return nil, domain.ErrMFANotEnabled
	case err != nil:
		return nil, fmt.Errorf("read totp: %w", err)
	case t.Confirmed():
		return nil, domain.ErrMFAAlreadyEnabled
	}
	step, ok, err := m.check.matchStep(u.ID, t, code)
	if err != nil {
		return nil, err
	}
	if !ok {
		m.check.failed(ctx, u.ID, methodTOTP, "")
		return nil, domain.ErrInvalidCode
	}
	codes, hashes := newRecoveryCodes()
	ch := domain.MFAChange{Enable: true, Step: step, RecoveryCodes: hashes, Secret: t.Secret}
	if err := m.switchOwn(ctx, c, u, domain.EventMFAEnabled, ch); err != nil {
		return nil, err
	}
	return codes, nil
}

// Disable turns MFA off with a current TOTP code or a recovery code; every
// other session of the user ends. domain.ErrMFANotEnabled when it is off,
// domain.ErrInvalidCode for a wrong code.
func (m *MFA) Disable(ctx context.Context, c *domain.Claims, code string) error {
	u, err := m.enabledSelf(ctx, c, code)
	if err != nil {
		return err
	}
	return m.switchOwn(ctx, c, u, domain.EventMFADisabled, domain.MFAChange{Disable: true})
}

// switchOwn commits ch, turning the caller's own TOTP on or off, with its
// event of type typ, if u is unchanged since read; every other session of
// the user ends.
func (m *MFA) switchOwn(ctx context.Context, c *domain.Claims, u *domain.User, typ domain.EventType, ch domain.MFAChange) error {
	ev := newEvent(ctx, m.now(), typ, u.ID, selfActor(u.ID))
	ev.Details.Method = methodTOTP
	_, err := m.revoke.ChangeUser(ctx, m.users, domain.UserChange{
		UserID:      u.ID,
		IfStamp:     u.Stamp,
		EndSessions: true,
		KeepSession: c.SessionID,
		MFA:         &ch,
		Events:      []domain.Event{ev},
	})
	return err
}

// reasonRecoveryCodes is the user.updated reason of a new set of recovery
// codes (no mfa.* type records it).
const reasonRecoveryCodes = "recovery_codes"

// RegenerateCodes replaces the user's recovery codes, given a current TOTP
// code or a recovery code, and returns the new ones; the old set is void.
// Sessions are untouched: the factor is the same. The change commits with
// a user.updated event (reason "recovery_codes").
func (m *MFA) RegenerateCodes(ctx context.Context, c *domain.Claims, code string) ([]string, error) {
	u, err := m.enabledSelf(ctx, c, code)
	if err != nil {
		return nil, err
	}
	codes, hashes := newRecoveryCodes()
	ev := newEvent(ctx, m.now(), domain.EventUserUpdated, u.ID, selfActor(u.ID))
	ev.Details.Reason, ev.Details.Method = reasonRecoveryCodes, methodRecoveryCode
	_, err = m.revoke.ChangeUser(ctx, m.users, domain.UserChange{
		UserID:  u.ID,
		IfStamp: u.Stamp,
		MFA:     &domain.MFAChange{RecoveryCodes: hashes},
		Events:  []domain.Event{ev},
	})
	if err != nil {
		return nil, err
	}
	return codes, nil
}

// Reset turns a user's MFA off for an admin or the CLI (a user who lost
// the factor and the codes) and ends every session of the user. The actor
// is the Origin's. domain.ErrNotFound for an unknown user,
// domain.ErrMFANotEnabled when MFA is off.
func (m *MFA) Reset(ctx context.Context, userID string) error {
	u, err := m.users.UserByID(ctx, userID)
	if err != nil {
		return err
	}
	if !u.MFAEnabled {
		return domain.ErrMFANotEnabled
	}
	ev := newEvent(ctx, m.now(), domain.EventMFADisabled, u.ID, domain.Actor{})
	ev.Details.Method, ev.Details.Reason = methodTOTP, reasonAdmin
	_, err = m.revoke.ChangeUser(ctx, m.users, domain.UserChange{
		UserID:      u.ID,
		EndSessions: true,
		MFA:         &domain.MFAChange{Disable: true},
		Events:      []domain.Event{ev},
	})
	return err
}

// self returns the user behind c, who may manage their own factor: a user
// token, not a client's nor one from an API key.
func (m *MFA) self(ctx context.Context, c *domain.Claims) (*domain.User, error) {
	if c.FromAPIKey() {
		return nil, domain.ErrForbidden
	}
	return claimedUser(ctx, m.users, c)
}

// enabledSelf returns the caller's user, with MFA on, once code (a TOTP
// or a recovery code) has been checked and used up.
func (m *MFA) enabledSelf(ctx context.Context, c *domain.Claims, code string) (*domain.User, error) {
	u, err := m.self(ctx, c)
	if err != nil {
		return nil, err
	}
	if !u.MFAEnabled {
		return nil, domain.ErrMFANotEnabled
	}
	if _, err := m.check.verify(ctx, u.ID, code, anyCode, ""); err != nil {
		return nil, err
	}
	return u, nil
}

// PruneTokens deletes the mfa_tokens that expired: a login that stopped
// after its password leaves one behind. The server's prune job runs it.
func (m *MFA) PruneTokens(ctx context.Context) (int64, error) {
	n, err := m.store.PruneMFATokens(ctx, m.now())
	if err != nil {
		return n, fmt.Errorf("prune mfa tokens: %w", err)
	}
	return n, nil
}
