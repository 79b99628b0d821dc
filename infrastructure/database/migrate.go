package database

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"time"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	"gorm.io/gorm"
)

// migrationFiles is the schema history, run by goose.
//
// One history, two dialects: every version is one goose SQL file, written
// once per dialect under the same name in migrations/sqlite and
// migrations/postgres (0004_security_stamp.sql in both), and goose is given
// the directory of the database it migrates. The version numbers, names and
// order are therefore the same on both databases and each records them in
// the same goose_db_version table; only the SQL types differ (BLOB/BYTEA,
// DATETIME/TIMESTAMPTZ, AUTOINCREMENT/BIGSERIAL, COLLATE "C"). SQL written
// to run on both would have to give up those types, and Go migrations that
// pick a string per dialect would hide the SQL from goose's parser and from
// a reader; two plain files per version keep each dialect's SQL readable.
// TestMigrationsShareOneHistory fails when a version exists for one dialect
// only or the names differ. Applied files never change: a change is a new
// version in both directories.
//
//go:embed migrations/sqlite/*.sql migrations/postgres/*.sql
var migrationFiles embed.FS

// migrationLockKey is the Postgres advisory lock that serialises migrators
// ("gatehous" in ASCII). The release before goose took the same key, so an
// old and a new replica starting together exclude each other as well.
const migrationLockKey int64 = 0x67617465686f7573

// lockWait bounds how long a migrator waits for another one to finish.
const lockWait = 5 * time.Minute

// Migrate applies every pending migration with goose and returns how many it
// applied (on failure, how many were applied before it). Each migration runs
// in its own transaction that also records its version in goose_db_version.
//
// It is idempotent and safe to run from several processes at once. Finding
// nothing pending takes no lock; a run with work holds a lock throughout, so
// replicas starting together apply each migration once and the others wait
// and then find nothing to do. On Postgres the lock is a
// session advisory lock (goose's session locker); on SQLite, which goose does
// not lock, it is a file lock beside the database (fileLocker), so the CLI
// and a running server may share the file.
//
// A database migrated by a release before goose (versions in
// schema_migrations) is recognised and continues from where it stopped; see
// adoptLegacyHistory.
func Migrate(ctx context.Context, db *gorm.DB) (applied int, err error) {
	sqlDB, err := db.DB()
	if err != nil {
		return 0, fmt.Errorf("migrate: %w", err)
	}
	dialect := Dialect(db)
	provider, err := newProvider(dialect, sqlDB)
	if err != nil {
		return 0, err
	}
	if err := adoptLegacyHistory(ctx, sqlDB, dialect, provider.ListSources()); err != nil {
		return 0, fmt.Errorf("continue from schema_migrations: %w", err)
	}
	results, err := provider.Up(ctx)
	if err != nil {
		var partial *goose.PartialError
		if errors.As(err, &partial) {
			applied = len(partial.Applied)
		}
		return applied, fmt.Errorf("apply migrations: %w", err)
	}
	return len(results), nil
}

// newProvider returns the goose provider for dialect: its directory of
// migrations, its lock, no global Go migrations and no output.
func newProvider(dialect string, db *sql.DB) (*goose.Provider, error) {
	gooseDialect, err := gooseDialectOf(dialect)
	if err != nil {
		return nil, err
	}
	var locker lock.SessionLocker = &fileLocker{}
	if dialect == Postgres {
		// Poll every second (the minimum) instead of goose's five, so a
		// replica waiting on another's run starts soon after it ends.
		locker, err = lock.NewPostgresSessionLocker(
			lock.WithLockID(migrationLockKey),
			lock.WithLockTimeout(1, uint64(lockWait/time.Second)),
		)
		if err != nil {
			return nil, fmt.Errorf("migration lock: %w", err)
		}
	}
	files, err := migrationsFor(dialect)
	if err != nil {
		return nil, err
	}
	provider, err := goose.NewProvider(gooseDialect, db, files,
		goose.WithSessionLocker(locker),
		goose.WithDisableGlobalRegistry(true),
		goose.WithLogger(goose.NopLogger()),
	)
	if err != nil {
		return nil, fmt.Errorf("read migrations for %s: %w", dialect, err)
	}
	return provider, nil
}

// gooseDialectOf names dialect the way goose does.
func gooseDialectOf(dialect string) (goose.Dialect, error) {
	switch dialect {
	case Postgres:
		return goose.DialectPostgres, nil
	case SQLite:
		return goose.DialectSQLite3, nil
	default:
		return "", fmt.Errorf("migrate: no migrations for dialect %q", dialect)
	}
}

// migrationsFor returns the embedded directory of dialect's migrations.
func migrationsFor(dialect string) (fs.FS, error) {
	files, err := fs.Sub(migrationFiles, path.Join("migrations", dialect))
	if err != nil {
		return nil, fmt.Errorf("read migrations for %s: %w", dialect, err)
	}
	return files, nil
}
