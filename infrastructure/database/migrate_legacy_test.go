package database_test

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/infrastructure/database"
	"gorm.io/gorm"
)

// TestMigrateContinuesLegacyDatabase upgrades databases made by the runner
// before goose (legacyMigrate) at the current release's version and at an
// older one, with two migrators at once: both succeed, the users, sessions
// and keys are kept, the missing versions are applied once, and the schema
// is the one a fresh database gets.
func TestMigrateContinuesLegacyDatabase(t *testing.T) {
	t.Parallel()
	for _, from := range []int{4, 2} {
		t.Run("from version "+strconv.Itoa(from), func(t *testing.T) {
			t.Parallel()
			dialects(t, func(t *testing.T, dsn string) {
				reference := open(t, freshLike(t, dsn))
				latest, err := database.Migrate(t.Context(), reference)
				if err != nil {
					t.Fatalf("Migrate(fresh) = %v", err)
				}

				dbs := []*gorm.DB{open(t, dsn), open(t, dsn)}
				legacyMigrate(t, dbs[0], from)
				seedLegacy(t, dbs[0])

				if got := migrateTogether(t, dbs); got != latest-from {
					t.Errorf("Migrate on a database at version %d applied %d; want %d", from, got, latest-from)
				}
				if got := appliedVersions(t, dbs[0]); !slices.Equal(got, upTo(latest)) {
					t.Errorf("goose_db_version holds %v; want %v", got, upTo(latest))
				}
				checkSeeded(t, dbs[0])
				if got, want := schema(t, dbs[0]), schema(t, reference); got != want {
					t.Errorf("schema after the upgrade:\n%s\nwant, as a fresh database:\n%s", got, want)
				}
				if again, err := database.Migrate(t.Context(), dbs[1]); err != nil || again != 0 {
					t.Errorf("Migrate after the upgrade = %d, %v; want 0, nil", again, err)
				}
			})
		})
	}
}

// TestMigrateRefusesForeignLegacyHistory: a schema_migrations that is not a
// start of this release's history is refused and nothing is changed.
func TestMigrateRefusesForeignLegacyHistory(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, edit string }{
		{"unknown version", "INSERT INTO schema_migrations (version, applied_at) VALUES (99, CURRENT_TIMESTAMP)"},
		{"gap", "DELETE FROM schema_migrations WHERE version = 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dialects(t, func(t *testing.T, dsn string) {
				db := open(t, dsn)
				legacyMigrate(t, db, 4)
				if err := db.Exec(tt.edit).Error; err != nil {
					t.Fatal(err)
				}
				applied, err := database.Migrate(t.Context(), db)
				if err == nil || !strings.Contains(err.Error(), "schema_migrations records versions") {
					t.Fatalf("Migrate = %d, %v; want the schema_migrations history refused", applied, err)
				}
				if db.Migrator().HasTable("goose_db_version") {
					t.Error("goose_db_version was created for a refused history")
				}
			})
		})
	}
}

// legacyMigrate builds a database the way the release before goose did
// (infrastructure/database/migrate.go before goose, kept here as the
// fixture): versions 1..upTo of the embedded SQL, each in one transaction
// that on Postgres first takes pg_advisory_xact_lock, creates
// schema_migrations if needed, runs the file and records the version.
func legacyMigrate(t *testing.T, db *gorm.DB, upTo int) {
	t.Helper()
	dialect := database.Dialect(db)
	files, err := filepath.Glob(filepath.Join("migrations", dialect, "*.sql"))
	if err != nil || len(files) < upTo {
		t.Fatalf("legacy fixture: %d migration files, %v; want at least %d", len(files), err, upTo)
	}
	slices.Sort(files)
	versionTable := "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at DATETIME NOT NULL)"
	if dialect == database.Postgres {
		versionTable = "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL)"
	}
	for _, file := range files[:upTo] {
		body, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		prefix, _, _ := strings.Cut(filepath.Base(file), "_")
		version, err := strconv.Atoi(prefix)
		if err != nil {
			t.Fatal(err)
		}
		err = db.WithContext(t.Context()).Transaction(func(tx *gorm.DB) error {
			if dialect == database.Postgres {
				if err := tx.Exec("SELECT pg_advisory_xact_lock(?)", int64(0x67617465686f7573)).Error; err != nil {
					return err
				}
			}
			if err := tx.Exec(versionTable).Error; err != nil {
				return err
			}
			if err := tx.Exec(string(body)).Error; err != nil {
				return err
			}
			return tx.Exec("INSERT INTO schema_migrations (version, applied_at) VALUES (?, CURRENT_TIMESTAMP)", version).Error
		})
		if err != nil {
			t.Fatalf("legacy migration %s: %v", file, err)
		}
	}
}

// The rows seedLegacy writes and checkSeeded expects back.
var (
	seedTime       = time.Date(2025, 3, 14, 15, 9, 26, 0, time.UTC)
	seedToken      = []byte{0xde, 0xad, 0xbe, 0xef}
	seedPrivateKey = []byte("sealed private key")
)

