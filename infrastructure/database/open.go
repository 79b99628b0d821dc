// Package database opens the GORM connection for a DSN (a SQLite file or a
// Postgres URL), sets the pool up and applies the embedded migrations. It is
// plumbing that only main calls; stores receive the *gorm.DB.
package database

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"

	"gorm.io/driver/postgres"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// DefaultSQLitePath is the database used when the DSN is empty.
const DefaultSQLitePath = "gatehouse.db"

// Dialect names returned by Dialect.
const (
	SQLite   = "sqlite"
	Postgres = "postgres"
)

// Options tunes the connection pool. Zero values pick defaults suited to the
// dialect.
type Options struct {
	// MaxOpenConns caps open connections (default 1 for SQLite, whose
	// writers are serialised anyway, 20 for Postgres).
	MaxOpenConns int
	// MaxIdleConns caps idle connections (default MaxOpenConns).
	MaxIdleConns int
	// ConnMaxLifetime recycles connections (default 30 minutes).
	ConnMaxLifetime time.Duration
	// PingTimeout bounds the connectivity check in Open (default 5 s).
	PingTimeout time.Duration
}

// sqliteParams are the connection parameters every SQLite connection gets
// (mattn/go-sqlite3 syntax): WAL so readers never block the writer, a busy
// timeout so writers queue instead of failing with "database is locked",
// foreign keys on, and BEGIN IMMEDIATE so a transaction takes the write lock
// up front rather than failing on upgrade.
var sqliteParams = [][2]string{
	{"_journal_mode", "WAL"},
	{"_busy_timeout", "10000"},
	{"_foreign_keys", "on"},
	{"_txlock", "immediate"},
	{"_synchronous", "NORMAL"},
}

var schemeRE = regexp.MustCompile(`^([a-zA-Z][a-zA-Z0-9+.-]*):`)

// Open connects to the database named by dsn and checks it is reachable
// within opts.PingTimeout. dsn is a SQLite file path (empty means
// DefaultSQLitePath; "file:PATH" and "sqlite://PATH" are accepted too) or a
// "postgres://" / "postgresql://" URL. A new SQLite file is created mode
// 0600 and an existing one that group or others may read is refused
// (secureSQLiteFile). Errors name the problem but never contain a secret
// from the DSN.
func Open(ctx context.Context, dsn string, opts Options) (*gorm.DB, error) {
	dialector, name, err := dialectorFor(dsn)
	if err != nil {
		return nil, err
	}
	if name == SQLite {
		path, query, err := sqlitePath(dsn, dsnScheme(dsn))
		if err == nil {
			err = secureSQLiteFile(path, query)
		}
		if err != nil {
			return nil, err
		}
	}
	db, err := gorm.Open(dialector, &gorm.Config{
		TranslateError:         true,
		SkipDefaultTransaction: true,
		DisableAutomaticPing:   true, // we ping below, with a deadline
		Logger:                 logger.Default.LogMode(logger.Silent),
		NowFunc:                func() time.Time { return time.Now().UTC() },
	})
	if err != nil {
		// gorm.Open closes the pool itself when the dialector fails.
		return nil, fmt.Errorf("open %s database %s: %w", name, Redact(dsn), scrub(err, dsn))
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, fmt.Errorf("open %s database: %w", name, err)
	}
	opts = opts.withDefaults(name)
	sqlDB.SetMaxOpenConns(opts.MaxOpenConns)
	sqlDB.SetMaxIdleConns(opts.MaxIdleConns)
	sqlDB.SetConnMaxLifetime(opts.ConnMaxLifetime)

	pingCtx, cancel := context.WithTimeout(ctx, opts.PingTimeout)
	defer cancel()
	if err := sqlDB.PingContext(pingCtx); err != nil {
		closeErr := sqlDB.Close()
		if errors.Is(err, context.DeadlineExceeded) {
			err = fmt.Errorf("no answer within %s: %w", opts.PingTimeout, err)
		}
		return nil, errors.Join(fmt.Errorf("connect to %s database %s: %w", name, Redact(dsn), scrub(err, dsn)), closeErr)
	}
	return db, nil
}

// Dialect reports which database db talks to: SQLite or Postgres.
func Dialect(db *gorm.DB) string { return db.Dialector.Name() }

