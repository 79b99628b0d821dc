package usecase

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/gatehouse-auth/gatehouse/domain"
)

// Device is one live session as its user sees it in their list of
// devices.
type Device struct {
	domain.Session
	// Current marks the session of the token that asked.
	Current bool
}

// Devices lists and ends users' sessions: a user's own (GET and DELETE
// /me/sessions) and, for an admin, anyone's (GET
// /admin/users/:id/sessions). Ending goes through Revoke, so the session
// is refused here at once and on every other replica through the feed.
type Devices struct {
	sessions domain.SessionLister
	users    domain.UserReader
	revoke   *Revoke
	now      func() time.Time
}

// NewDevices returns a Devices.
func NewDevices(sessions domain.SessionLister, users domain.UserReader, revoke *Revoke, now func() time.Time) *Devices {
	return &Devices{sessions: sessions, users: users, revoke: revoke, now: now}
}

// Mine lists the live sessions of the caller, newest first, marking the
// caller's own. A caller without a login session (a machine client, an
// API key or a token exchanged from one) is ErrForbidden.
func (d *Devices) Mine(ctx context.Context, c *domain.Claims) ([]Device, error) {
	if !c.FromLogin() {
		return nil, domain.ErrForbidden
	}
	return d.list(ctx, c.Subject, c.SessionID)
}

// End ends the caller's session id. ErrNotFound unless id is a live
// session of the caller's user (another user's session, an unknown id and
// an ended session look alike); ErrForbidden for a caller Mine refuses.
func (d *Devices) End(ctx context.Context, c *domain.Claims, id string) error {
	if !c.FromLogin() {
		return domain.ErrForbidden
	}
	live, err := d.list(ctx, c.Subject, c.SessionID)
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(live, func(s Device) bool { return s.ID == id }) {
		return fmt.Errorf("end session %q: %w", id, domain.ErrNotFound)
	}
	// The selector names the user too, so the store revokes nothing of
	// anyone else's whatever id says.
	return d.revoke.revokeWithEvent(ctx, domain.SessionRevocation{SessionID: id, UserID: c.Subject}, c.Subject, reasonDevice, selfActor(c.Subject))
}

// Of lists the live sessions of any user, newest first (an admin's view;
// none is current). ErrNotFound if the user does not exist.
func (d *Devices) Of(ctx context.Context, userID string) ([]Device, error) {
	if _, err := d.users.UserByID(ctx, userID); err != nil {
		return nil, fmt.Errorf("sessions of user %q: %w", userID, err)
	}
	return d.list(ctx, userID, "")
}

func (d *Devices) list(ctx context.Context, userID, current string) ([]Device, error) {
	live, err := d.sessions.ListSessions(ctx, userID, d.now().UTC())
	if err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	out := make([]Device, len(live))
	for i, s := range live {
		out[i] = Device{Session: s, Current: current != "" && s.ID == current}
	}
	return out, nil
}