// seedLegacy writes a user, a client, a session with its refresh token and a
// signing key through columns every legacy version has.
func seedLegacy(t *testing.T, db *gorm.DB) {
	t.Helper()
	stmts := []struct {
		sql  string
		args []any
	}{
		{"INSERT INTO users (id, username, password_hash, roles, disabled, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
			[]any{"u1", "alice", "$argon2id$v=19$m=65536,t=3,p=2$c2FsdA$aGFzaA", `["admin"]`, false, seedTime, seedTime}},
		{"INSERT INTO clients (id, name, secret_hash, scopes, created_at) VALUES (?, ?, ?, ?, ?)",
			[]any{"c1", "billing", []byte{1, 2, 3}, `["read"]`, seedTime}},
		{"INSERT INTO sessions (id, user_id, scope, created_at, expires_at, generation) VALUES (?, ?, ?, ?, ?, ?)",
			[]any{"s1", "u1", `["openid"]`, seedTime, seedTime.Add(24 * time.Hour), 3}},
		{"INSERT INTO refresh_tokens (session_id, hash, generation, created_at) VALUES (?, ?, ?, ?)",
			[]any{"s1", seedToken, 3, seedTime}},
		{"INSERT INTO signing_keys (id, algorithm, private, created_at) VALUES (?, ?, ?, ?)",
			[]any{"k1", "EdDSA", seedPrivateKey, seedTime}},
	}
	for _, s := range stmts {
		if err := db.Exec(s.sql, s.args...).Error; err != nil {
			t.Fatalf("seed legacy database: %s: %v", s.sql, err)
		}
	}
}

// checkSeeded reads back what seedLegacy wrote.
func checkSeeded(t *testing.T, db *gorm.DB) {
	t.Helper()
	var user struct {
		Username, PasswordHash, Roles string
		Stamp                         int64
	}
	if err := db.Raw("SELECT username, password_hash, roles, stamp FROM users WHERE id = ?", "u1").Scan(&user).Error; err != nil ||
		user.Username != "alice" || !strings.HasPrefix(user.PasswordHash, "$argon2id$") || user.Roles != `["admin"]` || user.Stamp != 1 {
		t.Errorf("user u1 after the upgrade = %+v, %v; want alice, her hash, admin, stamp 1", user, err)
	}
	var client struct{ Name string }
	if err := db.Raw("SELECT name FROM clients WHERE id = ?", "c1").Scan(&client).Error; err != nil || client.Name != "billing" {
		t.Errorf("client c1 after the upgrade = %+v, %v; want billing", client, err)
	}
	var session struct {
		UserID     string
		Generation int64
		UserStamp  int64
		ExpiresAt  time.Time
		AMR, ACR   string
	}
	if err := db.Raw("SELECT user_id, generation, user_stamp, expires_at, amr, acr FROM sessions WHERE id = ?", "s1").Scan(&session).Error; err != nil ||
		session.UserID != "u1" || session.Generation != 3 || session.UserStamp != 1 || !session.ExpiresAt.Equal(seedTime.Add(24*time.Hour)) ||
		session.AMR != "pwd" || session.ACR != "aal1" {
		t.Errorf("session s1 after the upgrade = %+v, %v; want u1, generation 3, stamp 1, expiring a day after %v, a password login (pwd, aal1)", session, err, seedTime)
	}
	var mfa struct{ MFAEnabled bool }
	if err := db.Raw("SELECT mfa_enabled FROM users WHERE id = ?", "u1").Scan(&mfa).Error; err != nil || mfa.MFAEnabled {
		t.Errorf("user u1's mfa_enabled after the upgrade = %v, %v; want false", mfa.MFAEnabled, err)
	}
	var token struct{ Hash []byte }
	if err := db.Raw("SELECT hash FROM refresh_tokens WHERE session_id = ?", "s1").Scan(&token).Error; err != nil || !bytes.Equal(token.Hash, seedToken) {
		t.Errorf("refresh token of s1 after the upgrade = %x, %v; want %x", token.Hash, err, seedToken)
	}
	var key struct {
		Algorithm string
		Private   []byte
	}
	if err := db.Raw("SELECT algorithm, private FROM signing_keys WHERE id = ?", "k1").Scan(&key).Error; err != nil ||
		key.Algorithm != "EdDSA" || !bytes.Equal(key.Private, seedPrivateKey) {
		t.Errorf("signing key k1 after the upgrade = %s %q, %v; want EdDSA %q", key.Algorithm, key.Private, err, seedPrivateKey)
	}
}

// schema describes every table but schema_migrations: its columns and
// indexes, one table a line.
func schema(t *testing.T, db *gorm.DB) string {
	t.Helper()
	tables, err := db.Migrator().GetTables()
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(tables)
	indexQuery := "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND name NOT LIKE 'sqlite_autoindex%' ORDER BY name"
	if database.Dialect(db) == database.Postgres {
		indexQuery = "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() AND tablename = ? ORDER BY indexname"
	}
	var b strings.Builder
	for _, table := range tables {
		if table == "schema_migrations" {
			continue
		}
		cols, err := db.Migrator().ColumnTypes(table)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, c := range cols {
			typ := c.DatabaseTypeName()
			nullable, _ := c.Nullable()
			names = append(names, c.Name()+" "+typ+map[bool]string{true: " null", false: ""}[nullable])
		}
		slices.Sort(names)
		var indexes []string
		if err := db.Raw(indexQuery, table).Scan(&indexes).Error; err != nil {
			t.Fatal(err)
		}
		b.WriteString(table + ": " + strings.Join(names, ", ") + "; indexes " + strings.Join(indexes, ", ") + "\n")
	}
	return b.String()
}
