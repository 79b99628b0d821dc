// Package config declares every setting of Gatehouse once, as a field of
// Config with its flag, environment variable, default and help (kong struct
// tags), and turns the parsed values into one validated Config. Flags win
// over the environment.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse/domain"
)

// Config is every setting of the service. The tags are the only place a
// setting is declared: kong parses flags and variables from them (Options),
// and the usage is printed from them.
type Config struct {
	Addr                 string        `name:"addr" env:"GATEHOUSE_ADDR" default:":8080" placeholder:"ADDR" help:"listen address"`
	DB                   string        `name:"db" env:"GATEHOUSE_DB" default:"gatehouse.db" placeholder:"DSN" help:"SQLite file, postgres:// URL, or memory:"`
	Issuer               string        `name:"issuer" env:"GATEHOUSE_ISSUER" default:"http://localhost:8080" placeholder:"URL" help:"token issuer (iss) and public base URL: the scheme, host and port clients use"`
	Audience             string        `name:"audience" env:"GATEHOUSE_AUDIENCE" default:"gatehouse" placeholder:"AUD" help:"token audience (aud)"`
	SigningAlg           string        `name:"signing-alg" env:"GATEHOUSE_SIGNING_ALG" default:"EdDSA" placeholder:"ALG" help:"EdDSA, ES256, RS256 or HS256"`
	JWTSecretFile        string        `name:"jwt-secret-file" env:"GATEHOUSE_JWT_SECRET_FILE" placeholder:"FILE" help:"file holding the HS256 secret (mode 600; wins over GATEHOUSE_JWT_SECRET)"`
	JWTSecret            Secret        `name:"jwt-secret" env:"GATEHOUSE_JWT_SECRET" placeholder:"SECRET" help:"the HS256 secret itself, at least 32 bytes"`
	KeyEncryptionKeyFile string        `name:"key-encryption-key-file" env:"GATEHOUSE_KEY_ENCRYPTION_KEY_FILE" placeholder:"FILE" help:"file holding the key that encrypts signing keys at rest (mode 600; wins over GATEHOUSE_KEY_ENCRYPTION_KEY)"`
	KeyEncryptionKey     Secret        `name:"key-encryption-key" env:"GATEHOUSE_KEY_ENCRYPTION_KEY" placeholder:"SECRET" help:"the key that encrypts signing keys at rest, at least 32 bytes (unset: keys are stored unencrypted)"`
	AccessTTL            time.Duration `name:"access-ttl" env:"GATEHOUSE_ACCESS_TTL" default:"15m" placeholder:"DURATION" help:"access token lifetime"`
	RefreshTTL           time.Duration `name:"refresh-ttl" env:"GATEHOUSE_REFRESH_TTL" default:"720h" placeholder:"DURATION" help:"absolute session lifetime"`
	RefreshReuseInterval time.Duration `name:"refresh-reuse-interval" env:"GATEHOUSE_REFRESH_REUSE_INTERVAL" default:"10s" placeholder:"DURATION" help:"grace period for racing refreshes"`
	RevocationSync       time.Duration `name:"revocation-sync" env:"GATEHOUSE_REVOCATION_SYNC" default:"2s" placeholder:"DURATION" help:"how often replicas pull revocations and keys"`
	RevocationMaxStale   time.Duration `name:"revocation-max-staleness" env:"GATEHOUSE_REVOCATION_MAX_STALENESS" default:"30s" placeholder:"DURATION" help:"how long the revoked set may go unrefreshed before /readyz answers 503"`
	Leeway               time.Duration `name:"leeway" env:"GATEHOUSE_LEEWAY" default:"30s" placeholder:"DURATION" help:"clock skew tolerated when verifying"`
	Signup               bool          `name:"signup" env:"GATEHOUSE_SIGNUP" default:"true" negatable:"" help:"allow self-service POST /users"`
	PasswordMinLength    int           `name:"password-min-length" env:"GATEHOUSE_PASSWORD_MIN_LENGTH" default:"8" placeholder:"N" help:"minimum password length"`
	SignupIPLimit        int           `name:"signup-ip-limit" env:"GATEHOUSE_SIGNUP_IP_LIMIT" default:"20" placeholder:"N" help:"self-service sign-ups per client address (IPv6: per /64) within --signup-ip-window (0: no limit)"`
	SignupIPWindow       time.Duration `name:"signup-ip-window" env:"GATEHOUSE_SIGNUP_IP_WINDOW" default:"10m" placeholder:"DURATION" help:"window of --signup-ip-limit"`
	LogLevel             string        `name:"log-level" env:"GATEHOUSE_LOG_LEVEL" default:"info" placeholder:"LEVEL" help:"debug, info, warn or error"`
	LogFormat            string        `name:"log-format" env:"GATEHOUSE_LOG_FORMAT" default:"json" placeholder:"FORMAT" help:"json or text"`
	AccessLog            string        `name:"access-log" env:"GATEHOUSE_ACCESS_LOG" default:"all" placeholder:"WHICH" help:"requests logged: all, errors (status >= 400) or off"`
	PprofAddr            string        `name:"pprof-addr" env:"GATEHOUSE_PPROF_ADDR" placeholder:"ADDR" help:"loopback address for Go's profiler, e.g. 127.0.0.1:6060 (off when empty)"`
	TrustedProxies       []*net.IPNet  `name:"trusted-proxies" env:"GATEHOUSE_TRUSTED_PROXIES" type:"cidrs" placeholder:"CIDRS" help:"comma-separated CIDRs whose X-Forwarded-For is trusted"`
	Metrics              bool          `name:"metrics" env:"GATEHOUSE_METRICS" default:"true" negatable:"" help:"serve GET /metrics"`
	UserScopes           []string      `name:"user-scopes" env:"GATEHOUSE_USER_SCOPES" type:"fields" placeholder:"SCOPES" help:"space-separated scopes users may request"`
	APIKeyPrefix         string        `name:"api-key-prefix" env:"GATEHOUSE_API_KEY_PREFIX" default:"gth" placeholder:"PREFIX" help:"prefix of new API keys: 2-16 of a-z 0-9, starting with a letter"`
	APIKeyMaxTTL         time.Duration `name:"api-key-max-ttl" env:"GATEHOUSE_API_KEY_MAX_TTL" default:"8760h" placeholder:"DURATION" help:"longest lifetime of an API key"`
	EventRetention       time.Duration `name:"event-retention" env:"GATEHOUSE_EVENT_RETENTION" default:"2160h" placeholder:"DURATION" help:"how long auth events are kept"`
	WebhookAllowPrivate  bool          `name:"webhook-allow-private" env:"GATEHOUSE_WEBHOOK_ALLOW_PRIVATE" default:"false" negatable:"" help:"allow webhooks to loopback, private and link-local addresses"`
	AdminRequireMFA      bool          `name:"admin-require-mfa" env:"GATEHOUSE_ADMIN_REQUIRE_MFA" default:"false" negatable:"" help:"admin routes require a token from a login with a second factor (acr aal2)"`
	HashConcurrency      int           `name:"hash-concurrency" env:"GATEHOUSE_HASH_CONCURRENCY" default:"0" placeholder:"N" help:"password hashes run at once (0: number of CPUs)"`
	HashQueue            int           `name:"hash-queue" env:"GATEHOUSE_HASH_QUEUE" default:"0" placeholder:"N" help:"logins waiting for a hash slot before 503 (0: 32 per slot)"`
	DBMaxOpenConns       int           `name:"db-max-open-conns" env:"GATEHOUSE_DB_MAX_OPEN_CONNS" default:"0" placeholder:"N" help:"database connection pool size (0: 1 for SQLite, 20 for Postgres)"`
	LoginPairFailures    int           `name:"login-pair-failures" env:"GATEHOUSE_LOGIN_PAIR_FAILURES" default:"5" placeholder:"N" help:"failures per (username, IP) before backoff"`
	LoginUserFailures    int           `name:"login-user-failures" env:"GATEHOUSE_LOGIN_USER_FAILURES" default:"20" placeholder:"N" help:"failures per username before unknown addresses are throttled (max 100)"`
	LoginIPFailures      int           `name:"login-ip-failures" env:"GATEHOUSE_LOGIN_IP_FAILURES" default:"50" placeholder:"N" help:"failures per IP within --login-ip-window"`
	LoginIPWindow        time.Duration `name:"login-ip-window" env:"GATEHOUSE_LOGIN_IP_WINDOW" default:"15m" placeholder:"DURATION" help:"window of --login-ip-failures"`
	LoginMaxDelay        time.Duration `name:"login-max-delay" env:"GATEHOUSE_LOGIN_MAX_DELAY" default:"15m" placeholder:"DURATION" help:"cap of the login backoff (which starts at 1s and doubles)"`
}

