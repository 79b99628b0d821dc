// Package config turns GATEHOUSE_* environment variables and command-line
// flags into one validated Config. Flags win over the environment.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"time"
)

// Config is every setting of the service.
type Config struct {
	Addr                 string
	DB                   string
	Issuer               string
	Audience             string
	SigningAlg           string
	JWTSecret            []byte
	KeyEncryptionKey     []byte
	AccessTTL            time.Duration
	RefreshTTL           time.Duration
	RefreshReuseInterval time.Duration
	RevocationSync       time.Duration
	RevocationMaxStale   time.Duration
	Leeway               time.Duration
	Signup               bool
	PasswordMinLength    int
	LogLevel             string
	LogFormat            string
	AccessLog            string
	PprofAddr            string
	TrustedProxies       []*net.IPNet
	Metrics              bool
	UserScopes           []string
	HashConcurrency      int
	HashQueue            int
	DBMaxOpenConns       int
	LoginPairFailures    int
	LoginUserFailures    int
	LoginIPFailures      int
	LoginIPWindow        time.Duration
	LoginMaxDelay        time.Duration
	SignupIPLimit        int
	SignupIPWindow       time.Duration
}

// setting is one configuration entry: its flag, its variable and default.
type setting struct {
	flag, env, def, usage string
}

// settings lists every setting, in DESIGN.md's order.
func settings() []setting {
	return []setting{
		{"addr", "GATEHOUSE_ADDR", ":8080", "listen address"},
		{"db", "GATEHOUSE_DB", "gatehouse.db", "SQLite file, postgres:// URL, or memory:"},
		{"issuer", "GATEHOUSE_ISSUER", "http://localhost:8080", "token issuer (iss) and public base URL"},
		{"audience", "GATEHOUSE_AUDIENCE", "gatehouse", "token audience (aud)"},
		{"signing-alg", "GATEHOUSE_SIGNING_ALG", "EdDSA", "EdDSA, ES256, RS256 or HS256"},
		{"jwt-secret-file", "GATEHOUSE_JWT_SECRET_FILE", "", "file holding the HS256 secret"},
		{"key-encryption-key-file", "GATEHOUSE_KEY_ENCRYPTION_KEY_FILE", "", "file holding the key that encrypts signing keys at rest"},
		{"access-ttl", "GATEHOUSE_ACCESS_TTL", "15m", "access token lifetime"},
		{"refresh-ttl", "GATEHOUSE_REFRESH_TTL", "720h", "absolute session lifetime"},
		{"refresh-reuse-interval", "GATEHOUSE_REFRESH_REUSE_INTERVAL", "10s", "grace period for racing refreshes"},
		{"revocation-sync", "GATEHOUSE_REVOCATION_SYNC", "2s", "how often replicas pull revocations and keys"},
		{"revocation-max-staleness", "GATEHOUSE_REVOCATION_MAX_STALENESS", "30s", "how long the revoked set may go unrefreshed before /readyz answers 503"},
		{"leeway", "GATEHOUSE_LEEWAY", "30s", "clock skew tolerated when verifying"},
		{"signup", "GATEHOUSE_SIGNUP", "true", "allow self-service POST /users"},
		{"password-min-length", "GATEHOUSE_PASSWORD_MIN_LENGTH", "8", "minimum password length"},
		{"signup-ip-limit", "GATEHOUSE_SIGNUP_IP_LIMIT", "20", "self-service sign-ups per client address (IPv6: per /64) within --signup-ip-window (0: no limit)"},
		{"signup-ip-window", "GATEHOUSE_SIGNUP_IP_WINDOW", "10m", "window of --signup-ip-limit"},
		{"log-level", "GATEHOUSE_LOG_LEVEL", "info", "debug, info, warn or error"},
		{"log-format", "GATEHOUSE_LOG_FORMAT", "json", "json or text"},
		{"access-log", "GATEHOUSE_ACCESS_LOG", "all", "requests logged: all, errors (status >= 400) or off"},
		{"pprof-addr", "GATEHOUSE_PPROF_ADDR", "", "loopback address for Go's profiler, e.g. 127.0.0.1:6060 (off when empty)"},
		{"trusted-proxies", "GATEHOUSE_TRUSTED_PROXIES", "", "comma-separated CIDRs whose X-Forwarded-For is trusted"},
		{"metrics", "GATEHOUSE_METRICS", "true", "serve GET /metrics"},
		{"user-scopes", "GATEHOUSE_USER_SCOPES", "", "space-separated scopes users may request"},
		{"hash-concurrency", "GATEHOUSE_HASH_CONCURRENCY", "0", "password hashes run at once (0: number of CPUs)"},
		{"hash-queue", "GATEHOUSE_HASH_QUEUE", "0", "logins waiting for a hash slot before 503 (0: 32 per slot)"},
		{"db-max-open-conns", "GATEHOUSE_DB_MAX_OPEN_CONNS", "0", "database connection pool size (0: driver default)"},
		{"login-pair-failures", "GATEHOUSE_LOGIN_PAIR_FAILURES", "5", "failures per (username, IP) before backoff"},
		{"login-user-failures", "GATEHOUSE_LOGIN_USER_FAILURES", "20", "failures per username before unknown addresses are throttled (max 100)"},
		{"login-ip-failures", "GATEHOUSE_LOGIN_IP_FAILURES", "50", "failures per IP within --login-ip-window"},
		{"login-ip-window", "GATEHOUSE_LOGIN_IP_WINDOW", "15m", "window of --login-ip-failures"},
		{"login-max-delay", "GATEHOUSE_LOGIN_MAX_DELAY", "15m", "cap of the login backoff (which starts at 1s and doubles)"},
	}
}

