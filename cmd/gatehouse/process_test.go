package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/testkit"
)

// buildBinary compiles the gatehouse command once per test binary run.
var buildOnce = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "gatehouse-bin")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "gatehouse")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
})

func binary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary; skipped in -short mode")
	}
	bin, err := buildOnce()
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startServe runs "gatehouse serve" with env and waits until it answers.
func startServe(t *testing.T, bin string, env []string) (*exec.Cmd, string, *testkit.LogBuffer) {
	t.Helper()
	addr := freeAddr(t)
	cmd := exec.Command(bin, "serve", "--addr", addr)
	// Tests sign up many users from one address; the ones about the
	// sign-up limit set it (a later entry wins).
	cmd.Env = append(append(os.Environ(), "GATEHOUSE_SIGNUP_IP_LIMIT=0"), env...)
	logs := &testkit.LogBuffer{}
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	base := "http://" + addr
	awaitHealthy(t, base, logs)
	return cmd, base, logs
}

// awaitHealthy waits until the server at base answers /healthz, and fails
// with its log if it does not within 20 s.
func awaitHealthy(t *testing.T, base string, logs *testkit.LogBuffer) {
	t.Helper()
	testkit.Await(t, 20*time.Second, func() error {
		resp, err := http.Get(base + "/healthz")
		if err != nil {
			return fmt.Errorf("server did not start: %w\n%s", err, logs.String())
		}
		resp.Body.Close()
		return nil
	})
}

// TestSIGTERMLosesNoUser registers users concurrently, sends SIGTERM in the
// middle, and checks that every acknowledged (201) user is in the database.
func TestSIGTERMLosesNoUser(t *testing.T) {
	t.Parallel()
	bin := binary(t)
	db := filepath.Join(t.TempDir(), "gatehouse.db")
	env := []string{"GATEHOUSE_DB=" + db, "GATEHOUSE_LOG_LEVEL=warn"}
	cmd, base, logs := startServe(t, bin, env)

	var acked sync.Map
	var count atomic.Int64
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				name := fmt.Sprintf("user-%d-%d", w, i)
				body := fmt.Sprintf(`{"username":%q,"password":"a long enough password"}`, name)
				resp, err := http.Post(base+"/users", "application/json", strings.NewReader(body))
				if err != nil {
					return // server gone
				}
				resp.Body.Close()
				if resp.StatusCode == http.StatusCreated {
					acked.Store(name, true)
					count.Add(1)
				}
			}
		}()
	}
	for count.Load() < 20 {
		time.Sleep(10 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatalf("serve exited with %v after SIGTERM; want 0\n%s", err, logs.String())
	}

	out, err := exec.Command(bin, "user", "list", "--db", db).CombinedOutput()
	if err != nil {
		t.Fatalf("user list: %v\n%s", err, out)
	}
	stored := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) > 1 {
			stored[f[1]] = true
		}
	}
	missing := 0
	acked.Range(func(k, _ any) bool {
		if !stored[k.(string)] {
			missing++
			t.Errorf("user %s was acknowledged but is not in the database", k)
		}
		return true
	})
	t.Logf("%d users acknowledged before SIGTERM, %d missing", count.Load(), missing)
}

// TestBadConfigStopsStartup checks that bad settings fail fast with one
// line naming the setting, before the port opens.
func TestBadConfigStopsStartup(t *testing.T) {
	t.Parallel()
	bin := binary(t)
	tests := []struct {
		name string
		env  []string
		want string
	}{
		{"short secret", []string{"GATEHOUSE_SIGNING_ALG=HS256", "GATEHOUSE_JWT_SECRET=short"}, "GATEHOUSE_JWT_SECRET"},
		{"unknown alg", []string{"GATEHOUSE_SIGNING_ALG=none"}, "--signing-alg"},
		{"unreachable db", []string{"GATEHOUSE_DB=postgres://nobody:hunter2@127.0.0.1:1/x?connect_timeout=1"}, "--db"},
		{"bad duration", []string{"GATEHOUSE_ACCESS_TTL=soon"}, "--access-ttl"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// A hang would fail here rather than at the suite's timeout.
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, bin, "serve", "--addr", freeAddr(t))
			cmd.Env = append(os.Environ(), tt.env...)
			if !strings.Contains(strings.Join(tt.env, " "), "GATEHOUSE_DB=") {
				cmd.Env = append(cmd.Env, "GATEHOUSE_DB="+filepath.Join(t.TempDir(), "g.db"))
			}
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("serve started with bad config; output:\n%s", out)
			}
			if !strings.Contains(string(out), tt.want) {
				t.Errorf("output %q does not name %s", out, tt.want)
			}
			if strings.Contains(string(out), "hunter2") {
				t.Errorf("output leaks the database password: %s", out)
			}
			if ctx.Err() != nil {
				t.Errorf("serve did not exit within 30 s")
			}
		})
	}
}

// runBinaryIn runs one command of the built binary and returns its output
// and exit code.
func runBinaryIn(bin string, env []string, stdin string, args ...string) (string, string, int) {
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &errb
	err := cmd.Run()
	code := 0
	if err != nil {
		code = 1
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		}
	}
	return out.String(), errb.String(), code
}

// TestCLIBesideRunningServer uses the CLI on the SQLite file a running
// server has open: a user added by the CLI logs in through the server at
// once, and a user registered through the server is listed by the CLI.
func TestCLIBesideRunningServer(t *testing.T) {
	t.Parallel()
	bin := binary(t)
	env := []string{"GATEHOUSE_DB=" + filepath.Join(t.TempDir(), "gatehouse.db"), "GATEHOUSE_LOG_LEVEL=warn"}
	_, base, _ := startServe(t, bin, env)
	c := &cluster{t: t, bin: bin}
	if _, errOut, code := runBinaryIn(bin, env, "correct horse battery\n", "user", "add", "carol", "--password-stdin"); code != 0 {
		t.Fatalf("user add beside a running server: %s", errOut)
	}
	c.login(base, "carol", "correct horse battery")
	c.signUp(base, "dave", "correct horse battery")
	out, errOut, code := runBinaryIn(bin, env, "", "user", "list")
	if code != 0 || !strings.Contains(out, "dave") {
		t.Fatalf("user list beside a running server = %d %q %q; want dave", code, out, errOut)
	}
	resp, err := http.Get(base + "/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("GET /openapi.yaml on the binary = %d; want 200", resp.StatusCode)
	}
}

// TestPprofIsLoopbackOnly: the profiler is off by default, serves on a
// loopback address when asked, and refuses any other address.
func TestPprofIsLoopbackOnly(t *testing.T) {
	t.Parallel()
	bin := binary(t)
	pprofAddr := freeAddr(t)
	env := []string{"GATEHOUSE_DB=" + filepath.Join(t.TempDir(), "g.db"), "GATEHOUSE_LOG_LEVEL=warn", "GATEHOUSE_PPROF_ADDR=" + pprofAddr}
	startServe(t, bin, env)
	resp, err := http.Get("http://" + pprofAddr + "/debug/pprof/cmdline")
	if err != nil {
		t.Fatalf("profiler not reachable on %s: %v", pprofAddr, err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("GET /debug/pprof/cmdline = %d; want 200", resp.StatusCode)
	}
	if err := servePprof(t.Context(), "0.0.0.0:0", slog.New(slog.DiscardHandler)); err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Errorf("servePprof(0.0.0.0:0) = %v; want a refusal naming loopback", err)
	}
}
