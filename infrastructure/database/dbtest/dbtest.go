// Package dbtest gives tests a database of their own: a SQLite file in
// t.TempDir(), or a fresh Postgres database when GATEHOUSE_TEST_POSTGRES_DSN
// names a server (the test is skipped otherwise).
package dbtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/infrastructure/database"
	// Registers the "pgx" database/sql driver.
	_ "github.com/jackc/pgx/v5/stdlib"
	"gorm.io/gorm"
)

// PostgresEnv names the environment variable holding the DSN of a Postgres
// server the tests may create databases on, for example
// postgres://postgres@127.0.0.1:5432/test?sslmode=disable.
const PostgresEnv = "GATEHOUSE_TEST_POSTGRES_DSN"

// SQLite returns the path of a not-yet-existing SQLite file in t.TempDir().
func SQLite(t testing.TB) string {
	t.Helper()
	return filepath.Join(t.TempDir(), "gatehouse.db")
}

// Open opens dsn with database.Open and closes the pool when t ends.
func Open(t testing.TB, dsn string) *gorm.DB {
	t.Helper()
	db, err := database.Open(context.Background(), dsn, database.Options{})
	if err != nil {
		t.Fatalf("open test database: %v", err)
	}
	t.Cleanup(func() {
		sqlDB, err := db.DB()
		if err == nil {
			err = sqlDB.Close()
		}
		if err != nil {
			t.Errorf("close test database: %v", err)
		}
	})
	return db
}

// Migrated is Open followed by database.Migrate.
func Migrated(t testing.TB, dsn string) *gorm.DB {
	t.Helper()
	db := Open(t, dsn)
	if _, err := database.Migrate(context.Background(), db); err != nil {
		t.Fatalf("migrate test database: %v", err)
	}
	return db
}

// PostgresServer returns the server DSN from PostgresEnv, or skips t when it
// is not set.
func PostgresServer(t testing.TB) string {
	t.Helper()
	dsn := strings.TrimSpace(os.Getenv(PostgresEnv))
	if dsn == "" {
		t.Skip(PostgresEnv + " not set; skipping Postgres tests")
	}
	return dsn
}

// Postgres creates a fresh database named gatehouse_test_<random hex> on
// the server named by PostgresEnv and returns a DSN pointing to it; the
// database is dropped when t ends. Without PostgresEnv it skips t.
func Postgres(t testing.TB) string {
	t.Helper()
	server := PostgresServer(t)
	name := "gatehouse_test_" + randomHex(t, 8)
	if err := exec(server, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create test database %s: %v", name, err)
	}
	t.Cleanup(func() {
		if err := exec(server, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop test database %s: %v", name, err)
		}
	})
	return withDatabase(t, server, name)
}

// exec runs one statement on the server database over its own connection.
func exec(dsn, stmt string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return err
	}
	_, err = db.ExecContext(ctx, stmt)
	return errors.Join(err, db.Close())
}

func randomHex(t testing.TB, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("random database name: %v", err)
	}
	return hex.EncodeToString(b)
}

var dbnameKV = regexp.MustCompile(`(?i)\bdbname\s*=\s*('[^']*'|\S+)`)

// withDatabase returns server with its database replaced by name. It accepts
// both URL and key=value DSNs.
func withDatabase(t testing.TB, server, name string) string {
	t.Helper()
	if strings.HasPrefix(server, "postgres://") || strings.HasPrefix(server, "postgresql://") {
		u, err := url.Parse(server)
		if err != nil {
			t.Fatalf("parse %s: %v", PostgresEnv, err)
		}
		u.Path = "/" + name
		return u.String()
	}
	if dbnameKV.MatchString(server) {
		return dbnameKV.ReplaceAllString(server, "dbname="+name)
	}
	return server + " dbname=" + name
}
