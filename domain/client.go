package domain

import (
	"slices"
	"strings"
	"time"
)

// Client is a machine client that authenticates with a client id and a
// high-entropy secret (client_credentials grant).
type Client struct {
	ID         string
	Name       string
	SecretHash []byte // SHA-256 of the secret; the secret itself is never stored
	Scopes     []string
	CreatedAt  time.Time
}

// AllowsScope reports whether every scope in requested is granted to the
// client.
func (c *Client) AllowsScope(requested []string) bool {
	for _, s := range requested {
		if !slices.Contains(c.Scopes, s) {
			return false
		}
	}
	return true
}

// ParseScope splits a space-separated scope string into distinct scopes.
func ParseScope(s string) []string {
	var out []string
	for _, f := range strings.Fields(s) {
		if !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out
}