// Secret is a secret setting: it is read from the environment or a file,
// never from the command line (where other users of the machine can read
// it), and it logs as [redacted].
type Secret []byte

// LogValue keeps the secret out of logs.
func (Secret) LogValue() slog.Value { return slog.StringValue("[redacted]") }

// Complete is the second half of loading, after the flags and variables are
// parsed: it reads the secret files, normalises the values and validates
// them. It returns the Config or one error naming the bad setting.
func (c Config) Complete() (Config, error) {
	c.Addr = strings.TrimSpace(c.Addr)
	c.DB = strings.TrimSpace(c.DB)
	c.Issuer = strings.TrimRight(strings.TrimSpace(c.Issuer), "/")
	c.Audience = strings.TrimSpace(c.Audience)
	c.SigningAlg = strings.TrimSpace(c.SigningAlg)
	c.LogLevel = strings.ToLower(strings.TrimSpace(c.LogLevel))
	c.LogFormat = strings.ToLower(strings.TrimSpace(c.LogFormat))
	c.AccessLog = strings.ToLower(strings.TrimSpace(c.AccessLog))
	c.PprofAddr = strings.TrimSpace(c.PprofAddr)
	c.APIKeyPrefix = strings.TrimSpace(c.APIKeyPrefix)
	var err error
	if c.JWTSecret, err = loadSecret("--jwt-secret-file", c.JWTSecretFile, c.JWTSecret); err != nil {
		return Config{}, err
	}
	if c.KeyEncryptionKey, err = loadSecret("--key-encryption-key-file", c.KeyEncryptionKeyFile, c.KeyEncryptionKey); err != nil {
		return Config{}, err
	}
	return c, c.Check()
}

