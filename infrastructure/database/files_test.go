//go:build unix

package database_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/gatehouse-auth/gatehouse/infrastructure/database"
	"github.com/gatehouse-auth/gatehouse/infrastructure/database/dbtest"
)

// umaskChildEnv tells a re-executed test binary which umask to run under.
const umaskChildEnv = "GATEHOUSE_TEST_UMASK_CHILD"

// TestSQLiteFilesAre0600 opens a fresh database under umasks 000 and 022,
// writes to it, and checks the file and its -wal and -shm are 0600 while
// the database is open. The umask is process-wide, so each case runs in a
// child process (this test binary, re-executed).
func TestSQLiteFilesAre0600(t *testing.T) {
	if mask := os.Getenv(umaskChildEnv); mask != "" {
		sqliteFilesChild(t, mask)
		return
	}
	t.Parallel()
	for _, mask := range []string{"000", "022"} {
		t.Run("umask "+mask, func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command(os.Args[0], "-test.run=^TestSQLiteFilesAre0600$", "-test.count=1", "-test.v")
			cmd.Env = append(os.Environ(), umaskChildEnv+"="+mask, "TMPDIR="+t.TempDir())
			out, err := cmd.CombinedOutput()
			if err != nil || !strings.Contains(string(out), "checked -wal and -shm") {
				t.Fatalf("child under umask %s: %v\n%s", mask, err, out)
			}
		})
	}
}

// sqliteFilesChild is TestSQLiteFilesAre0600 inside the child process.
func sqliteFilesChild(t *testing.T, mask string) {
	var m int
	if _, err := fmt.Sscanf(mask, "%o", &m); err != nil {
		t.Fatalf("%s=%q: %v", umaskChildEnv, mask, err)
	}
	syscall.Umask(m)
	path := filepath.Join(t.TempDir(), "gatehouse.db")
	for _, dsn := range []string{path, "file:" + path + "?cache=private"} {
		db, err := database.Open(context.Background(), dsn, database.Options{})
		if err != nil {
			t.Fatalf("Open(%q) under umask %s: %v", dsn, mask, err)
		}
		if err := db.Exec("CREATE TABLE IF NOT EXISTS probe (x INTEGER)").Error; err != nil {
			t.Fatal(err)
		}
		if err := db.Exec("INSERT INTO probe VALUES (1)").Error; err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{path, path + "-wal", path + "-shm"} {
			info, err := os.Stat(f)
			if err != nil {
				t.Fatalf("after a write through %q: %v", dsn, err)
			}
			if got := info.Mode().Perm(); got != 0o600 {
				t.Errorf("%s under umask %s has mode %04o; want 0600", filepath.Base(f), mask, got)
			}
		}
		sqlDB, err := db.DB()
		if err != nil {
			t.Fatal(err)
		}
		if err := sqlDB.Close(); err != nil {
			t.Fatal(err)
		}
	}
	t.Log("checked -wal and -shm")
}

// TestOpenRefusesAnOpenDatabaseFile: an existing database file that group
// or others may read stops Open with one line naming the file and the
// chmod to run; a stray -wal or -shm open to them is narrowed to 0600.
func TestOpenRefusesAnOpenDatabaseFile(t *testing.T) {
	t.Parallel()
	for _, mode := range []os.FileMode{0o644, 0o640, 0o604, 0o660} {
		t.Run(fmt.Sprintf("%04o", mode), func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "gatehouse.db")
			mustFile(t, path, mode)
			for _, dsn := range []string{path, "file:" + path, "sqlite://" + path + "?_busy_timeout=1"} {
				db, err := database.Open(context.Background(), dsn, database.Options{})
				if err == nil {
					sqlDB, _ := db.DB()
					sqlDB.Close()
					t.Fatalf("Open(%q) of a mode %04o file = nil error; want a refusal", dsn, mode)
				}
				want := fmt.Sprintf("database file %s is readable by group or others (mode %04o): run chmod 600 %s", path, mode, path)
				if err.Error() != want {
					t.Errorf("Open(%q) = %q; want %q", dsn, err, want)
				}
			}
			if info, err := os.Stat(path); err != nil || info.Mode().Perm() != mode {
				t.Errorf("refused file's mode = %v, %v; want it left at %04o", info.Mode(), err, mode)
			}
		})
	}
	t.Run("path to quote", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "gate house's.db")
		mustFile(t, path, 0o640)
		_, err := database.Open(context.Background(), path, database.Options{})
		want := fmt.Sprintf(`(mode 0640): run chmod 600 '%s'`, strings.ReplaceAll(path, "'", `'\''`))
		if err == nil || !strings.HasSuffix(err.Error(), want) {
			t.Errorf("Open(%q) = %v; want an error ending %q", path, err, want)
		}
	})
	// A -wal and -shm left open to others (by an older version, say) beside
	// a running server: opening the database again narrows them.
	t.Run("existing wal and shm", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "gatehouse.db")
		running := dbtest.Open(t, path)
		if err := running.Exec("CREATE TABLE probe (x INTEGER)").Error; err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{path + "-wal", path + "-shm"} {
			if info, err := os.Stat(f); err != nil || info.Size() == 0 {
				t.Fatalf("%s = %v, %v; want a non-empty file beside the open database", filepath.Base(f), info, err)
			}
			if err := os.Chmod(f, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		second := dbtest.Open(t, path)
		if err := second.Exec("INSERT INTO probe VALUES (1)").Error; err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{path, path + "-wal", path + "-shm"} {
			if info, err := os.Stat(f); err != nil || info.Mode().Perm() != 0o600 {
				t.Errorf("%s mode = %v, %v; want 0600", filepath.Base(f), info.Mode(), err)
			}
		}
	})
}

// mustFile creates an empty file with exactly mode perm.
func mustFile(t *testing.T, path string, perm os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, nil, perm); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, perm); err != nil {
		t.Fatal(err)
	}
}
