package domain

import (
	"errors"
	"fmt"
	"hash/crc32"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// API key format (DESIGN.md "API keys"): <prefix>_<40 random base62><6
// base62 checksum characters>. The checksum is the CRC-32 (IEEE) of the 40
// random characters written in base62, most significant digit first and
// left-padded with '0' to 6 characters, so that a secret scanner (and
// Gatehouse, before any store lookup) can tell a real key from a typo or a
// made-up string offline.
const (
	// Base62 is the key alphabet, in digit order.
	Base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	// APIKeyRandomLen is the number of random base62 characters of a key
	// (about 238 bits).
	APIKeyRandomLen = 40
	// APIKeyChecksumLen is the number of checksum characters.
	APIKeyChecksumLen = 6
	// APIKeyHintLen is how many leading characters of a key are kept as
	// its hint.
	APIKeyHintLen = 12
	// DefaultAPIKeyPrefix is the prefix of GATEHOUSE_API_KEY_PREFIX's
	// default.
	DefaultAPIKeyPrefix = "gth"
	// APIKeyPrefixMax is the longest key prefix.
	APIKeyPrefixMax = 16
	// MaxLiveAPIKeys is how many live (neither revoked nor expired) keys a
	// user may hold.
	MaxLiveAPIKeys = 100
	// APIKeyNameMax is the longest key name, in characters.
	APIKeyNameMax = 64
	// APIKeyRevocationPrefix starts the revocation-feed id of a key
	// ("key:"+id), so key ids and session ids never collide in the feed
	// and the revoked set.
	APIKeyRevocationPrefix = "key:"
)

// Errors of API keys.
var (
	// ErrTooManyAPIKeys means the user already holds MaxLiveAPIKeys live
	// keys.
	ErrTooManyAPIKeys = errors.New("too many api keys")
	// ErrInvalidSubjectToken means the API key of a token exchange is
	// malformed, unknown, expired or revoked. It is an ErrInvalidGrant.
	ErrInvalidSubjectToken = fmt.Errorf("%w: api key", ErrInvalidGrant)
)

// APIKey is a long-lived credential a user makes for a program. Only the
// SHA-256 of the key is stored; the key is shown once, at creation.
type APIKey struct {
	ID     string
	UserID string
	Name   string
	// Hint is the key's first APIKeyHintLen characters, to recognise it.
	Hint       string
	Scope      []string
	Hash       []byte // SHA-256 of the key
	CreatedAt  time.Time
	ExpiresAt  time.Time
	LastUsedAt time.Time // zero until first used
	RevokedAt  time.Time // zero while not revoked
}

// Revoked reports whether the key has been revoked.
func (k *APIKey) Revoked() bool { return !k.RevokedAt.IsZero() }

// Live reports whether the key is neither revoked nor expired at now.
func (k *APIKey) Live(now time.Time) bool { return !k.Revoked() && now.Before(k.ExpiresAt) }

// APIKeyGrant is what a presented key leads to: its record and its user,
// as one consistent read.
type APIKeyGrant struct {
	Key  APIKey
	User User
}

// APIKeyRevocation selects one key to revoke: ID, and when UserID is set
// only if the key is that user's.
type APIKeyRevocation struct {
	ID     string
	UserID string
	At     time.Time
	// FeedExpires is written to the key's feed entry.
	FeedExpires time.Time
	// Events commit with the revocation when it revokes the key.
	Events []Event
}

// RevocationID is the key's id in the revocation feed and revoked set.
func (k *APIKey) RevocationID() string { return APIKeyRevocationID(k.ID) }

// APIKeyRevocationID returns the revocation-feed id of the key with id.
func APIKeyRevocationID(id string) string { return APIKeyRevocationPrefix + id }

// ValidateAPIKeyPrefix checks a key prefix: 2-16 characters of a-z 0-9,
// starting with a letter.
func ValidateAPIKeyPrefix(p string) error {
	if !validAPIKeyPrefix(p) {
		return fmt.Errorf("api key prefix %q must be 2 to %d characters of a-z 0-9 starting with a letter", p, APIKeyPrefixMax)
	}
	return nil
}

func validAPIKeyPrefix(p string) bool {
	if len(p) < 2 || len(p) > APIKeyPrefixMax || p[0] < 'a' || p[0] > 'z' {
		return false
	}
	for i := range len(p) {
		if c := p[i]; (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// APIKeyChecksum returns the checksum characters of the random part of a
// key: CRC-32 (IEEE) of random, in base62, most significant digit first,
// left-padded with '0' to APIKeyChecksumLen characters.
func APIKeyChecksum(random string) string {
	b := checksumDigits(random)
	return string(b[:])
}

// checksumDigits is APIKeyChecksum without allocating: it runs on every
// request that presents a key.
func checksumDigits(random string) [APIKeyChecksumLen]byte {
	n := crcIEEE(random)
	var b [APIKeyChecksumLen]byte
	for i := APIKeyChecksumLen - 1; i >= 0; i-- {
		b[i] = Base62[n%62]
		n /= 62
	}
	return b
}

// crcIEEE is crc32.ChecksumIEEE of the bytes of s, computed byte by byte
// with the standard table so that s is not copied into a []byte (the
// library's function pointer makes that copy escape to the heap). The
// tests compare it with hash/crc32.
func crcIEEE(s string) uint32 {
	crc := ^uint32(0)
	for i := range len(s) {
		crc = crc32.IEEETable[byte(crc)^s[i]] ^ crc>>8
	}
	return ^crc
}

// FormatAPIKey assembles a key from its prefix and random part.
func FormatAPIKey(prefix, random string) string {
	return prefix + "_" + random + APIKeyChecksum(random)
}

// CheckAPIKey reports whether key has the shape of a key with prefix and a
// correct checksum. It reads nothing but key: a typo or a made-up key is
// refused without any store lookup.
func CheckAPIKey(prefix, key string) bool {
	if len(key) != len(prefix)+1+APIKeyRandomLen+APIKeyChecksumLen ||
		key[:len(prefix)] != prefix || key[len(prefix)] != '_' {
		return false
	}
	body := key[len(prefix)+1:]
	for i := range len(body) {
		if !isBase62(body[i]) {
			return false
		}
	}
	sum := checksumDigits(body[:APIKeyRandomLen])
	return string(sum[:]) == body[APIKeyRandomLen:] // compared without allocating
}

// LooksLikeAPIKey reports whether token has the shape of a key with prefix
// ("<prefix>_" and the right length), whatever its checksum: such a token
// is judged as a key, never as a JWT.
func LooksLikeAPIKey(prefix, token string) bool {
	return len(token) == len(prefix)+1+APIKeyRandomLen+APIKeyChecksumLen &&
		token[:len(prefix)] == prefix && token[len(prefix)] == '_'
}

// APIKeyShape returns the prefix of token when token has the shape of an
// API key of any prefix GATEHOUSE_API_KEY_PREFIX may name ("<prefix>_"
// and 46 characters), whatever its checksum. Keys made under an earlier
// prefix keep this shape, and a secret scanner matches it: such a token is
// judged as a key, never as a JWT (which is longer) nor as an opaque token
// (which is shorter).
func APIKeyShape(token string) (prefix string, ok bool) {
	n := len(token) - (1 + APIKeyRandomLen + APIKeyChecksumLen)
	if n < 2 || n > APIKeyPrefixMax || token[n] != '_' || !validAPIKeyPrefix(token[:n]) {
		return "", false
	}
	return token[:n], true
}

// CheckAnyAPIKey is CheckAPIKey for a key of any valid prefix: the shape
// of APIKeyShape and a correct checksum, with no store lookup.
func CheckAnyAPIKey(key string) bool {
	prefix, ok := APIKeyShape(key)
	return ok && CheckAPIKey(prefix, key)
}

func isBase62(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
}

// ValidateAPIKeyName checks a key name: 1 to APIKeyNameMax characters of
// valid UTF-8, none a control character (Unicode category Cc: C0, DEL and
// C1), which would garble the lists, the CLI's table and the logs.
func ValidateAPIKeyName(name string) error {
	n := utf8.RuneCountInString(name)
	if n < 1 || n > APIKeyNameMax || !utf8.ValidString(name) ||
		strings.ContainsFunc(name, func(r rune) bool { return unicode.Is(unicode.Cc, r) }) {
		return &ValidationError{Code: CodeInvalidRequest,
			Message: fmt.Sprintf("name must be 1 to %d characters, none of them a control character", APIKeyNameMax)}
	}
	return nil
}
