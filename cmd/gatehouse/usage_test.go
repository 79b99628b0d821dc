package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/infrastructure/config"
	"github.com/gatehouse-auth/gatehouse/internal/testkit"
)

// settingsOf lists the variable and flag of every setting, from the tags of
// config.Config.
func settingsOf(t *testing.T) (variables, flags []string) {
	t.Helper()
	for f := range reflect.TypeFor[config.Config]().Fields() {
		variables = append(variables, f.Tag.Get("env"))
		switch {
		case f.Type == reflect.TypeFor[config.Secret]():
		case hasTag(f, "negatable"):
			flags = append(flags, "--[no-]"+f.Tag.Get("name"))
		default:
			flags = append(flags, "--"+f.Tag.Get("name"))
		}
	}
	return variables, flags
}

func hasTag(f reflect.StructField, key string) bool {
	_, ok := f.Tag.Lookup(key)
	return ok
}

// TestSettingsAroundTheCommand: settings may come before or after the
// command and its arguments, and a flag wins over its variable.
func TestSettingsAroundTheCommand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := filepath.Join(dir, "gatehouse.db")
	env := map[string]string{"GATEHOUSE_DB": filepath.Join(dir, "missing", "dir", "gatehouse.db")}
	if _, errOut, code := cliEnv(t, env, "a fine password\n", "--db", db, "user", "add", "alice", "--password-stdin"); code != 0 {
		t.Fatalf("gatehouse --db DB user add = %d: %s", code, errOut)
	}
	out, errOut, code := cliEnv(t, env, "", "user", "list", "--db", db, "--log-level", "error")
	if code != 0 || !strings.Contains(out, "alice") {
		t.Errorf("gatehouse user list --db DB = %d %q %q; want alice from the flag's database", code, out, errOut)
	}
	if _, errOut, code := cliEnv(t, env, "", "user", "list"); code == 0 || !strings.Contains(errOut, "--db: ") {
		t.Errorf("gatehouse user list with GATEHOUSE_DB in a missing directory = %d %q; want an error naming --db", code, errOut)
	}
}

func TestSecretFlagRefused(t *testing.T) {
	t.Parallel()
	secret := strings.Repeat("s", 40)
	_, errOut, code := cliEnv(t, map[string]string{"GATEHOUSE_DB": "memory:"}, "", "serve", "--signing-alg", "HS256", "--jwt-secret", secret)
	if code == 0 || !strings.Contains(errOut, "--jwt-secret: ") || !strings.Contains(errOut, "GATEHOUSE_JWT_SECRET") || strings.Contains(errOut, secret) {
		t.Errorf("serve --jwt-secret SECRET = %d %q; want a refusal naming the variable, without the secret", code, errOut)
	}
}

func TestIssuerMissesLoopback(t *testing.T) {
	t.Parallel()
	served := &net.TCPAddr{IP: net.IPv4zero, Port: 9090}
	for _, tt := range []struct {
		issuer string
		want   bool
	}{
		{"http://localhost:8080", true},
		{"http://LOCALHOST:9090", false},
		{"http://127.0.0.1:9090", false},
		{"http://127.1.2.3:8080", true},
		{"http://[::1]:8080", true},
		{"http://[::1]:9090", false},
		{"http://localhost", true}, // port 80
		{"https://auth.example.com", false},
		{"http://10.0.0.5:8080", false}, // may be a proxy
		{"not a url", false},
	} {
		if got := issuerMissesLoopback(tt.issuer, served); got != tt.want {
			t.Errorf("issuerMissesLoopback(%q, :9090) = %v; want %v", tt.issuer, got, tt.want)
		}
	}
}

// TestIssuerWarningAtStartUp: serve logs one warning when the issuer names
// a loopback port it does not serve, and none when it names the served one.
func TestIssuerWarningAtStartUp(t *testing.T) {
	t.Parallel()
	addr := freeAddr(t)
	_, port, _ := net.SplitHostPort(addr)
	for _, tt := range []struct {
		issuer string
		warns  bool
	}{
		{"http://localhost:1", true},
		{"http://localhost:" + port, false},
	} {
		t.Run(tt.issuer, func(t *testing.T) {
			t.Parallel()
			serveAddr := addr
			if tt.warns {
				serveAddr = "127.0.0.1:0"
			}
			env := map[string]string{"GATEHOUSE_DB": "memory:", "GATEHOUSE_ADDR": serveAddr, "GATEHOUSE_ISSUER": tt.issuer, "GATEHOUSE_LOG_FORMAT": "text"}
			log := serveUntilStarted(t, env)
			warnings := strings.Count(log, "level=WARN msg=\"GATEHOUSE_ISSUER names a loopback port")
			if tt.warns && warnings != 1 || !tt.warns && warnings != 0 {
				t.Errorf("issuer %s on %s: %d warnings; want warned=%v\n%s", tt.issuer, serveAddr, warnings, tt.warns, log)
			}
		})
	}
}

