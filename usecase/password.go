package usecase

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/gatehouse-auth/gatehouse/domain"
)

// saturation is implemented by hashers that can tell, cheaply, that they
// would refuse a new caller (an optional extension of domain.PasswordHasher).
type saturation interface{ Saturated() bool }

// passwordCheck is the one throttled password check, behind a login and a
// self-service password change alike: the attempt is reserved before its
// hash, taken back when the password could not be checked, and cleared on
// a match. Unknown users are verified against a dummy hash, so every
// refusal costs the same.
type passwordCheck struct {
	users    domain.UserUpdater
	hasher   domain.PasswordHasher
	throttle *Throttle     // nil admits everything
	events   EventRecorder // nil records nothing
	metrics  Metrics
	now      func() time.Time
	log      *slog.Logger

	dummyMu sync.Mutex
	dummy   string
}

// newPasswordCheck returns a passwordCheck; a nil log discards, nil events
// record nothing and nil metrics report nothing.
func newPasswordCheck(users domain.UserUpdater, hasher domain.PasswordHasher, throttle *Throttle, events EventRecorder,
	now func() time.Time, log *slog.Logger, metrics Metrics) *passwordCheck {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &passwordCheck{users: users, hasher: hasher, throttle: throttle, events: events, metrics: orNoMetrics(metrics), now: now, log: log}
}

// Reasons of login.failed events (EventDetails.Reason): told apart here,
// never to the caller.
const (
	failedCredentials = "invalid_credentials"
	failedDisabled    = "disabled"
	failedUnknownUser = "unknown_user"
	// failedUserChanged: the password matched but the user changed
	// (password, roles, disabled) or went before the session opened.
	failedUserChanged = "user_changed"
)

// authenticate checks username and password under the throttle (ip is the
// client address) and returns the user; it upgrades the stored hash when
// the hasher asks for it. A failed check, an unknown user and a disabled
// one are all domain.ErrInvalidCredentials. A failed check is recorded as
// login.failed and a throttled attempt as login.throttled (grant says how
// the attempt came, "" for none); the caller records the success.
func (c *passwordCheck) authenticate(ctx context.Context, username, password, ip, grant string) (*domain.User, error) {
	u, err := c.verifyPassword(ctx, username, password, ip, grant)
	if err != nil {
		return nil, err
	}
	c.success(ctx, u.Username, ip)
	return u, nil
}

// verifyPassword is authenticate without the success: the attempt stays
// counted on the throttle, as a failure, until success (or release) is
// called for it. A login with a second factor settles it only when the
// code is right, so a stolen password cannot buy unthrottled code guesses.
func (c *passwordCheck) verifyPassword(ctx context.Context, username, password, ip, grant string) (*domain.User, error) {
	// A name that cannot be valid is still looked up and hashed like any
	// unknown user, so the answer and its timing give nothing away.
	name, nameErr := domain.NormalizeUsername(username)
	if nameErr != nil {
		name = username
	}
	// Under a login flood, refuse before any store work: the hash queue
	// would refuse this attempt anyway, and the reads it would cost first
	// are what starves the logins already queued.
	if sat, ok := c.hasher.(saturation); ok && sat.Saturated() {
		return nil, domain.ErrOverloaded
	}
	// The attempt counts before its hash: parallel guesses cannot all pass
	// a check made before any of them failed.
	if err := c.throttle.Reserve(ctx, name, ip); err != nil {
		var te *domain.ThrottledError
		if errors.As(err, &te) {
			c.throttled(ctx, name, ip, grant, te.RetryAfter)
		}
		return nil, err
	}
	u, ok, rehash, err := c.check(ctx, name, nameErr == nil, password)
	if err != nil {
		c.release(ctx, name, ip)
		return nil, err
	}
	if !ok || u == nil || u.Disabled {
		c.failed(ctx, name, ip, grant, u, ok)
		return nil, domain.ErrInvalidCredentials // counted by Reserve
	}
	if rehash {
		c.upgradeHash(ctx, u, password)
	}
	return u, nil
}

// success settles a reserved attempt of username (normalised) from ip
// that succeeded: the throttle forgets the streak and remembers the
// address.
func (c *passwordCheck) success(ctx context.Context, username, ip string) {
	if err := c.throttle.Success(ctx, username, ip); err != nil {
		c.log.WarnContext(ctx, "login success not recorded", "err", err)
	}
}

// release takes back a reserved attempt of username from ip that was no
// guess (it could not be judged, or it was judged right and another
// attempt of the same login carries the count).
func (c *passwordCheck) release(ctx context.Context, username, ip string) {
	if err := c.throttle.Cancel(ctx, username, ip); err != nil {
		c.log.WarnContext(ctx, "login attempt not cancelled", "err", err)
	}
}

// loginEvent is a login.* event of userID ("" when unknown) from ip, the
// address the throttle counted when the Origin has none.
func (c *passwordCheck) loginEvent(ctx context.Context, t domain.EventType, userID, ip, grant string) domain.Event {
	ev := newEvent(ctx, c.now(), t, userID, selfActor(userID))
	if ev.IP == "" {
		ev.IP = ip
	}
	ev.Details.Grant = grant
	return ev
}

