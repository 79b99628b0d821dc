package main

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gatehouse-auth/gatehouse/domain"
	"github.com/gatehouse-auth/gatehouse/internal/testkit"
)

// cliEnv runs one gatehouse command in-process with the given environment.
func cliEnv(t *testing.T, env map[string]string, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb testkit.LogBuffer
	code = run(context.Background(), args, func(k string) string { return env[k] }, strings.NewReader(stdin), &out, &errb)
	return out.String(), errb.String(), code
}

// TestCLICreatesNoKey: no CLI command but "keys rotate" creates or
// activates a signing key, whatever GATEHOUSE_SIGNING_ALG it runs with, and
// every command works on a fresh database that has no key yet.
func TestCLICreatesNoKey(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "gatehouse.db")
	secret := strings.Repeat("s", 32)
	with := func(alg string) map[string]string {
		return map[string]string{"GATEHOUSE_DB": db, "GATEHOUSE_SIGNING_ALG": alg, "GATEHOUSE_JWT_SECRET": secret}
	}
	mustRun := func(env map[string]string, stdin string, args ...string) string {
		t.Helper()
		out, errOut, code := cliEnv(t, env, stdin, args...)
		if code != 0 {
			t.Fatalf("gatehouse %s (%s) = exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), env["GATEHOUSE_SIGNING_ALG"], code, out, errOut)
		}
		return out
	}
	keysList := func() string { return mustRun(with("EdDSA"), "", "keys", "list") }

	// A fresh database: commands that do not sign work and create no key.
	mustRun(with("ES256"), "correct horse battery\n", "user", "add", "root", "--role", "admin", "--password-stdin")
	mustRun(with("RS256"), "", "user", "list")
	mustRun(with("HS256"), "", "client", "add", "reports")
	mustRun(with("ES256"), "", "client", "list")
	mustRun(with("ES256"), "", "keys", "list")
	if keys := keysList(); strings.Contains(keys, "active") || strings.Contains(keys, "retired") {
		t.Fatalf("keys list on a fresh database after user, client and keys list commands = %q; want no key", keys)
	}

	// keys rotate creates the first key; then nothing else changes it.
	mustRun(with("EdDSA"), "", "keys", "rotate")
	before := keysList()
	if strings.Count(before, "active") != 1 || !strings.Contains(before, "EdDSA") {
		t.Fatalf("keys list after the first rotate = %q; want one active EdDSA key", before)
	}
	for _, alg := range []string{"ES256", "RS256", "HS256"} {
		mustRun(with(alg), "", "keys", "list")
		mustRun(with(alg), "", "user", "list")
		mustRun(with(alg), "", "client", "list")
		mustRun(with(alg), "another fine password\n", "user", "passwd", "root", "--password-stdin")
		// Without --alg, keys rotate does not change the algorithm either.
		if out, errOut, code := cliEnv(t, with(alg), "", "keys", "rotate"); code == 0 || !strings.Contains(errOut, "--alg "+alg) {
			t.Errorf("keys rotate under %s over an EdDSA key = exit %d, %q %q; want a refusal naming --alg %s", alg, code, out, errOut, alg)
		}
		if after := keysList(); after != before {
			t.Fatalf("commands run with GATEHOUSE_SIGNING_ALG=%s changed the keys:\nbefore %s\nafter  %s", alg, before, after)
		}
	}
}

// TestServeRefusesAnotherAlgorithm runs the real binary: a server whose
// GATEHOUSE_SIGNING_ALG differs from the active key's refuses to start with
// one line naming the setting and the command; after that command it starts.
func TestServeRefusesAnotherAlgorithm(t *testing.T) {
	t.Parallel()
	bin := binary(t)
	db := filepath.Join(t.TempDir(), "gatehouse.db")
	base := []string{"GATEHOUSE_DB=" + db, "GATEHOUSE_LOG_LEVEL=warn", "GATEHOUSE_JWT_SECRET=" + strings.Repeat("s", 32)}
	if out, errOut, code := runBinaryIn(bin, base, "", "keys", "rotate"); code != 0 {
		t.Fatalf("keys rotate = %d %s %s", code, out, errOut)
	}
	serveFails := func(alg, want string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, "serve", "--addr", freeAddr(t))
		cmd.Env = append(append(os.Environ(), base...), "GATEHOUSE_SIGNING_ALG="+alg)
		out, err := cmd.CombinedOutput()
		if err == nil || ctx.Err() != nil {
			t.Fatalf("serve with GATEHOUSE_SIGNING_ALG=%s over another algorithm's key: %v (timed out: %v)\n%s", alg, err, ctx.Err() != nil, out)
		}
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		if got := lines[len(lines)-1]; got != "gatehouse: "+want {
			t.Errorf("serve %s output ends with\n%s\nwant\ngatehouse: %s", alg, got, want)
		}
	}
	for _, alg := range []string{"ES256", "RS256", "HS256"} {
		serveFails(alg, `--signing-alg: the active signing key is EdDSA but GATEHOUSE_SIGNING_ALG is `+alg+
			`; run "gatehouse keys rotate --alg `+alg+`" to switch, or set GATEHOUSE_SIGNING_ALG=EdDSA`)
	}
	if out, errOut, code := runBinaryIn(bin, base, "", "keys", "rotate", "--alg", "ES256"); code != 0 {
		t.Fatalf("keys rotate --alg ES256 = %d %s %s", code, out, errOut)
	}
	startServe(t, bin, append(base, "GATEHOUSE_SIGNING_ALG=ES256"))
	serveFails("EdDSA", `--signing-alg: the active signing key is ES256 but GATEHOUSE_SIGNING_ALG is EdDSA; run "gatehouse keys rotate --alg EdDSA" to switch, or set GATEHOUSE_SIGNING_ALG=ES256`)
}