// Load reads args (without the program and subcommand names) and the
// environment through getenv. It returns a Config, the remaining
// positional arguments, or one error naming the bad setting.
func Load(fs *flag.FlagSet, args []string, getenv func(string) string) (Config, []string, error) {
	vals := map[string]*string{}
	for _, s := range settings() {
		v := s.def
		if e := getenv(s.env); e != "" {
			v = e
		}
		vals[s.flag] = fs.String(s.flag, v, s.usage+" ($"+s.env+")")
	}
	fs.SetOutput(io.Discard)
	positional, err := parseInterleaved(fs, args)
	if err != nil {
		return Config{}, nil, err
	}
	get := func(name string) string { return strings.TrimSpace(*vals[name]) }

	var c Config
	var errs []error
	dur := func(name string) time.Duration {
		d, err := time.ParseDuration(get(name))
		if err != nil || d < 0 {
			errs = append(errs, fmt.Errorf("--%s: %q is not a duration such as 15m", name, get(name)))
		}
		return d
	}
	num := func(name string) int {
		n, err := strconv.Atoi(get(name))
		if err != nil || n < 0 {
			errs = append(errs, fmt.Errorf("--%s: %q is not a non-negative integer", name, get(name)))
		}
		return n
	}
	boolean := func(name string) bool {
		b, err := strconv.ParseBool(get(name))
		if err != nil {
			errs = append(errs, fmt.Errorf("--%s: %q is not true or false", name, get(name)))
		}
		return b
	}
	c.Addr = get("addr")
	c.DB = get("db")
	c.Issuer = strings.TrimRight(get("issuer"), "/")
	c.Audience = get("audience")
	c.SigningAlg = get("signing-alg")
	c.AccessTTL = dur("access-ttl")
	c.RefreshTTL = dur("refresh-ttl")
	c.RefreshReuseInterval = dur("refresh-reuse-interval")
	c.RevocationSync = dur("revocation-sync")
	c.RevocationMaxStale = dur("revocation-max-staleness")
	c.Leeway = dur("leeway")
	c.Signup = boolean("signup")
	c.PasswordMinLength = num("password-min-length")
	c.SignupIPLimit = num("signup-ip-limit")
	c.SignupIPWindow = dur("signup-ip-window")
	c.LogLevel = strings.ToLower(get("log-level"))
	c.LogFormat = strings.ToLower(get("log-format"))
	c.AccessLog = strings.ToLower(get("access-log"))
	c.PprofAddr = get("pprof-addr")
	c.Metrics = boolean("metrics")
	c.UserScopes = strings.Fields(get("user-scopes"))
	c.HashConcurrency = num("hash-concurrency")
	c.HashQueue = num("hash-queue")
	c.DBMaxOpenConns = num("db-max-open-conns")
	c.LoginPairFailures = num("login-pair-failures")
	c.LoginUserFailures = num("login-user-failures")
	c.LoginIPFailures = num("login-ip-failures")
	c.LoginIPWindow = dur("login-ip-window")
	c.LoginMaxDelay = dur("login-max-delay")
	for _, cidr := range strings.Split(get("trusted-proxies"), ",") {
		if cidr = strings.TrimSpace(cidr); cidr == "" {
			continue
		}
		_, n, err := net.ParseCIDR(cidr)
		if err != nil {
			errs = append(errs, fmt.Errorf("--trusted-proxies: %q is not a CIDR such as 10.0.0.0/8", cidr))
			continue
		}
		c.TrustedProxies = append(c.TrustedProxies, n)
	}
	if len(errs) > 0 {
		return Config{}, nil, errs[0]
	}
	secret, err := loadSecret("--jwt-secret-file", get("jwt-secret-file"), getenv("GATEHOUSE_JWT_SECRET"))
	if err != nil {
		return Config{}, nil, err
	}
	c.JWTSecret = secret
	kek, err := loadSecret("--key-encryption-key-file", get("key-encryption-key-file"), getenv("GATEHOUSE_KEY_ENCRYPTION_KEY"))
	if err != nil {
		return Config{}, nil, err
	}
	c.KeyEncryptionKey = kek
	return c, positional, c.Validate()
}

// parseInterleaved parses flags that may come before, between or after
// positional arguments ("user add NAME --role admin").
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return positional, nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

// loadSecret reads a secret from a file (preferred) or the environment. A
// secret file readable by group or others is refused.
func loadSecret(setting, file, env string) ([]byte, error) {
	if file == "" {
		if env == "" {
			return nil, nil
		}
		return []byte(env), nil
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
	return []byte(strings.TrimRight(string(b), "\r\n")), nil
}

// Validate checks the relations between settings.
func (c Config) Validate() error {
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
	case c.Issuer == "":
		return errors.New("--issuer: must not be empty")
	case c.Audience == "":
		return errors.New("--audience: must not be empty")
	case c.DB == "":
		return errors.New("--db: must not be empty")
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

// Usage writes the settings table to w.
func Usage(w io.Writer) {
	for _, s := range settings() {
		fmt.Fprintf(w, "  --%-24s %-34s %s (default %q)\n", s.flag, s.env, s.usage, s.def)
	}
}
