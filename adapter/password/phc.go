package password

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Outer limits for parameters read from a stored hash. A stored string is
// data, not configuration: without these bounds a corrupted or planted row
// could make one Verify allocate gigabytes or spin for minutes.
const (
	MaxMemory  = 1 << 20 // KiB, 1 GiB
	MaxTime    = 100
	MinSaltLen = 8
	MaxSaltLen = 64
	MinKeyLen  = 16
	MaxKeyLen  = 128
)

// argon2Version is the only Argon2 version we produce or accept (0x13).
const argon2Version = 19

// ErrMalformedHash means a stored hash string is not in a format this
// package understands, or its parameters are out of bounds.
var ErrMalformedHash = errors.New("malformed password hash")

// b64 is the PHC string encoding: standard alphabet, no padding, and no
// stray trailing bits, so every hash has exactly one valid spelling.
var b64 = base64.RawStdEncoding.Strict()

// Params are the argon2id cost parameters.
type Params struct {
	Memory  uint32 // KiB
	Time    uint32 // passes over memory
	Threads uint8  // lanes
	SaltLen uint32 // bytes
	KeyLen  uint32 // bytes
}

// DefaultParams returns the OWASP minimum for argon2id: 19 MiB, two passes,
// one lane, a 16-byte salt and a 32-byte key.
func DefaultParams() Params {
	return Params{Memory: 19456, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}
}

// Validate reports whether p is usable: within the outer limits and with at
// least 8 KiB of memory per lane, as argon2 requires.
func (p Params) Validate() error {
	switch {
	case p.Threads < 1:
		return errors.New("threads must be at least 1")
	case p.Time < 1 || p.Time > MaxTime:
		return fmt.Errorf("time must be 1 to %d", MaxTime)
	case p.Memory < 8*uint32(p.Threads) || p.Memory > MaxMemory:
		return fmt.Errorf("memory must be 8*threads to %d KiB", MaxMemory)
	case p.SaltLen < MinSaltLen || p.SaltLen > MaxSaltLen:
		return fmt.Errorf("salt must be %d to %d bytes", MinSaltLen, MaxSaltLen)
	case p.KeyLen < MinKeyLen || p.KeyLen > MaxKeyLen:
		return fmt.Errorf("key must be %d to %d bytes", MinKeyLen, MaxKeyLen)
	}
	return nil
}

// EncodePHC formats an argon2id hash as a PHC string:
// $argon2id$v=19$m=19456,t=2,p=1$<salt>$<key>. SaltLen and KeyLen of p are
// ignored; the lengths of salt and key are what gets encoded.
func EncodePHC(p Params, salt, key []byte) string {
	var b strings.Builder
	b.Grow(48 + b64.EncodedLen(len(salt)) + b64.EncodedLen(len(key)))
	b.WriteString("$argon2id$v=19$m=")
	b.WriteString(strconv.FormatUint(uint64(p.Memory), 10))
	b.WriteString(",t=")
	b.WriteString(strconv.FormatUint(uint64(p.Time), 10))
	b.WriteString(",p=")
	b.WriteString(strconv.FormatUint(uint64(p.Threads), 10))
	b.WriteByte('$')
	b.WriteString(b64.EncodeToString(salt))
	b.WriteByte('$')
	b.WriteString(b64.EncodeToString(key))
	return b.String()
}

// ParsePHC parses an argon2id PHC string as written by EncodePHC. It is
// strict (fixed field order, canonical numbers and base64) and refuses
// parameters beyond the outer limits, so that EncodePHC(ParsePHC(s)) == s
// for every accepted s. The returned Params carry the decoded salt and key
// lengths.
func ParsePHC(s string) (p Params, salt, key []byte, err error) {
	// The base64 decoder skips CR and LF; refuse them so that no two
	// spellings of a hash are accepted.
	if strings.ContainsAny(s, "\r\n") {
		return Params{}, nil, nil, fmt.Errorf("%w: line break", ErrMalformedHash)
	}
	fields := strings.Split(s, "$")
	if len(fields) != 6 || fields[0] != "" {
		return Params{}, nil, nil, fmt.Errorf("%w: want 5 fields", ErrMalformedHash)
	}
	if fields[1] != "argon2id" {
		return Params{}, nil, nil, fmt.Errorf("%w: unsupported algorithm", ErrMalformedHash)
	}
	if v, ok := strings.CutPrefix(fields[2], "v="); !ok {
		return Params{}, nil, nil, fmt.Errorf("%w: missing version", ErrMalformedHash)
	} else if n, ok := parseDecimal(v, argon2Version); !ok || n != argon2Version {
		return Params{}, nil, nil, fmt.Errorf("%w: unsupported version", ErrMalformedHash)
	}
	if p, err = parseCosts(fields[3]); err != nil {
		return Params{}, nil, nil, err
	}
	// Check the encoded length before decoding so an oversized field is
	// refused without allocating for it.
	if len(fields[4]) > b64.EncodedLen(MaxSaltLen) || len(fields[5]) > b64.EncodedLen(MaxKeyLen) {
		return Params{}, nil, nil, fmt.Errorf("%w: salt or key too long", ErrMalformedHash)
	}
	if salt, err = b64.DecodeString(fields[4]); err != nil {
		return Params{}, nil, nil, fmt.Errorf("%w: bad salt encoding", ErrMalformedHash)
	}
	if key, err = b64.DecodeString(fields[5]); err != nil {
		return Params{}, nil, nil, fmt.Errorf("%w: bad key encoding", ErrMalformedHash)
	}
	p.SaltLen, p.KeyLen = uint32(len(salt)), uint32(len(key))
	if err := p.Validate(); err != nil {
		return Params{}, nil, nil, fmt.Errorf("%w: %v", ErrMalformedHash, err)
	}
	return p, salt, key, nil
}

// parseCosts parses "m=<KiB>,t=<passes>,p=<lanes>" in that order.
func parseCosts(s string) (Params, error) {
	parts := strings.Split(s, ",")
	if len(parts) != 3 {
		return Params{}, fmt.Errorf("%w: want m, t and p", ErrMalformedHash)
	}
	var vals [3]uint64
	limits := [3]uint64{MaxMemory, MaxTime, 255}
	for i, name := range [3]string{"m=", "t=", "p="} {
		v, ok := strings.CutPrefix(parts[i], name)
		if !ok {
			return Params{}, fmt.Errorf("%w: want m, t and p in order", ErrMalformedHash)
		}
		n, ok := parseDecimal(v, limits[i])
		if !ok {
			return Params{}, fmt.Errorf("%w: parameter %s out of range", ErrMalformedHash, name[:1])
		}
		vals[i] = n
	}
	return Params{Memory: uint32(vals[0]), Time: uint32(vals[1]), Threads: uint8(vals[2])}, nil
}

// parseDecimal parses a canonical unsigned decimal (no sign, no leading
// zeros) not greater than limit.
func parseDecimal(s string, limit uint64) (uint64, bool) {
	if s == "" || len(s) > 10 || (len(s) > 1 && s[0] == '0') {
		return 0, false
	}
	var n uint64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	return n, n <= limit
}