// record hands ev to the event recorder, if there is one.
func (c *passwordCheck) record(ev domain.Event) {
	if c.events != nil {
		c.events.Record(ev)
	}
}

// failed records the login.failed event of an attempt on name: u is the
// user found (nil for none) and ok whether the password matched.
func (c *passwordCheck) failed(ctx context.Context, name, ip, grant string, u *domain.User, ok bool) {
	userID, reason := "", failedUnknownUser
	switch {
	case u == nil:
	case !ok:
		userID, reason = u.ID, failedCredentials
	default:
		userID, reason = u.ID, failedDisabled
	}
	ev := c.loginEvent(ctx, domain.EventLoginFailed, userID, ip, grant)
	ev.Details.Username, ev.Details.Reason = domain.TruncateUsername(name), reason
	c.record(ev)
}

// throttled hands a refused attempt on name to the recorder's summary of
// its backoff period, which ends retryAfter from now.
func (c *passwordCheck) throttled(ctx context.Context, name, ip, grant string, retryAfter time.Duration) {
	if c.events == nil {
		return
	}
	ev := c.loginEvent(ctx, domain.EventLoginThrottled, "", ip, grant)
	ev.Details.Username = domain.TruncateUsername(name)
	c.events.Throttled(ev, ev.Time.Add(retryAfter))
}

// check looks the user up (when the name is valid) and verifies password
// against its hash, or against the dummy hash when there is no such user.
func (c *passwordCheck) check(ctx context.Context, name string, valid bool, password string) (u *domain.User, ok, rehash bool, err error) {
	if valid {
		u, err = c.users.UserByUsername(ctx, name)
		switch {
		case errors.Is(err, domain.ErrNotFound):
			u = nil
		case err != nil:
			return nil, false, false, fmt.Errorf("find user: %w", err)
		}
	}
	stored, err := c.storedHash(ctx, u)
	if err != nil {
		return nil, false, false, err
	}
	ok, rehash, err = c.hasher.Verify(ctx, stored, password)
	if err != nil {
		return nil, false, false, fmt.Errorf("verify password: %w", err)
	}
	return u, ok, rehash, nil
}

// storedHash returns the user's hash, or a dummy hash with the current
// parameters when there is no user, so both paths cost the same.
func (c *passwordCheck) storedHash(ctx context.Context, u *domain.User) (string, error) {
	if u != nil {
		return u.PasswordHash, nil
	}
	c.dummyMu.Lock()
	defer c.dummyMu.Unlock()
	if c.dummy == "" {
		h, err := c.hasher.Hash(ctx, newSecret(16))
		if err != nil {
			return "", fmt.Errorf("dummy hash: %w", err)
		}
		c.dummy = h
	}
	return c.dummy, nil
}

// upgradeHash replaces an old-format hash, only while the user's stamp is
// still the one read with it: a password change made meanwhile is never
// undone, and no other field is written. Failure is not fatal: the login
// already succeeded and the next one will try again.
func (c *passwordCheck) upgradeHash(ctx context.Context, u *domain.User, password string) {
	hash, err := c.hasher.Hash(ctx, password)
	var events []domain.Event
	if err == nil {
		ev := newEvent(ctx, c.now(), domain.EventUserUpdated, u.ID, systemActor)
		ev.Actor, ev.Details.Reason = systemActor, "password_rehash"
		events = []domain.Event{ev}
		_, _, err = c.users.ChangeUser(ctx, domain.UserChange{UserID: u.ID, PasswordHash: hash, IfStamp: u.Stamp, At: c.now().UTC(), Events: events})
	}
	switch {
	case err == nil:
		countWritten(c.metrics, events)
		u.PasswordHash = hash
	case errors.Is(err, domain.ErrConflict):
		// The user changed meanwhile; the session check will tell.
	default:
		c.log.WarnContext(ctx, "password hash upgrade failed", "user_id", u.ID, "err", err)
	}
}

// passwordSetter stores new passwords: the one sequence behind a
// self-service change (Account) and an admin or CLI one (Users).
type passwordSetter struct {
	users     domain.UserChanger
	hasher    domain.PasswordHasher
	revoke    *Revoke
	minLength int
	now       func() time.Time
}

// set checks next against the password rule for u, hashes it and writes
// the hash, and nothing else, as a credential change: the stamp moves on
// and the user's sessions are revoked, and a password.changed event
// commits with it (self is the actor of a self-service change, else the
// zero Actor). ch says what else the change depends on (IfStamp) and which
// session survives (KeepSession).
func (s passwordSetter) set(ctx context.Context, u *domain.User, next string, ch domain.UserChange, self domain.Actor) error {
	if err := domain.ValidatePassword(next, u.Username, s.minLength); err != nil {
		return err
	}
	hash, err := s.hasher.Hash(ctx, next)
	if err != nil {
		return fmt.Errorf("hash password: %w", err)
	}
	ch.UserID, ch.PasswordHash, ch.EndSessions = u.ID, hash, true
	ch.Events = []domain.Event{newEvent(ctx, s.now(), domain.EventPasswordChanged, u.ID, self)}
	_, err = s.revoke.ChangeUser(ctx, s.users, ch)
	return err
}
