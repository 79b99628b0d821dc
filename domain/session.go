package domain

import (
	"time"
	"unicode/utf8"
)

// Session is one login of a user: the chain of refresh tokens issued from
// it, and the id carried by its access tokens as "sid".
//
// Refresh tokens are never stored. The store keeps the SHA-256 of each one
// issued (RefreshToken rows), so reuse of an old token is recognised, and
// the current successor sealed with a key derived from its predecessor so
// that a racing client holding the predecessor can get the same successor
// within the reuse interval.
type Session struct {
	ID     string
	UserID string
	// UserStamp is the user's security stamp the session was established
	// under; the session is usable only while the user still has it.
	UserStamp int64
	Scope     []string
	CreatedAt time.Time
	// ExpiresAt is the absolute end of the session; refreshing never moves it.
	ExpiresAt time.Time
	// Generation counts rotations; the current refresh token has this
	// generation.
	Generation int64
	// RotatedAt is when the current generation was issued.
	RotatedAt time.Time
	// SealedSuccessor is the current refresh token encrypted with a key
	// derived from the previous one (empty for generation 0).
	SealedSuccessor []byte
	RevokedAt       time.Time // zero while the session is live
	// LastUsedAt is the time of the session's last refresh (CreatedAt
	// until the first one); a rotation sets it to Rotation.At.
	LastUsedAt time.Time
	// IP and UserAgent describe the client that logged in, for the user's
	// list of devices; UserAgent holds at most MaxUserAgentLen bytes.
	IP        string
	UserAgent string
	// AMR and ACR are how the login authenticated (RFC 8176 methods, the
	// assurance level): every token of the session carries them.
	AMR []string
	ACR string
}

// MaxUserAgentLen bounds the User-Agent a session keeps.
const MaxUserAgentLen = 256

// TruncateUserAgent cuts ua to at most MaxUserAgentLen bytes without
// splitting a UTF-8 sequence.
func TruncateUserAgent(ua string) string { return truncate(ua, MaxUserAgentLen) }

// truncate cuts s to at most n bytes without splitting a UTF-8 sequence.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}

// Live reports whether the session can still be used at now: not revoked
// and not past its end.
func (s *Session) Live(now time.Time) bool { return !s.Revoked() && now.Before(s.ExpiresAt) }

// Revoked reports whether the session has been revoked.
func (s *Session) Revoked() bool { return !s.RevokedAt.IsZero() }

// RefreshToken is the stored record of one issued refresh token: its hash
// and which generation of which session it belongs to.
type RefreshToken struct {
	Hash       []byte // SHA-256 of the token
	SessionID  string
	Generation int64
	CreatedAt  time.Time
}

// RefreshGrant is what a presented refresh token leads to: its stored
// record, its session and the session's user, as one consistent read.
type RefreshGrant struct {
	Token   RefreshToken
	Session Session
	User    User
}

// Rotation describes one conditional refresh-token rotation: it succeeds only
// if the session is still at FromGeneration and not revoked.
type Rotation struct {
	SessionID       string
	FromGeneration  int64
	NewHash         []byte
	SealedSuccessor []byte
	// At is when the rotation happens: the new generation's RotatedAt and
	// the session's LastUsedAt.
	At time.Time
}

// Revocation is one entry of the revocation feed that replicas and other
// services poll: a revoked session id. Seq orders the feed and serves as the
// cursor.
type Revocation struct {
	Seq       int64
	SessionID string
	UserID    string
	At        time.Time
	// Expires is when the entry stops mattering: no access token of the
	// session can still be valid after it.
	Expires time.Time
}

// SessionRevocation selects sessions to revoke: one session by ID, or every
// live session of UserID except ExceptID.
type SessionRevocation struct {
	SessionID string
	UserID    string
	ExceptID  string
	At        time.Time
	// FeedExpires is written to the feed entry of each revoked session.
	FeedExpires time.Time
	// Events commit with the revocation when it revokes any session.
	Events []Event
}