// loadSecret reads a secret from a file, which wins over the value from
// the environment. A secret file readable by group or others is refused.
func loadSecret(setting, file string, fromEnv Secret) (Secret, error) {
	file = strings.TrimSpace(file)
	if file == "" {
		return fromEnv, nil
	}
	info, err := os.Stat(file)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", setting, err)
	}
	if info.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%s: %s is readable by others (mode %v); chmod 600 it", setting, file, info.Mode().Perm())
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", setting, err)
	}
	return Secret(strings.TrimRight(string(b), "\r\n")), nil
}

// Check validates the settings and the relations between them. (It is not
// named Validate: kong would call that while parsing, before Complete has
// read the secret files, and for commands that read no setting.)
func (c Config) Check() error {
	switch c.SigningAlg {
	case "EdDSA", "ES256", "RS256":
	case "HS256":
		if len(c.JWTSecret) == 0 {
			return errors.New("GATEHOUSE_JWT_SECRET or --jwt-secret-file: required when the signing algorithm is HS256")
		}
		if len(c.JWTSecret) < 32 {
			return fmt.Errorf("GATEHOUSE_JWT_SECRET: must be at least 32 bytes for HS256, got %d", len(c.JWTSecret))
		}
	default:
		return fmt.Errorf("--signing-alg: %q is not one of EdDSA, ES256, RS256, HS256", c.SigningAlg)
	}
	if len(c.KeyEncryptionKey) > 0 && len(c.KeyEncryptionKey) < 32 {
		return fmt.Errorf("GATEHOUSE_KEY_ENCRYPTION_KEY: must be at least 32 bytes, got %d", len(c.KeyEncryptionKey))
	}
	switch {
	case c.AccessTTL < time.Second:
		return errors.New("--access-ttl: must be at least 1s")
	case c.RefreshTTL < c.AccessTTL:
		return errors.New("--refresh-ttl: must not be shorter than --access-ttl")
	case c.RevocationSync < 100*time.Millisecond:
		return errors.New("--revocation-sync: must be at least 100ms")
	case c.RevocationMaxStale <= 0 || c.RevocationMaxStale < c.RevocationSync:
		return errors.New("--revocation-max-staleness: must be positive and at least --revocation-sync")
	case c.PasswordMinLength < 1 || c.PasswordMinLength > 1024:
		return errors.New("--password-min-length: must be between 1 and 1024")
	case c.LoginPairFailures < 1 || c.LoginUserFailures < 1 || c.LoginIPFailures < 1:
		return errors.New("--login-pair-failures, --login-user-failures, --login-ip-failures: must be at least 1")
	case c.LoginUserFailures > 100:
		return errors.New("--login-user-failures: at most 100 (NIST SP 800-63B 5.2.2)")
	case c.LoginMaxDelay < time.Second || c.LoginIPWindow < time.Second:
		return errors.New("--login-max-delay, --login-ip-window: must be at least 1s")
	case c.SignupIPLimit > 0 && c.SignupIPWindow < time.Second:
		return errors.New("--signup-ip-window: must be at least 1s")
	case c.APIKeyMaxTTL < time.Minute:
		return errors.New("--api-key-max-ttl: must be at least 1m")
	case c.EventRetention < time.Hour:
		return errors.New("--event-retention: must be at least 1h")
	case c.Issuer == "":
		return errors.New("--issuer: must not be empty")
	case c.Audience == "":
		return errors.New("--audience: must not be empty")
	case c.DB == "":
		return errors.New("--db: must not be empty")
	}
	if err := domain.ValidateAPIKeyPrefix(c.APIKeyPrefix); err != nil {
		return fmt.Errorf("--api-key-prefix: %w", err)
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("--log-level: %q is not debug, info, warn or error", c.LogLevel)
	}
	switch c.AccessLog {
	case "all", "errors", "off":
	default:
		return fmt.Errorf("--access-log: %q is not all, errors or off", c.AccessLog)
	}
	switch c.LogFormat {
	case "json", "text":
	default:
		return fmt.Errorf("--log-format: %q is not json or text", c.LogFormat)
	}
	return nil
}
