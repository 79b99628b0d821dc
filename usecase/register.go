package usecase

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/gatehouse-auth/gatehouse/domain"
)

// Register creates users: self-service signup (POST /users) and the
// admin/CLI path, which may also grant roles.
type Register struct {
	users     domain.UserCreator
	hasher    domain.PasswordHasher
	throttle  *Throttle
	minLength int
	signup    bool
	now       func() time.Time
	metrics   Metrics
}

// NewRegister returns a Register. signup enables self-service registration;
// throttle (nil for none) limits sign-ups per address; minLength is the
// minimum password length. Each user.created event it commits is reported
// to metrics (nil reports nothing).
func NewRegister(users domain.UserCreator, hasher domain.PasswordHasher, throttle *Throttle, minLength int, signup bool, now func() time.Time, metrics Metrics) *Register {
	return &Register{users: users, hasher: hasher, throttle: throttle, minLength: minLength, signup: signup, now: now, metrics: orNoMetrics(metrics)}
}

// SignUp registers a user through the public endpoint, from the client
// address ip; it fails with domain.ErrSignupDisabled when signup is off and
// with a *domain.ThrottledError when ip has used its sign-up allowance.
// Every well-formed sign-up counts against the allowance before its hash,
// taken username or not; malformed ones cost nothing and count nothing.
func (r *Register) SignUp(ctx context.Context, username, password, ip string) (*domain.User, error) {
	if !r.signup {
		return nil, domain.ErrSignupDisabled
	}
	return r.create(ctx, username, password, nil, true, func() error { return r.throttle.ReserveSignup(ctx, ip) })
}

// Create registers a user with the given roles, whatever the signup setting
// and unlimited (admins and the CLI).
func (r *Register) Create(ctx context.Context, username, password string, roles []string) (*domain.User, error) {
	return r.create(ctx, username, password, roles, false, nil)
}

// create validates the input, calls admit (if any) and then hashes and
// stores the user with its user.created event, whose actor is the new user
// on a sign-up (self) when the Origin names none.
func (r *Register) create(ctx context.Context, username, password string, roles []string, self bool, admit func() error) (*domain.User, error) {
	name, err := domain.NormalizeUsername(username)
	if err != nil {
		return nil, err
	}
	if err := domain.ValidatePassword(password, name, r.minLength); err != nil {
		return nil, err
	}
	if err := validateRoles(roles); err != nil {
		return nil, err
	}
	if admit != nil {
		if err := admit(); err != nil {
			return nil, err
		}
	}
	hash, err := r.hasher.Hash(ctx, password)
	if err != nil {
		return nil, fmt.Errorf("hash password: %w", err)
	}
	now := r.now().UTC()
	u := &domain.User{
		ID:           newID(now),
		Username:     name,
		PasswordHash: hash,
		Roles:        slices.Clone(roles),
		Stamp:        1,
		CreatedAt:    now,
		UpdatedAt:    now,
	}
	var actor domain.Actor
	if self {
		actor = selfActor(u.ID)
	}
	ev := newEvent(ctx, now, domain.EventUserCreated, u.ID, actor)
	ev.Details.Username, ev.Details.Roles = u.Username, slices.Clone(u.Roles)
	events := []domain.Event{ev}
	if err := r.users.CreateUser(ctx, u, events); err != nil {
		return nil, fmt.Errorf("create user: %w", err)
	}
	countWritten(r.metrics, events)
	return u, nil
}

// validateRoles accepts role names made of the same characters as
// usernames (1-64 long), which keeps them safe in tokens and logs.
func validateRoles(roles []string) error {
	for _, role := range roles {
		if len(role) == 0 || len(role) > 64 {
			return &domain.ValidationError{Code: domain.CodeInvalidRequest, Message: "role names must be 1 to 64 characters"}
		}
		for _, c := range role {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-' || c == ':') {
				return &domain.ValidationError{Code: domain.CodeInvalidRequest, Message: "role names may contain only a-z, 0-9 and . _ - :"}
			}
		}
	}
	return nil
}
