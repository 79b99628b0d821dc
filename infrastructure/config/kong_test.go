package config_test

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/infrastructure/config"
)

// TestEverySettingDeclaredOnce: each field of Config is a setting with its
// flag, its variable (GATEHOUSE_ and the flag's name) and its help, in the
// one struct tag kong and the usage read.
func TestEverySettingDeclaredOnce(t *testing.T) {
	t.Parallel()
	typ := reflect.TypeFor[config.Config]()
	seen := map[string]bool{}
	for f := range typ.Fields() {
		name, env, help := f.Tag.Get("name"), f.Tag.Get("env"), f.Tag.Get("help")
		want := "GATEHOUSE_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
		if name == "" || help == "" || env != want {
			t.Errorf("Config.%s: name %q env %q help %q; want a name, the variable %s and a help", f.Name, name, env, help, want)
		}
		if seen[name] {
			t.Errorf("Config.%s: flag --%s declared twice", f.Name, name)
		}
		seen[name] = true
	}
}

func TestEnvironmentIsOnlyWhatGetenvSays(t *testing.T) {
	// Not parallel: it sets a variable of the process, which Load must not read.
	t.Setenv("GATEHOUSE_ADDR", ":1111")
	c, err := load(nil, map[string]string{"GATEHOUSE_AUDIENCE": "", "GATEHOUSE_DB": "other.db"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != ":8080" || c.DB != "other.db" || c.Audience != "gatehouse" {
		t.Errorf("addr %q db %q audience %q; want the default :8080 (not the process's), getenv's other.db, and an empty variable taken as unset", c.Addr, c.DB, c.Audience)
	}
}

func TestValuesOfEveryKind(t *testing.T) {
	t.Parallel()
	c, err := load([]string{"--no-signup", "--metrics=false", "--user-scopes", "reports:read  reports:write", "--trusted-proxies", "10.0.0.0/8, fd00::/8"},
		map[string]string{"GATEHOUSE_SIGNUP": "true", "GATEHOUSE_ISSUER": "https://auth.example.com/", "GATEHOUSE_LOG_LEVEL": "WARN", "GATEHOUSE_HASH_QUEUE": "7"})
	if err != nil {
		t.Fatal(err)
	}
	var proxies []string
	for _, n := range c.TrustedProxies {
		proxies = append(proxies, n.String())
	}
	if c.Signup || c.Metrics || !slices.Equal(c.UserScopes, []string{"reports:read", "reports:write"}) ||
		!slices.Equal(proxies, []string{"10.0.0.0/8", "fd00::/8"}) || c.Issuer != "https://auth.example.com" || c.LogLevel != "warn" || c.HashQueue != 7 {
		t.Errorf("Load = signup %v metrics %v scopes %q proxies %v issuer %q log %q queue %d", c.Signup, c.Metrics, c.UserScopes, proxies, c.Issuer, c.LogLevel, c.HashQueue)
	}
}

func TestNegativeValuesRefused(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ env, value, want string }{
		{"GATEHOUSE_LEEWAY", "-1s", "--leeway"},
		{"GATEHOUSE_HASH_QUEUE", "-1", "--hash-queue"},
		{"GATEHOUSE_SIGNUP_IP_LIMIT", "-5", "--signup-ip-limit"},
	} {
		if _, err := load(nil, map[string]string{tt.env: tt.value}); err == nil || !strings.HasPrefix(err.Error(), tt.want+": ") {
			t.Errorf("Load(%s=%s) = %v; want an error starting with %s", tt.env, tt.value, err, tt.want)
		}
	}
}

// TestSecretsNotFromTheCommandLine: a secret typed as a flag would show in
// ps; only its variable or its file is taken.
func TestSecretsNotFromTheCommandLine(t *testing.T) {
	t.Parallel()
	secret := strings.Repeat("s", 40)
	for _, flag := range []string{"--jwt-secret", "--key-encryption-key"} {
		_, err := load([]string{"--signing-alg", "HS256", flag, secret}, nil)
		if err == nil || !strings.HasPrefix(err.Error(), flag+": ") || strings.Contains(err.Error(), secret) {
			t.Errorf("Load(%s SECRET) = %v; want a refusal naming %s, without the secret", flag, err, flag)
		}
	}
	c, err := load(nil, map[string]string{"GATEHOUSE_SIGNING_ALG": "HS256", "GATEHOUSE_JWT_SECRET": secret, "GATEHOUSE_KEY_ENCRYPTION_KEY": secret})
	if err != nil || string(c.JWTSecret) != secret || string(c.KeyEncryptionKey) != secret {
		t.Fatalf("Load(secrets in the environment) = %v", err)
	}
	var logged bytes.Buffer
	slog.New(slog.NewTextHandler(&logged, nil)).Info("config", "secret", c.JWTSecret)
	if strings.Contains(logged.String(), secret) || !strings.Contains(logged.String(), "[redacted]") {
		t.Errorf("logged secret = %s; want [redacted]", logged.String())
	}
}

func TestSecretFileWinsAndKeepsItsModeCheck(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	private, open := filepath.Join(dir, "private"), filepath.Join(dir, "open")
	if err := os.WriteFile(private, []byte(strings.Repeat("f", 40)+"\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(open, []byte(strings.Repeat("f", 40)), 0o640); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"GATEHOUSE_KEY_ENCRYPTION_KEY": strings.Repeat("e", 40), "GATEHOUSE_KEY_ENCRYPTION_KEY_FILE": private}
	c, err := load(nil, env)
	if err != nil || string(c.KeyEncryptionKey) != strings.Repeat("f", 40) {
		t.Errorf("Load(key and key file) = %q, %v; want the file's key", c.KeyEncryptionKey, err)
	}
	if _, err := load([]string{"--key-encryption-key-file", open}, env); err == nil || !strings.HasPrefix(err.Error(), "--key-encryption-key-file: ") || !strings.Contains(err.Error(), "readable by others") {
		t.Errorf("Load(group-readable key file) = %v; want a refusal naming --key-encryption-key-file", err)
	}
}
