package main

import (
	"context"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/infrastructure/database/dbtest"
	"github.com/gatehouse-auth/gatehouse/internal/testkit"
)

// dsnSecret is the database password the tests below must never see in
// anything the commands print.
const dsnSecret = "S3cret-dsn-pw-5e1f"

// TestStartupLineHidesDSNSecrets runs serve in-process on a database whose
// DSN carries a password parameter and checks that the "starting
// gatehouse" line names the database without the password: a SQLite URI
// with _auth_pass= always, and Postgres with password= when
// GATEHOUSE_TEST_POSTGRES_DSN is set.
func TestStartupLineHidesDSNSecrets(t *testing.T) {
	t.Parallel()
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		dsn := "file:" + filepath.Join(t.TempDir(), "gatehouse.db") + "?_auth_user=gh&_auth_pass=" + dsnSecret
		checkStartupLine(t, dsn, dsnSecret, "_auth_pass=xxxxx")
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		u, err := url.Parse(dbtest.Postgres(t))
		if err != nil || u.Scheme == "" {
			t.Skipf("%s is not a URL; this test moves its password into ?password=", dbtest.PostgresEnv)
		}
		pw, ok := u.User.Password()
		if !ok {
			pw = dsnSecret // a server that asks for none ignores it
		}
		u.User = url.User(u.User.Username())
		q := u.Query()
		q.Set("password", pw)
		u.RawQuery = q.Encode()
		checkStartupLine(t, u.String(), pw, "password=xxxxx")
	})
}

// checkStartupLine serves dsn until the start-up line is out and checks
// that nothing printed holds secret and the line holds want.
func checkStartupLine(t *testing.T, dsn, secret, want string) {
	t.Helper()
	out := serveUntilStarted(t, map[string]string{"GATEHOUSE_DB": dsn, "GATEHOUSE_ADDR": "127.0.0.1:0", "GATEHOUSE_LOG_LEVEL": "info"})
	if strings.Contains(out, secret) {
		t.Errorf("serve output leaks the database password:\n%s", out)
	}
	if !strings.Contains(out, want) {
		t.Errorf("start-up line does not name the redacted database (%s):\n%s", want, out)
	}
}

// TestDSNSecretsStayOutOfErrors points every command that opens the
// database at an unreachable Postgres whose DSN carries the password in
// the user-info, password= and sslpassword=: each must fail with one line
// naming --db that holds none of them.
func TestDSNSecretsStayOutOfErrors(t *testing.T) {
	t.Parallel()
	dsns := map[string]string{
		"user-info":   "postgres://gh:" + dsnSecret + "@127.0.0.1:1/gatehouse?connect_timeout=1",
		"password":    "postgres://gh@127.0.0.1:1/gatehouse?password=" + dsnSecret + "&connect_timeout=1",
		"sslpassword": "postgres://gh@127.0.0.1:1/gatehouse?sslmode=disable&sslpassword=" + dsnSecret + "&connect_timeout=1",
		"unparseable": "postgres://gh:" + dsnSecret + "@127.0.0.1:1/gatehouse%zz",
	}
	for name, dsn := range dsns {
		for _, args := range [][]string{{"serve"}, {"migrate"}, {"user", "list"}} {
			t.Run(name+"/"+strings.Join(args, " "), func(t *testing.T) {
				t.Parallel()
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				out, errOut, code := runCLI(ctx, map[string]string{"GATEHOUSE_DB": dsn, "GATEHOUSE_ADDR": "127.0.0.1:0"}, "", args...)
				if code == 0 {
					t.Fatalf("%s on an unreachable database exited 0; want a failure", args)
				}
				if !strings.Contains(errOut, "--db") || strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
					t.Errorf("%s error = %q; want one line naming --db", args, errOut)
				}
				if strings.Contains(out+errOut, dsnSecret) {
					t.Errorf("%s output leaks the database password: %q", args, out+errOut)
				}
			})
		}
	}
}

// runCLI runs one gatehouse command in-process with the given environment.
func runCLI(ctx context.Context, env map[string]string, stdin string, args ...string) (stdout, stderr string, code int) {
	var out, errb testkit.LogBuffer
	code = run(ctx, args, func(k string) string { return env[k] }, strings.NewReader(stdin), &out, &errb)
	return out.String(), errb.String(), code
}
