//go:build unix

package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/testkit"
)

// underUmask000 is a sh script that runs "$0" "$@" with umask 000.
const underUmask000 = `umask 000; exec "$0" "$@"`

// checkDBFiles fails t unless db exists with mode 0600, and its -wal and
// -shm, when present (or when wantSide), are 0600 too.
func checkDBFiles(t *testing.T, db string, wantSide bool) {
	t.Helper()
	for _, f := range []string{db, db + "-wal", db + "-shm"} {
		info, err := os.Stat(f)
		if err != nil {
			if f == db || wantSide || !os.IsNotExist(err) {
				t.Errorf("stat %s: %v", filepath.Base(f), err)
			}
			continue
		}
		if got := info.Mode().Perm(); got != 0o600 {
			t.Errorf("%s has mode %04o under umask 000; want 0600", filepath.Base(f), got)
		}
	}
}

// TestDatabaseFilesAre0600UnderUmask000 runs the binary under umask 000,
// each command on a fresh database path: the CLI commands, then serve
// (whose -wal and -shm exist while it runs).
func TestDatabaseFilesAre0600UnderUmask000(t *testing.T) {
	t.Parallel()
	bin := binary(t)
	if out, err := exec.Command("sh", "-c", underUmask000, "sh", "-c", "umask").Output(); err != nil || strings.TrimSpace(string(out)) != "0000" {
		t.Fatalf("sh wrapper: umask = %q, %v; want 0000", out, err)
	}
	for _, args := range [][]string{{"migrate"}, {"user", "list"}, {"user", "add", "alice", "--password-stdin"}, {"keys", "list"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			t.Parallel()
			db := filepath.Join(t.TempDir(), "gatehouse.db")
			env := []string{"GATEHOUSE_DB=" + db, "GATEHOUSE_LOG_LEVEL=warn"}
			out, errOut, code := runBinaryIn("sh", env, "correct horse battery\n", append([]string{"-c", underUmask000, bin}, args...)...)
			if code != 0 {
				t.Fatalf("gatehouse %s = exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
			}
			checkDBFiles(t, db, false)
		})
	}
	t.Run("serve", func(t *testing.T) {
		t.Parallel()
		db := filepath.Join(t.TempDir(), "gatehouse.db")
		addr := freeAddr(t)
		cmd := exec.Command("sh", "-c", underUmask000, bin, "serve", "--addr", addr)
		cmd.Env = append(os.Environ(), "GATEHOUSE_DB="+db, "GATEHOUSE_LOG_LEVEL=warn")
		logs := &testkit.LogBuffer{}
		cmd.Stderr = logs
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() {
			cmd.Process.Signal(syscall.SIGTERM)
			cmd.Wait()
		}()
		base := "http://" + addr
		awaitHealthy(t, base, logs)
		resp, err := http.Post(base+"/users", "application/json", strings.NewReader(`{"username":"bob","password":"a long enough password"}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("POST /users = %d; want 201", resp.StatusCode)
		}
		checkDBFiles(t, db, true)
	})
}

// TestOpenDatabaseFileStopsStartup: an existing database file that group
// or others may read stops serve and every CLI command with one line
// naming the file and the chmod to run.
func TestOpenDatabaseFileStopsStartup(t *testing.T) {
	t.Parallel()
	bin := binary(t)
	db := filepath.Join(t.TempDir(), "gatehouse.db")
	env := []string{"GATEHOUSE_DB=" + db, "GATEHOUSE_LOG_LEVEL=warn"}
	if _, errOut, code := runBinaryIn(bin, env, "", "migrate"); code != 0 {
		t.Fatalf("migrate: %s", errOut)
	}
	if err := os.Chmod(db, 0o644); err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("gatehouse: --db: database file %s is readable by group or others (mode 0644): run chmod 600 %s\n", db, db)
	for _, args := range [][]string{{"serve", "--addr", "127.0.0.1:0"}, {"migrate"}, {"user", "list"}} {
		t.Run(args[0], func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, bin, args...)
			cmd.Env = append(os.Environ(), env...)
			out, err := cmd.CombinedOutput()
			if err == nil || string(out) != want {
				t.Errorf("gatehouse %s on a mode 0644 database = %v\n%s\nwant a failure with\n%s", strings.Join(args, " "), err, out, want)
			}
		})
	}
}