func (o Options) withDefaults(dialect string) Options {
	if o.MaxOpenConns <= 0 {
		o.MaxOpenConns = 20
		if dialect == SQLite {
			// SQLite has one writer. With several connections, writers
			// wait inside SQLite's busy handler, which sleeps in
			// millisecond steps; with one, they queue in Go's pool and
			// run back to back (measured: refresh and mixed load up 23-75%).
			o.MaxOpenConns = 1
		}
	}
	if o.MaxIdleConns <= 0 || o.MaxIdleConns > o.MaxOpenConns {
		o.MaxIdleConns = o.MaxOpenConns
	}
	if o.ConnMaxLifetime <= 0 {
		o.ConnMaxLifetime = 30 * time.Minute
	}
	if o.PingTimeout <= 0 {
		o.PingTimeout = 5 * time.Second
	}
	return o
}

// dialectorFor picks the GORM dialector for dsn and returns the dialect name.
func dialectorFor(dsn string) (gorm.Dialector, string, error) {
	switch scheme := dsnScheme(dsn); scheme {
	case "postgres", "postgresql":
		return postgres.Open(withConnectTimeout(dsn)), Postgres, nil
	case "", "file", "sqlite", "sqlite3":
		path, query, err := sqlitePath(dsn, scheme)
		if err != nil {
			return nil, "", err
		}
		return sqlite.Open(sqliteDSN(path, query)), SQLite, nil
	case "memory":
		return nil, "", errors.New(`database "memory:": the in-memory store has no database to open`)
	default:
		return nil, "", fmt.Errorf("database %q: unsupported scheme %q (want a SQLite file path or postgres://)", Redact(dsn), scheme)
	}
}

// dsnScheme returns the lower-case scheme of dsn, or "" for a plain path.
func dsnScheme(dsn string) string {
	if m := schemeRE.FindStringSubmatch(dsn); m != nil && len(m[1]) > 1 { // "C:" is a drive
		return strings.ToLower(m[1])
	}
	return ""
}

// withConnectTimeout adds connect_timeout=5 to a Postgres URL that sets
// none, so an unreachable server fails a request instead of hanging it.
func withConnectTimeout(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return dsn // the driver reports the malformed URL
	}
	q := u.Query()
	if q.Get("connect_timeout") == "" {
		q.Set("connect_timeout", "5")
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// sqlitePath extracts the file path and any extra query parameters.
func sqlitePath(dsn, scheme string) (string, url.Values, error) {
	rest := dsn
	switch scheme {
	case "file":
		rest = strings.TrimPrefix(dsn[len(scheme)+1:], "//")
	case "sqlite", "sqlite3":
		rest = dsn[len(scheme)+1:]
		if !strings.HasPrefix(rest, "//") {
			return "", nil, fmt.Errorf("database %q: want sqlite://PATH", Redact(dsn))
		}
		rest = rest[2:]
	}
	var query url.Values
	if scheme != "" {
		if i := strings.IndexByte(rest, '?'); i >= 0 {
			q, err := url.ParseQuery(rest[i+1:])
			if err != nil {
				return "", nil, fmt.Errorf("database %q: bad parameters: %w", Redact(dsn), scrub(err, dsn))
			}
			rest, query = rest[:i], q
		}
	}
	if scheme == "file" { // a file: URI arrives percent-encoded
		p, err := url.PathUnescape(rest)
		if err != nil {
			return "", nil, fmt.Errorf("database %q: bad path: %w", Redact(dsn), scrub(err, dsn))
		}
		rest = p
	}
	if rest == "" {
		rest = DefaultSQLitePath
	}
	if rest == ":memory:" || query.Get("mode") == "memory" {
		return "", nil, fmt.Errorf("database %q: in-memory SQLite is not supported (each connection would get its own database); use memory: or a file", Redact(dsn))
	}
	return rest, query, nil
}

// sqliteDSN builds the mattn/go-sqlite3 DSN for path: our parameters first
// (the driver honours the first value of a key), then the caller's others.
func sqliteDSN(path string, extra url.Values) string {
	escaped := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path)
	var b strings.Builder
	b.WriteString("file:" + escaped + "?")
	ours := make(map[string]bool, len(sqliteParams))
	for i, p := range sqliteParams {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(p[0] + "=" + p[1])
		ours[p[0]] = true
	}
	for k, vs := range extra {
		if ours[k] {
			continue
		}
		for _, v := range vs {
			b.WriteString("&" + url.QueryEscape(k) + "=" + url.QueryEscape(v))
		}
	}
	return b.String()
}