// logEntries parses JSON log lines.
func logEntries(t *testing.T, logs string) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(logs))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) == nil {
			out = append(out, m)
		}
	}
	return out
}

// rotationLogged reports whether logs hold an info or warn entry for kid
// with alg and by.
func rotationLogged(t *testing.T, logs, kid, alg, by string) bool {
	t.Helper()
	for _, m := range logEntries(t, logs) {
		if m["kid"] == kid && m["alg"] == alg && m["by"] == by && (m["level"] == "INFO" || m["level"] == "WARN") {
			return true
		}
	}
	return false
}

// TestRotationsAreLogged: the first key, an admin rotation and a CLI
// rotation (with an algorithm switch) are each logged with kid, algorithm
// and who, and no log line carries private key material.
func TestRotationsAreLogged(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, nil)
	keys, err := e.app.store.ListKeys(t.Context())
	if err != nil || len(keys) != 1 {
		t.Fatalf("keys after the first start = %v, %v; want one", keys, err)
	}
	if !rotationLogged(t, e.log.String(), keys[0].ID, "EdDSA", "first start") {
		t.Errorf("first key %s not logged with by=first start:\n%s", keys[0].ID, e.log.String())
	}

	r := e.do(http.MethodPost, "/admin/keys/rotate", nil, bearerHeader(e.adminToken()))
	if r.status != 200 {
		t.Fatalf("POST /admin/keys/rotate = %d %s", r.status, r.body)
	}
	if kid := r.json(t)["kid"].(string); !rotationLogged(t, e.log.String(), kid, "EdDSA", "admin") {
		t.Errorf("admin rotation to %s not logged with by=admin:\n%s", kid, e.log.String())
	}

	env := map[string]string{"GATEHOUSE_DB": e.app.cfg.DB}
	out, errOut, code := cliEnv(t, env, "", "keys", "rotate", "--alg", "ES256")
	if code != 0 {
		t.Fatalf("keys rotate --alg ES256 = %d %s %s", code, out, errOut)
	}
	kid := strings.TrimSpace(strings.TrimPrefix(out, "new signing key:"))
	if !rotationLogged(t, errOut, kid, "ES256", "cli") {
		t.Errorf("CLI rotation to %s not logged with by=cli:\n%s", kid, errOut)
	}

	all := e.log.String() + errOut
	stored, err := e.app.store.ListKeys(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range stored {
		for _, enc := range []string{base64.StdEncoding.EncodeToString(k.Private), base64.RawURLEncoding.EncodeToString(k.Private)} {
			if strings.Contains(all, enc[:24]) {
				t.Errorf("logs carry the private key of %s", k.ID)
			}
		}
	}
}

