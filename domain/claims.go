package domain

import (
	"strings"
	"time"
)

// Claims is what an access token asserts, independent of its encoding.
type Claims struct {
	ID        string // jti
	Subject   string // user id or client id
	Username  string // the tutorial's "user" claim; empty for client tokens
	SessionID string // sid; empty for client tokens
	ClientID  string // client_id for machine tokens
	// KeyID is the API key's id when the caller presented an API key
	// (never encoded in a token).
	KeyID string
	Scope []string
	Roles []string
	// AMR and ACR: how the user authenticated (amr, RFC 8176) and the
	// assurance level (acr: aal1, or aal2 with a second factor). Empty for
	// client tokens.
	AMR       []string
	ACR       string
	IssuedAt  time.Time
	NotBefore time.Time
	ExpiresAt time.Time
}

// FromAPIKey reports whether the caller is an API key, or holds a token
// exchanged from one (its sid is the key's revocation id). Such callers
// may not manage credentials or sessions.
func (c *Claims) FromAPIKey() bool { return c.APIKeyID() != "" }

// FromLogin reports whether the caller holds a user's token from a login:
// a session of its own, and neither a machine client's token nor an API
// key or a token exchanged from one. Only such a caller may see or end
// sessions or read its security log.
func (c *Claims) FromLogin() bool {
	return c.Subject != "" && c.SessionID != "" && !c.FromAPIKey()
}

// APIKeyID returns the id of the API key the caller is (KeyID) or holds a
// token exchanged from (the key's id in its sid); "" for anyone else.
func (c *Claims) APIKeyID() string {
	if c.KeyID != "" {
		return c.KeyID
	}
	if id, ok := strings.CutPrefix(c.SessionID, APIKeyRevocationPrefix); ok {
		return id
	}
	return ""
}

// HasRole reports whether the claims carry role.
func (c *Claims) HasRole(role string) bool {
	for _, r := range c.Roles {
		if r == role {
			return true
		}
	}
	return false
}

// HasScope reports whether the claims grant scope.
func (c *Claims) HasScope(scope string) bool {
	for _, s := range c.Scope {
		if s == scope {
			return true
		}
	}
	return false
}
