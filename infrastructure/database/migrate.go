package database

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"

	"gorm.io/gorm"
)

// migrationFiles holds one directory of numbered SQL files per dialect. Both
// directories share one version history: version N means the same schema
// change on either database.
//
//go:embed migrations/sqlite/*.sql migrations/postgres/*.sql
var migrationFiles embed.FS

// migrationLockKey is the pg_advisory_xact_lock key that serialises
// concurrent Migrate calls on Postgres ("gatehous" in ASCII).
const migrationLockKey int64 = 0x67617465686f7573

// migration is one versioned schema change.
type migration struct {
	Version int
	Name    string // file name, e.g. 0001_init.sql
	SQL     string
}

// migrationsFor returns the embedded migrations for dialect in version order.
func migrationsFor(dialect string) ([]migration, error) {
	dir := path.Join("migrations", dialect)
	entries, err := fs.ReadDir(migrationFiles, dir)
	if err != nil {
		return nil, fmt.Errorf("read migrations for %s: %w", dialect, err)
	}
	var out []migration
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		prefix, _, _ := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(prefix)
		if err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s/%s: name must start with a positive version number", dialect, e.Name())
		}
		body, err := fs.ReadFile(migrationFiles, path.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", e.Name(), err)
		}
		out = append(out, migration{Version: v, Name: e.Name(), SQL: string(body)})
	}
	slices.SortFunc(out, func(a, b migration) int { return a.Version - b.Version })
	for i := 1; i < len(out); i++ {
		if out[i].Version == out[i-1].Version {
			return nil, fmt.Errorf("migrations %s and %s share version %d", out[i-1].Name, out[i].Name, out[i].Version)
		}
	}
	return out, nil
}

// Migrate applies every pending migration, each in its own transaction that
// also records its version in schema_migrations, and returns how many it
// applied. It is idempotent and safe to run from several processes at once:
// on Postgres each transaction first takes an advisory lock, on SQLite every
// transaction begins IMMEDIATE (see Open) and so holds the write lock.
func Migrate(ctx context.Context, db *gorm.DB) (applied int, err error) {
	dialect := Dialect(db)
	migrations, err := migrationsFor(dialect)
	if err != nil {
		return 0, err
	}
	for _, m := range migrations {
		done, err := apply(ctx, db, dialect, m)
		if err != nil {
			return applied, err
		}
		if done {
			applied++
		}
	}
	return applied, nil
}

// apply runs m unless it is already recorded, and reports whether it ran.
func apply(ctx context.Context, db *gorm.DB, dialect string, m migration) (bool, error) {
	ran := false
	err := db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if dialect == Postgres {
			if err := tx.Exec("SELECT pg_advisory_xact_lock(?)", migrationLockKey).Error; err != nil {
				return fmt.Errorf("take migration lock: %w", err)
			}
		}
		if err := tx.Exec(createVersionTable(dialect)).Error; err != nil {
			return fmt.Errorf("create schema_migrations: %w", err)
		}
		var n int64
		if err := tx.Raw("SELECT COUNT(*) FROM schema_migrations WHERE version = ?", m.Version).Scan(&n).Error; err != nil {
			return fmt.Errorf("read schema_migrations: %w", err)
		}
		if n > 0 {
			return nil
		}
		if err := tx.Exec(m.SQL).Error; err != nil {
			return fmt.Errorf("apply migration %s: %w", m.Name, err)
		}
		if err := tx.Exec("INSERT INTO schema_migrations (version, applied_at) VALUES (?, CURRENT_TIMESTAMP)", m.Version).Error; err != nil {
			return fmt.Errorf("record migration %s: %w", m.Name, err)
		}
		ran = true
		return nil
	})
	if err != nil {
		return false, err
	}
	return ran, nil
}

func createVersionTable(dialect string) string {
	if dialect == Postgres {
		return "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL)"
	}
	return "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at DATETIME NOT NULL)"
}
