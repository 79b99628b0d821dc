package domain

import (
	"fmt"
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
	// MFAEnabled is whether the user has a confirmed second factor (TOTP):
	// a login then needs a code after the password.
	MFAEnabled bool
	// Stamp is the user's security stamp. Every change to what a session
	// rests on (password, disable, roles, MFA) moves it on, and a session
	// is created or refreshed only while the stamp it was established under
	// is still the user's: a login or refresh that read the user before the
	// change cannot open or extend a session after it. New users start at
	// 1.
	Stamp     int64
	CreatedAt time.Time
	UpdatedAt time.Time
}

// UserChange is one change to a user, written by the store in one
// transaction with its consequences. It writes only the fields it sets, so
// concurrent changes of other fields are never undone.
type UserChange struct {
	UserID string
	// PasswordHash replaces the stored hash when non-empty.
	PasswordHash string
	// Disabled and Roles replace their fields when non-nil.
	Disabled *bool
	Roles    *[]string
	// IfStamp, when non-zero, makes the change conditional: it applies only
	// while the user's stamp is still IfStamp (ErrConflict otherwise). Use
	// it for a change decided on what an earlier read said.
	IfStamp int64
	// EndSessions marks a credential change: the stamp moves on and every
	// live session of the user is revoked (with feed entries), except
	// KeepSession, which is carried over to the new stamp.
	EndSessions bool
	KeepSession string
	// RevokeAPIKeys revokes every unrevoked API key of the user (with feed
	// entries): disabling does; a password change does not (keys survive
	// it, as on GitHub).
	RevokeAPIKeys bool
	// At is the change's time (UpdatedAt, revocation time); FeedExpires is
	// written to the feed entry of each revoked session.
	At          time.Time
	FeedExpires time.Time
	// MFA, when not nil, turns the second factor on or off or replaces the
	// recovery codes in the same transaction; ErrMFANotEnabled if it
	// enables without a pending TOTP.
	MFA *MFAChange
	// Events commit with the change.
	Events []Event
}

// UserDeletion selects a user to delete (UserStore.DeleteUser).
type UserDeletion struct {
	ID string
	// At is the revocation time of the user's live sessions and keys;
	// FeedExpires is written to their feed entries.
	At          time.Time
	FeedExpires time.Time
	// Events commit with the deletion.
	Events []Event
}

// HasRole reports whether the user holds role.
func (u *User) HasRole(role string) bool { return slices.Contains(u.Roles, role) }

// NormalizeUsername lower-cases name and checks it against the username
// rule: 3-64 characters of a-z 0-9 . _ @ -.
func NormalizeUsername(name string) (string, error) {
	n := strings.ToLower(strings.TrimSpace(name))
	if len(n) < 3 || len(n) > 64 {
		return "", &ValidationError{Code: CodeInvalidUsername, Message: "username must be 3 to 64 characters"}
	}
	for _, r := range n {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '.', r == '_', r == '@', r == '-':
		default:
			return "", &ValidationError{Code: CodeInvalidUsername, Message: "username may contain only a-z, 0-9 and . _ @ -"}
		}
	}
	return n, nil
}

// CheckPasswordSize refuses a password over PasswordMaxBytes with a
// *ValidationError: the one place that says what too long is and how it is
// answered, for the password rule and for the hasher alike.
func CheckPasswordSize(password string) error {
	if len(password) > PasswordMaxBytes {
		return &ValidationError{Code: CodeWeakPassword, Message: fmt.Sprintf("password must be at most %d bytes", PasswordMaxBytes)}
	}
	return nil
}

// ValidatePassword checks a new password against the password rule: at
// least minLength characters, at most PasswordMaxBytes bytes, not on the
// built-in list of common passwords and not the username itself.
func ValidatePassword(password, username string, minLength int) error {
	if minLength <= 0 {
		minLength = DefaultPasswordMinLength
	}
	if err := CheckPasswordSize(password); err != nil {
		return err
	}
	if len([]rune(password)) < minLength {
		return &ValidationError{Code: CodeWeakPassword, Message: "password is too short"}
	}
	lower := strings.ToLower(password)
	if IsCommonPassword(lower) || (username != "" && lower == strings.ToLower(username)) {
		return &ValidationError{Code: CodeWeakPassword, Message: "password is too common"}
	}
	return nil
}
