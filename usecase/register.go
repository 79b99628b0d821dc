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
	users     domain.UserStore
	hasher    domain.PasswordHasher
	minLength int
	signup    bool
	now       func() time.Time
}

// NewRegister returns a Register. signup enables self-service registration;
// minLength is the minimum password length.
func NewRegister(users domain.UserStore, hasher domain.PasswordHasher, minLength int, signup bool, now func() time.Time) *Register {
	return &Register{users: users, hasher: hasher, minLength: minLength, signup: signup, now: now}
}

// SignUp registers a user through the public endpoint; it fails with
// domain.ErrSignupDisabled when signup is off.
func (r *Register) SignUp(ctx context.Context, username, password string) (*domain.User, error) {
	if !r.signup {
		return nil, domain.ErrSignupDisabled
	}
	return r.Create(ctx, username, password, nil)
}

// Create registers a user with the given roles, whatever the signup setting.
func (r *Register) Create(ctx context.Context, username, password string, roles []string) (*domain.User, error) {
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
		CreatedAt:    now,
		UpdatedAt:    now,
	}
	if err := r.users.CreateUser(ctx, u); err != nil {
		return nil, fmt.Errorf("create user: %w", err)
	}
	return u, nil
}

// validateRoles accepts role names made of the same characters as
// usernames (1-64 long), which keeps them safe in tokens and logs.
func validateRoles(roles []string) error {
	for _, role := range roles {
		if len(role) == 0 || len(role) > 64 {
			return &domain.ValidationError{Code: "invalid_request", Message: "role names must be 1 to 64 characters"}
		}
		for _, c := range role {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-' || c == ':') {
				return &domain.ValidationError{Code: "invalid_request", Message: "role names may contain only a-z, 0-9 and . _ - :"}
			}
		}
	}
	return nil
}
