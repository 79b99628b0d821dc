package domain

import (
	"slices"
	"strings"
	"time"
)

// Role names with a meaning inside Gatehouse.
const (
	RoleAdmin = "admin"
)

// Password length bounds. The minimum is configurable; these are the fixed
// outer limits.
const (
	DefaultPasswordMinLength = 8
	PasswordMaxBytes         = 1024
)

// User is a person who logs in with a username and password.
type User struct {
	ID           string
	Username     string // normalised: lower-case
	PasswordHash string // PHC string (argon2id) or an imported bcrypt hash
	Roles        []string
	Disabled     bool
	// NotBefore invalidates every access token of the user issued before it
	// (password change, disable, admin "revoke all").
	NotBefore time.Time
	CreatedAt time.Time
	UpdatedAt time.Time
}

// HasRole reports whether the user holds role.
func (u *User) HasRole(role string) bool { return slices.Contains(u.Roles, role) }

// NormalizeUsername lower-cases name and checks it against the username
// rule: 3-64 characters of a-z 0-9 . _ @ -.
func NormalizeUsername(name string) (string, error) {
	n := strings.ToLower(strings.TrimSpace(name))
	if len(n) < 3 || len(n) > 64 {
		return "", &ValidationError{Code: "invalid_username", Message: "username must be 3 to 64 characters"}
	}
	for _, r := range n {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '.', r == '_', r == '@', r == '-':
		default:
			return "", &ValidationError{Code: "invalid_username", Message: "username may contain only a-z, 0-9 and . _ @ -"}
		}
	}
	return n, nil
}

// ValidatePassword checks a new password against the password rule: at
// least minLength characters, at most PasswordMaxBytes bytes, not on the
// built-in list of common passwords and not the username itself.
func ValidatePassword(password, username string, minLength int) error {
	if minLength <= 0 {
		minLength = DefaultPasswordMinLength
	}
	if len(password) > PasswordMaxBytes {
		return &ValidationError{Code: "weak_password", Message: "password must be at most 1024 bytes"}
	}
	if len([]rune(password)) < minLength {
		return &ValidationError{Code: "weak_password", Message: "password is too short"}
	}
	lower := strings.ToLower(password)
	if IsCommonPassword(lower) || (username != "" && lower == strings.ToLower(username)) {
		return &ValidationError{Code: "weak_password", Message: "password is too common"}
	}
	return nil
}
