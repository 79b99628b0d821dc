package database

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"

	"github.com/pressly/goose/v3"
	goosedb "github.com/pressly/goose/v3/database"
)

// legacyTable is where releases before goose recorded the versions they
// applied, one row per version (version, applied_at). Their versions are the
// same as goose's: the files kept their numbers.
const legacyTable = "schema_migrations"

// adoptLegacyHistory lets goose continue a database migrated by a release
// before goose. Such a database has schema_migrations with versions 1..N
// and no goose_db_version, so goose alone would start again at version 1 and
// fail on the existing tables. This creates goose_db_version and records in
// it version 0 (goose's marker) and the versions schema_migrations holds;
// goose then applies N+1 onwards. The users, sessions and keys are not
// touched.
//
// It runs in one transaction holding the migration lock: on Postgres the
// advisory lock goose's session locker takes (transaction-level and
// session-level locks on one key exclude each other), on SQLite the write
// lock every transaction takes at BEGIN (Open's _txlock=immediate). So
// replicas upgrading together adopt once, and never while goose migrates.
// A schema_migrations that is not a start of this release's history (a
// version this release does not know, or a gap) is refused, not guessed at.
// schema_migrations is left as it was and no longer written, so a release
// before goose still finds its history if it is rolled back to.
func adoptLegacyHistory(ctx context.Context, db *sql.DB, dialect string, sources []*goose.Source) (err error) {
	// Every database goose has run on has its table: after the first start
	// this read is all that happens, and it takes no lock.
	if done, err := tableExists(ctx, db, dialect, goose.DefaultTablename); err != nil || done {
		return err
	}
	gooseDialect, err := gooseDialectOf(dialect)
	if err != nil {
		return err
	}
	store, err := goosedb.NewStore(gooseDialect, goose.DefaultTablename)
	if err != nil {
		return err
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, tx.Rollback())
		}
	}()
	if dialect == Postgres {
		if _, err := tx.ExecContext(ctx, fmt.Sprintf("SET LOCAL lock_timeout = '%ds'", int(lockWait.Seconds()))); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock($1)", migrationLockKey); err != nil {
			return fmt.Errorf("take migration lock: %w", err)
		}
	}
	// Again under the lock: another migrator may have adopted or migrated.
	done, err := tableExists(ctx, tx, dialect, goose.DefaultTablename)
	if err != nil {
		return err
	}
	legacy, err := tableExists(ctx, tx, dialect, legacyTable)
	if err != nil {
		return err
	}
	if done || !legacy {
		return tx.Commit()
	}
	versions, err := legacyVersions(ctx, tx)
	if err != nil {
		return err
	}
	known := make([]int64, len(sources))
	for i, s := range sources {
		known[i] = s.Version
	}
	if len(versions) > len(known) || !slices.Equal(versions, known[:len(versions)]) {
		return fmt.Errorf("%s records versions %v, which do not start this release's history %v", legacyTable, versions, known)
	}
	if err := store.CreateVersionTable(ctx, tx); err != nil {
		return err
	}
	for _, v := range append([]int64{0}, versions...) {
		if err := store.Insert(ctx, tx, goosedb.InsertRequest{Version: v}); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// legacyVersions returns the versions in schema_migrations in order.
func legacyVersions(ctx context.Context, tx *sql.Tx) ([]int64, error) {
	rows, err := tx.QueryContext(ctx, "SELECT version FROM "+legacyTable+" ORDER BY version")
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", legacyTable, err)
	}
	defer rows.Close()
	var versions []int64
	for rows.Next() {
		var v int64
		if err := rows.Scan(&v); err != nil {
			return nil, fmt.Errorf("read %s: %w", legacyTable, err)
		}
		versions = append(versions, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", legacyTable, err)
	}
	return versions, nil
}

// tableExists reports whether table exists in the schema goose and the
// stores use (Postgres: the current schema).
func tableExists(ctx context.Context, db goosedb.DBTxConn, dialect, table string) (bool, error) {
	query := "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?"
	if dialect == Postgres {
		query = "SELECT COUNT(*) FROM pg_tables WHERE schemaname = current_schema() AND tablename = $1"
	}
	var n int
	if err := db.QueryRowContext(ctx, query, table).Scan(&n); err != nil {
		return false, fmt.Errorf("look for table %s: %w", table, err)
	}
	return n > 0, nil
}