// TestUnsealedActiveKeyRefused: with a key-encryption key, an active key
// row planted in the clear stops start-up with a line naming the cause and
// the fix, is never used to verify, and "keys rotate" replaces it.
func TestUnsealedActiveKeyRefused(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t, map[string]string{"GATEHOUSE_KEY_ENCRYPTION_KEY": "an operator key of at least 32 bytes!"})
	st, closeStore, err := openStore(t.Context(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	der, _ := x509.MarshalPKCS8PrivateKey(priv)
	planted := domain.SigningKey{ID: "planted", Algorithm: "EdDSA", Private: der, CreatedAt: time.Now()}
	if err := st.RotateKey(t.Context(), &planted, nil); err != nil {
		t.Fatal(err)
	}
	closeStore()

	_, err = build(t.Context(), cfg, &testkit.LogBuffer{}, buildOptions{hash: testParams})
	if err == nil || !strings.Contains(err.Error(), "planted") || !strings.Contains(err.Error(), "unencrypted") || !strings.Contains(err.Error(), "gatehouse keys rotate") {
		t.Fatalf("build over an unsealed active key = %v; want a refusal naming the key, that it is unencrypted, and gatehouse keys rotate", err)
	}

	env := map[string]string{"GATEHOUSE_DB": cfg.DB, "GATEHOUSE_KEY_ENCRYPTION_KEY": string(cfg.KeyEncryptionKey)}
	if out, errOut, code := cliEnv(t, env, "", "keys", "rotate"); code != 0 {
		t.Fatalf("keys rotate over an unsealed active key = %d %s %s", code, out, errOut)
	}
	a, err := build(t.Context(), cfg, &testkit.LogBuffer{}, buildOptions{hash: testParams})
	if err != nil {
		t.Fatalf("build after keys rotate: %v", err)
	}
	defer a.close()
	now := time.Now()
	forged := jwt.NewWithClaims(jwt.SigningMethodEdDSA, jwt.MapClaims{
		"iss": cfg.Issuer, "aud": cfg.Audience, "sub": "admin", "jti": "forged", "roles": []string{"admin"},
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Minute).Unix(),
	})
	forged.Header["typ"] = "at+jwt"
	forged.Header["kid"] = "planted"
	tok, err := forged.SignedString(priv)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.verifier.Verify(t.Context(), tok); !errors.Is(err, domain.ErrTokenInvalid) {
		t.Errorf("Verify(token signed with the planted key) = %v; want ErrTokenInvalid", err)
	}
}

// TestReloadKeepsKnownKeys: when another process switches the active key
// to another algorithm, a running server's periodic reload neither follows
// nor flips it back: it keeps signing with the key it knows and logs the
// trouble once. When the algorithm is switched back it follows again.
func TestReloadKeepsKnownKeys(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, nil)
	e.signUp("alice", "correct horse battery")
	kidOf := func() string {
		t.Helper()
		var h struct{ Kid string }
		if err := json.Unmarshal([]byte(decodeHeader(t, e.login("alice", "correct horse battery")["access_token"].(string))), &h); err != nil {
			t.Fatal(err)
		}
		return h.Kid
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	defer func() { cancel(); <-done }()
	go func() { defer close(done); e.app.maintain(ctx, 20*time.Millisecond) }()
	storedKeys := func() string {
		t.Helper()
		keys, err := e.app.store.ListKeys(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		for _, k := range keys {
			b.WriteString(k.ID + " " + k.Algorithm + " " + k.RetiredAt.String() + "\n")
		}
		return b.String()
	}
	rotate := func(alg string) string {
		t.Helper()
		out, errOut, code := cliEnv(t, map[string]string{"GATEHOUSE_DB": e.app.cfg.DB}, "", "keys", "rotate", "--alg", alg)
		if code != 0 {
			t.Fatalf("keys rotate --alg %s = %d %s %s", alg, code, out, errOut)
		}
		return strings.TrimSpace(strings.TrimPrefix(out, "new signing key:"))
	}
	countLogs := func(msg string) int {
		n := 0
		for _, m := range logEntries(t, e.log.String()) {
			if m["msg"] == msg {
				n++
			}
		}
		return n
	}

	known := kidOf()
	admin := bearerHeader(e.adminToken())
	rotate("ES256")
	before := storedKeys()
	// Nor does the admin route switch it back: it keeps the active key's
	// algorithm, which this server cannot sign with.
	if r := e.do(http.MethodPost, "/admin/keys/rotate", nil, admin); r.status != http.StatusBadRequest || !strings.Contains(string(r.body), "--alg EdDSA") {
		t.Errorf("POST /admin/keys/rotate on an EdDSA server over an ES256 key = %d %s; want 400 naming --alg EdDSA", r.status, r.body)
	}
	time.Sleep(500 * time.Millisecond) // about 25 reloads
	if after := storedKeys(); after != before {
		t.Fatalf("reloads changed the stored keys:\nbefore %s\nafter  %s", before, after)
	}
	if kid := kidOf(); kid != known {
		t.Errorf("after another process switched to ES256 the server signs with %s; want the known key %s", kid, known)
	}
	if n := countLogs("signing keys not reloaded; keeping the known keys"); n != 1 {
		t.Errorf("the refused reload was logged %d times; want once\n%s", n, e.log.String())
	}
	if !strings.Contains(e.log.String(), "GATEHOUSE_SIGNING_ALG is EdDSA") {
		t.Errorf("the log does not name the setting:\n%s", e.log.String())
	}

	next := rotate("EdDSA")
	time.Sleep(200 * time.Millisecond)
	if kid := kidOf(); kid != next {
		t.Errorf("after the switch back the server signs with %s; want %s", kid, next)
	}
	if countLogs("signing keys reloaded again") != 1 || countLogs("signing key rotated elsewhere") != 1 {
		t.Errorf("recovery and the new key not logged once each:\n%s", e.log.String())
	}
}
