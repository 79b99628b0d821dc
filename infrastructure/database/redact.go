package database

import (
	"errors"
	"net/url"
	"regexp"
	"strings"
)

// mask replaces a secret in a redacted DSN.
const mask = "xxxxx"

// Redact returns dsn fit for a log line or an error message. The password
// of a URL's user-info and the value of every parameter that carries a
// secret (password, sslpassword, or any name containing "pass", "secret"
// or "token"), in a URL query or a key=value Postgres DSN, become "xxxxx".
// A URL that does not parse keeps only its scheme. It never fails and
// returns dsn unchanged when there is nothing to hide. It is the one DSN
// redactor: everything that prints a DSN goes through it.
func Redact(dsn string) string {
	out, _ := redact(dsn)
	return out
}

// redact returns dsn redacted and the secret values it hid (for scrub).
func redact(dsn string) (string, []string) {
	m := schemeRE.FindStringSubmatch(dsn)
	if m == nil || len(m[1]) == 1 { // no scheme, or a drive letter ("C:")
		return redactKV(dsn)
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return redactUnparsed(dsn, m[1])
	}
	var secrets []string
	if u.User != nil {
		if pw, ok := u.User.Password(); ok {
			secrets = append(secrets, pw)
			u.User = url.UserPassword(u.User.Username(), mask)
		}
	}
	if at := strings.LastIndexByte(u.Opaque, '@'); at >= 0 { // "postgres:user:pw@host"
		secrets = append(secrets, u.Opaque[:at])
		u.Opaque = mask + u.Opaque[at:]
	}
	if u.RawQuery != "" {
		var found []string
		u.RawQuery, found = redactQuery(u.RawQuery)
		secrets = append(secrets, found...)
	}
	if len(secrets) == 0 {
		return dsn, nil // as given: re-encoding would change a harmless DSN
	}
	return u.String(), secrets
}

// secretParam reports whether a DSN parameter named name carries a secret.
// Key paths (sslkey, sslcert) are not secrets; passfile is hidden anyway.
func secretParam(name string) bool {
	n := strings.ToLower(name)
	return strings.Contains(n, "pass") || strings.Contains(n, "secret") || strings.Contains(n, "token")
}

// redactQuery masks the secret values in a raw URL query, keeping the
// order and spelling of everything else.
func redactQuery(raw string) (string, []string) {
	var b strings.Builder
	var secrets []string
	for raw != "" {
		pair, sep := raw, ""
		if i := strings.IndexAny(raw, "&;"); i >= 0 {
			pair, sep, raw = raw[:i], raw[i:i+1], raw[i+1:]
		} else {
			raw = ""
		}
		key, val, _ := strings.Cut(pair, "=")
		name, err := url.QueryUnescape(key)
		if err != nil {
			name = key
		}
		if val != "" && secretParam(name) {
			secrets = append(secrets, val)
			if v, err := url.QueryUnescape(val); err == nil {
				secrets = append(secrets, v)
			}
			pair = key + "=" + mask
		}
		b.WriteString(pair)
		b.WriteString(sep)
	}
	return b.String(), secrets
}

// kvParam matches one keyword=value of a libpq key=value DSN: the value is
// single-quoted (backslash escapes, possibly unterminated) or runs to the
// next white space.
var kvParam = regexp.MustCompile(`(?:^|\s)([A-Za-z0-9_.-]+)\s*=\s*('(?:[^'\\]|\\(?s:.)?)*(?:'|$)|\S+)`)

// redactKV masks the secret values of a key=value DSN (or leaves a plain
// file path as it is).
func redactKV(dsn string) (string, []string) {
	var b strings.Builder
	var secrets []string
	last := 0
	for _, m := range kvParam.FindAllStringSubmatchIndex(dsn, -1) {
		val, inner := dsn[m[4]:m[5]], dsn[m[4]:m[5]]
		if strings.HasPrefix(val, "'") {
			inner = strings.TrimSuffix(val[1:], "'")
		}
		if !secretParam(dsn[m[2]:m[3]]) {
			// "a='b password=x" or "a= password=x": libpq reads the
			// password as a's value, but it is still a password.
			if !strings.Contains(inner, "=") {
				continue
			}
			r, found := redactKV(inner)
			if len(found) == 0 {
				continue
			}
			secrets = append(secrets, found...)
			b.WriteString(dsn[last:m[4]])
			b.WriteString(strings.Replace(val, inner, r, 1))
			last = m[5]
			continue
		}
		secrets = append(secrets, val, inner, strings.NewReplacer(`\'`, `'`, `\\`, `\`).Replace(inner))
		b.WriteString(dsn[last:m[4]])
		b.WriteString(mask)
		last = m[5]
	}
	if len(secrets) == 0 {
		return dsn, nil
	}
	b.WriteString(dsn[last:])
	return b.String(), secrets
}

// redactUnparsed handles a URL that url.Parse refuses: it keeps the scheme
// only, and guesses the secrets (user-info password, secret parameters) so
// that scrub can still remove them from a driver's message.
func redactUnparsed(dsn, scheme string) (string, []string) {
	rest := dsn[len(scheme)+1:]
	var secrets []string
	if at := strings.LastIndexByte(rest, '@'); at >= 0 {
		if _, pw, ok := strings.Cut(strings.TrimPrefix(rest[:at], "//"), ":"); ok && pw != "" {
			secrets = append(secrets, pw)
		}
	}
	if _, q, ok := strings.Cut(rest, "?"); ok {
		_, found := redactQuery(q)
		secrets = append(secrets, found...)
	}
	if strings.HasPrefix(rest, "//") {
		return scheme + "://" + mask, secrets
	}
	return scheme + ":" + mask, secrets
}

// scrub returns err as one line of text that does not contain the DSN's
// secrets (a driver might quote the DSN back). It keeps the error chain
// unless a secret had to be removed.
func scrub(err error, dsn string) error {
	msg, leaked := err.Error(), false
	_, secrets := redact(dsn)
	for _, s := range secrets {
		for _, spelling := range []string{s, url.QueryEscape(s), url.PathEscape(s)} {
			if spelling != "" && strings.Contains(msg, spelling) {
				msg, leaked = strings.ReplaceAll(msg, spelling, mask), true
			}
		}
	}
	msg = strings.Join(strings.Fields(msg), " ")
	if leaked {
		return errors.New(msg)
	}
	return &lineError{msg: msg, err: err}
}

// lineError shows a driver error on one line and unwraps to it.
type lineError struct {
	msg string
	err error
}

func (e *lineError) Error() string { return e.msg }
func (e *lineError) Unwrap() error { return e.err }
