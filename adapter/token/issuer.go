package token

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gatehouse-auth/gatehouse/domain"
)

// typAccessToken is the JOSE "typ" of our access tokens (RFC 9068).
const typAccessToken = "at+jwt"

// issueClaims is the JSON payload we sign. The outer Audience shadows the
// embedded one so that aud is written as a plain string: the embedded
// ClaimStrings would follow golang-jwt's package-level
// MarshalSingleStringAsArray switch, which we do not touch.
type issueClaims struct {
	jwt.RegisteredClaims
	Audience  string   `json:"aud,omitempty"`
	SessionID string   `json:"sid,omitempty"`
	Scope     string   `json:"scope,omitempty"`
	Roles     []string `json:"roles"` // always present: [] when none
	User      string   `json:"user,omitempty"`
	ClientID  string   `json:"client_id,omitempty"`
	AMR       []string `json:"amr,omitempty"` // RFC 8176 methods; absent when none
	ACR       string   `json:"acr,omitempty"`
}

// Issuer signs access tokens with the ring's active key.
type Issuer struct {
	ring     *Keyring
	issuer   string
	audience string
}

var _ domain.TokenIssuer = (*Issuer)(nil)

// NewIssuer returns an Issuer that stamps iss and aud on every token.
func NewIssuer(ring *Keyring, issuer, audience string) *Issuer {
	return &Issuer{ring: ring, issuer: issuer, audience: audience}
}

// Issue encodes and signs c. Subject and ExpiresAt are required; a zero
// NotBefore defaults to IssuedAt and an empty ID to a random jti.
func (i *Issuer) Issue(ctx context.Context, c domain.Claims) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("issue token: %w", err)
	}
	if c.Subject == "" || c.ExpiresAt.IsZero() {
		return "", errors.New("issue token: subject and expiry are required")
	}
	k := i.ring.active()
	if k == nil {
		return "", errors.New("issue token: no active signing key (keyring not loaded)")
	}
	jti := c.ID
	if jti == "" {
		b := make([]byte, 16)
		_, _ = rand.Read(b) // crypto/rand.Read never fails since Go 1.24
		jti = b64url.EncodeToString(b)
	}
	roles := c.Roles
	if roles == nil {
		roles = []string{}
	}
	nbf := c.NotBefore
	if nbf.IsZero() {
		nbf = c.IssuedAt
	}
	claims := issueClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    i.issuer,
			Subject:   c.Subject,
			ExpiresAt: jwt.NewNumericDate(c.ExpiresAt),
			ID:        jti,
		},
		Audience:  i.audience,
		SessionID: c.SessionID,
		Scope:     strings.Join(c.Scope, " "),
		Roles:     roles,
		User:      c.Username,
		ClientID:  c.ClientID,
		AMR:       c.AMR,
		ACR:       c.ACR,
	}
	if !c.IssuedAt.IsZero() {
		claims.IssuedAt = jwt.NewNumericDate(c.IssuedAt)
	}
	if !nbf.IsZero() {
		claims.NotBefore = jwt.NewNumericDate(nbf)
	}
	t := jwt.NewWithClaims(k.method, claims)
	t.Header["typ"] = typAccessToken
	t.Header["kid"] = k.id
	s, err := t.SignedString(k.sign)
	if err != nil {
		return "", fmt.Errorf("issue token: sign: %w", err)
	}
	return s, nil
}
