package database_test

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/infrastructure/database"
	"github.com/gatehouse-auth/gatehouse/infrastructure/database/dbtest"
	"gorm.io/gorm"
)

// open opens dsn and closes it when t ends.
func open(t *testing.T, dsn string) *gorm.DB {
	t.Helper()
	return dbtest.Open(t, dsn)
}

// dialects runs fn on a fresh SQLite file and, when configured, a fresh
// Postgres database.
func dialects(t *testing.T, fn func(t *testing.T, dsn string)) {
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		fn(t, dbtest.SQLite(t))
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		fn(t, dbtest.Postgres(t))
	})
}

func TestOpenSQLiteForms(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tests := []struct{ name, dsn, file string }{
		{"plain path", filepath.Join(dir, "plain.db"), "plain.db"},
		{"odd characters", filepath.Join(dir, "odd #1?.db"), "odd #1?.db"},
		{"file uri", "file:" + filepath.Join(dir, "uri%20name.db"), "uri name.db"},
		{"sqlite url", "sqlite://" + filepath.Join(dir, "url.db"), "url.db"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			db := open(t, tt.dsn)
			if err := db.Exec("CREATE TABLE probe (x INTEGER)").Error; err != nil {
				t.Fatalf("write to %s: %v", tt.dsn, err)
			}
			if _, err := os.Stat(filepath.Join(dir, tt.file)); err != nil {
				t.Fatalf("Open(%q) did not create %q: %v", tt.dsn, tt.file, err)
			}
			var mode string
			var fk, timeout int
			if err := db.Raw("PRAGMA journal_mode").Scan(&mode).Error; err != nil || mode != "wal" {
				t.Errorf("journal_mode = %q, %v; want wal", mode, err)
			}
			if err := db.Raw("PRAGMA foreign_keys").Scan(&fk).Error; err != nil || fk != 1 {
				t.Errorf("foreign_keys = %d, %v; want 1", fk, err)
			}
			if err := db.Raw("PRAGMA busy_timeout").Scan(&timeout).Error; err != nil || timeout != 10000 {
				t.Errorf("busy_timeout = %d, %v; want 10000", timeout, err)
			}
		})
	}
}

func TestOpenFailsFast(t *testing.T) {
	t.Parallel()
	// A server that accepts connections and never answers: only the ping
	// deadline can end the wait.
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	accepted := make(chan struct{})
	go func() {
		defer close(accepted)
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	t.Cleanup(func() {
		err := silent.Close()
		<-accepted
		for _, c := range conns {
			err = errors.Join(err, c.Close())
		}
		if err != nil {
			t.Errorf("close silent server: %v", err)
		}
	})

	tests := []struct {
		name string
		dsn  string
		opts database.Options
	}{
		{"refused", "postgres://u:s3cretpw@127.0.0.1:1/x?connect_timeout=1", database.Options{}},
		{"refused without timeout", "postgres://postgres:s3cretpw@127.0.0.1:1/x", database.Options{}},
		{"silent server", "postgres://u:s3cretpw@" + silent.Addr().String() + "/x?sslmode=disable", database.Options{PingTimeout: 500 * time.Millisecond}},
		{"bad postgres dsn", "postgres://u:s3cretpw@127.0.0.1:99999999/x", database.Options{}},
		{"password parameter", "postgres://u@127.0.0.1:1/x?password=s3cretpw&connect_timeout=1", database.Options{}},
		{"sslpassword parameter", "postgres://u@127.0.0.1:1/x?sslmode=require&sslpassword=s3cretpw&connect_timeout=1", database.Options{}},
		{"unparseable url", "postgres://u:s3cretpw@127.0.0.1:1/x%zz", database.Options{}},
		{"missing sqlite directory", filepath.Join(t.TempDir(), "no", "such", "dir", "g.db"), database.Options{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
			defer cancel()
			start := time.Now()
			db, err := database.Open(ctx, tt.dsn, tt.opts)
			if err == nil {
				sqlDB, dbErr := db.DB()
				if dbErr == nil {
					dbErr = sqlDB.Close()
				}
				t.Fatalf("Open(%s) = nil error; want failure (close: %v)", tt.name, dbErr)
			}
			if took := time.Since(start); took > 6*time.Second {
				t.Errorf("Open(%s) took %s; want a few seconds at most", tt.name, took)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("Open(%s) error spans several lines: %q", tt.name, err)
			}
			if strings.Contains(err.Error(), "s3cretpw") {
				t.Errorf("Open(%s) error leaks the password: %v", tt.name, err)
			}
			t.Logf("Open(%s) = %v", tt.name, err)
		})
	}
}
