package token

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gatehouse-auth/gatehouse/domain"
)

// verifyClaims is the payload we parse. The embedded RegisteredClaims
// accepts aud as a string or an array. Its exp, nbf and iat are shadowed
// by numericDate fields, which accept only JSON numbers.
type verifyClaims struct {
	jwt.RegisteredClaims
	ExpiresAt *numericDate `json:"exp"`
	NotBefore *numericDate `json:"nbf"`
	IssuedAt  *numericDate `json:"iat"`
	SessionID string       `json:"sid"`
	Scope     string       `json:"scope"`
	Roles     []string     `json:"roles"`
	User      string       `json:"user"`
	ClientID  string       `json:"client_id"`
	AMR       []string     `json:"amr"`
	ACR       string       `json:"acr"`
}

// errDateType is why a token with a quoted exp, nbf or iat is refused.
var errDateType = errors.New("exp, nbf and iat must be numbers")

// numericDate is a jwt.NumericDate that must be a JSON number, as RFC 7519
// section 2 defines it. golang-jwt also accepts a string holding a number
// ("exp":"9999999999"), which other verifiers refuse.
type numericDate jwt.NumericDate

// UnmarshalJSON refuses anything but a number and then converts it as
// jwt.NumericDate does (seconds, fractions kept down to jwt.TimePrecision).
// It parses the number itself: jwt.NumericDate runs a nested json.Unmarshal
// per date, a tenth of an uncached HS256 check for the three of them. A
// JSON null never gets here: it leaves the pointer nil.
func (d *numericDate) UnmarshalJSON(b []byte) error {
	if len(b) == 0 || (b[0] != '-' && (b[0] < '0' || b[0] > '9')) {
		return errDateType
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return fmt.Errorf("numeric date %s: %w", b, err)
	}
	secs, frac := math.Modf(f)
	*d = numericDate(*jwt.NewNumericDate(time.Unix(int64(secs), int64(frac*1e9))))
	return nil
}

// GetExpirationTime, GetNotBefore and GetIssuedAt give golang-jwt's
// validator the shadowing fields in place of the embedded ones.
func (c *verifyClaims) GetExpirationTime() (*jwt.NumericDate, error) {
	return (*jwt.NumericDate)(c.ExpiresAt), nil
}

func (c *verifyClaims) GetNotBefore() (*jwt.NumericDate, error) {
	return (*jwt.NumericDate)(c.NotBefore), nil
}

func (c *verifyClaims) GetIssuedAt() (*jwt.NumericDate, error) {
	return (*jwt.NumericDate)(c.IssuedAt), nil
}

// Validate makes golang-jwt refuse a token without a subject.
func (c *verifyClaims) Validate() error {
	if c.Subject == "" {
		return errNoSubject
	}
	return nil
}

// toDomain maps parsed claims to domain.Claims.
func toDomain(c *verifyClaims) *domain.Claims {
	cl := &domain.Claims{
		ID:        c.ID,
		Subject:   c.Subject,
		Username:  c.User,
		SessionID: c.SessionID,
		ClientID:  c.ClientID,
		ACR:       c.ACR,
	}
	if len(c.AMR) > 0 {
		cl.AMR = slices.Clip(c.AMR) // "amr": [] reads as none
	}
	if len(c.Roles) > 0 {
		cl.Roles = slices.Clip(c.Roles) // "roles": [] reads as none
	}
	if c.Scope != "" {
		cl.Scope = slices.Clip(strings.Fields(c.Scope))
	}
	if c.IssuedAt != nil {
		cl.IssuedAt = c.IssuedAt.UTC()
	}
	if c.NotBefore != nil {
		cl.NotBefore = c.NotBefore.UTC()
	}
	if c.ExpiresAt != nil {
		cl.ExpiresAt = c.ExpiresAt.UTC()
	}
	return cl
}
