package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/infrastructure/config"
)

func load(args []string, env map[string]string) (config.Config, error) {
	return config.Load(args, func(k string) string { return env[k] })
}

func TestDefaultsMatchDesign(t *testing.T) {
	t.Parallel()
	c, err := load(nil, nil)
	if err != nil {
		t.Fatalf("Load() = %v", err)
	}
	if c.Addr != ":8080" || c.DB != "gatehouse.db" || c.Issuer != "http://localhost:8080" || c.Audience != "gatehouse" ||
		c.SigningAlg != "EdDSA" || c.AccessTTL != 15*time.Minute || c.RefreshTTL != 720*time.Hour ||
		c.RefreshReuseInterval != 10*time.Second || c.RevocationSync != 2*time.Second || c.Leeway != 30*time.Second ||
		!c.Signup || c.PasswordMinLength != 8 || c.LogLevel != "info" || c.LogFormat != "json" ||
		c.LoginPairFailures != 5 || c.LoginUserFailures != 20 || c.LoginIPFailures != 50 ||
		c.APIKeyPrefix != "gth" || c.APIKeyMaxTTL != 8760*time.Hour ||
		c.EventRetention != 2160*time.Hour || c.WebhookAllowPrivate || c.AdminRequireMFA {
		t.Errorf("defaults = %+v; want DESIGN.md's", c)
	}
}

func TestFlagWinsOverEnvironment(t *testing.T) {
	t.Parallel()
	c, err := load([]string{"--addr", ":9999"}, map[string]string{"GATEHOUSE_ADDR": ":7777", "GATEHOUSE_ACCESS_TTL": "5m"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != ":9999" || c.AccessTTL != 5*time.Minute {
		t.Errorf("addr %q ttl %v; want the flag's :9999 and the environment's 5m", c.Addr, c.AccessTTL)
	}
}

func TestBadSettingsNameTheSetting(t *testing.T) {
	t.Parallel()
	secretFile := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secretFile, []byte(strings.Repeat("s", 40)), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"unknown alg", map[string]string{"GATEHOUSE_SIGNING_ALG": "none"}, "--signing-alg"},
		{"hs256 without secret", map[string]string{"GATEHOUSE_SIGNING_ALG": "HS256"}, "GATEHOUSE_JWT_SECRET"},
		{"short secret", map[string]string{"GATEHOUSE_SIGNING_ALG": "HS256", "GATEHOUSE_JWT_SECRET": "short"}, "at least 32 bytes"},
		{"world-readable secret file", map[string]string{"GATEHOUSE_SIGNING_ALG": "HS256", "GATEHOUSE_JWT_SECRET_FILE": secretFile}, "readable by others"},
		{"bad duration", map[string]string{"GATEHOUSE_ACCESS_TTL": "soon"}, "--access-ttl"},
		{"bad bool", map[string]string{"GATEHOUSE_SIGNUP": "maybe"}, "--signup"},
		{"bad cidr", map[string]string{"GATEHOUSE_TRUSTED_PROXIES": "10.0.0.0/99"}, "--trusted-proxies"},
		{"nist ceiling", map[string]string{"GATEHOUSE_LOGIN_USER_FAILURES": "101"}, "--login-user-failures"},
		{"short kek", map[string]string{"GATEHOUSE_KEY_ENCRYPTION_KEY": "short"}, "GATEHOUSE_KEY_ENCRYPTION_KEY"},
		{"bad log level", map[string]string{"GATEHOUSE_LOG_LEVEL": "loud"}, "--log-level"},
		{"api key prefix with capitals", map[string]string{"GATEHOUSE_API_KEY_PREFIX": "Gth"}, "--api-key-prefix"},
		{"api key prefix too short", map[string]string{"GATEHOUSE_API_KEY_PREFIX": "g"}, "--api-key-prefix"},
		{"api key prefix starting with a digit", map[string]string{"GATEHOUSE_API_KEY_PREFIX": "1gh"}, "--api-key-prefix"},
		{"api key max ttl too short", map[string]string{"GATEHOUSE_API_KEY_MAX_TTL": "30s"}, "--api-key-max-ttl"},
		{"event retention too short", map[string]string{"GATEHOUSE_EVENT_RETENTION": "10m"}, "--event-retention"},
		{"bad webhook allow private", map[string]string{"GATEHOUSE_WEBHOOK_ALLOW_PRIVATE": "sometimes"}, "--webhook-allow-private"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if _, err := load(nil, tt.env); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Load(%v) = %v; want an error naming %s", tt.env, err, tt.want)
			}
		})
	}
}

func TestSecretFile(t *testing.T) {
	t.Parallel()
	f := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(f, []byte(strings.Repeat("s", 40)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := load([]string{"--signing-alg", "HS256", "--jwt-secret-file", f}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if string(c.JWTSecret) != strings.Repeat("s", 40) {
		t.Errorf("secret = %d bytes; want the file's 40 without the newline", len(c.JWTSecret))
	}
}