// serveUntilStarted runs serve in-process until its start-up lines are
// out, stops it and returns everything it printed (stdout, then stderr).
func serveUntilStarted(t *testing.T, env map[string]string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr testkit.LogBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve"}, func(k string) string { return env[k] }, strings.NewReader(""), &stdout, &stderr)
	}()
	testkit.Await(t, 30*time.Second, func() error {
		select {
		case code := <-done:
			t.Fatalf("serve exited with %d before its start-up line:\n%s", code, stderr.String())
		default:
		}
		if !strings.Contains(stderr.String(), "starting gatehouse") {
			return fmt.Errorf("no start-up line yet:\n%s", stderr.String())
		}
		return nil
	})
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("serve exited with %d after cancel; want 0\n%s", code, stderr.String())
	}
	return stdout.String() + stderr.String()
}

// TestREADMEMatchesUsage: the README's command block and configuration
// table say what "gatehouse --help" prints.
func TestREADMEMatchesUsage(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	out, _, _ := cliEnv(t, nil, "", "--help")
	commands, settings, _ := strings.Cut(out, "\nRun \"gatehouse COMMAND --help\"")
	_, commands, _ = strings.Cut(commands, "commands:\n")
	for _, line := range strings.Split(strings.TrimRight(commands, "\n"), "\n") {
		// The README's block is the usage's, without its indent.
		if line = strings.TrimPrefix(line, "  "); !strings.Contains(string(readme), "\n"+line+"\n") {
			t.Errorf("README lacks the command line %q", line)
		}
	}
	rows := 0
	for _, line := range strings.Split(string(readme), "\n") {
		if strings.HasPrefix(line, "| `GATEHOUSE_") {
			rows++
		}
	}
	_, settings, _ = strings.Cut(settings, "the flag wins):\n")
	settings, _, _ = strings.Cut(settings, "\n\n") // the tracing variables follow
	lines := strings.Split(strings.TrimSpace(settings), "\n")
	for _, line := range lines {
		row := readmeRow(line)
		if !strings.Contains(string(readme), "\n"+row) {
			t.Errorf("README lacks the setting row %q", row)
		}
	}
	if rows != len(lines) {
		t.Errorf("README has %d setting rows; gatehouse --help lists %d settings", rows, len(lines))
	}
}

// readmeRow turns a settings line of the usage ("  --addr ADDR
// GATEHOUSE_ADDR  listen address (default :8080)") into the start of its
// README row: "| `GATEHOUSE_ADDR` | `--addr ADDR` | `:8080` |".
func readmeRow(line string) string {
	cols := strings.Split(strings.TrimSpace(line), "  ")
	var fields []string
	for _, c := range cols {
		if c = strings.TrimSpace(c); c != "" {
			fields = append(fields, c)
		}
	}
	flag, variable, help := fields[0], fields[1], strings.Join(fields[2:], " ")
	def := "none"
	if i := strings.LastIndex(help, "(default "); i >= 0 {
		def = "`" + strings.TrimSuffix(help[i+len("(default "):], ")") + "`"
	}
	if !strings.HasPrefix(flag, "(") {
		flag = "`" + flag + "`"
	}
	return "| `" + variable + "` | " + flag + " | " + def + " |"
}

// TestHelpBeforeSettings: --help prints the usage even when a setting is
// bad or an argument is missing, since nothing is read before it.
func TestHelpBeforeSettings(t *testing.T) {
	t.Parallel()
	env := map[string]string{"GATEHOUSE_ACCESS_TTL": "soon", "GATEHOUSE_SIGNING_ALG": "none"}
	out, errOut, code := cliEnv(t, env, "", "user", "disable", "--help")
	if code != 0 || !strings.HasPrefix(out, "usage: gatehouse user disable NAME\n") || errOut != "" {
		t.Errorf("gatehouse user disable --help with bad settings = %d %q %q; want its usage and exit 0", code, out, errOut)
	}
}
