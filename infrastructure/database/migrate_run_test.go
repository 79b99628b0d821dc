package database_test

import (
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/gatehouse-auth/gatehouse/infrastructure/database"
	"github.com/gatehouse-auth/gatehouse/infrastructure/database/dbtest"
	"gorm.io/gorm"
)

func TestOpenAndMigrate(t *testing.T) {
	t.Parallel()
	dialects(t, func(t *testing.T, dsn string) {
		db := open(t, dsn)
		want := database.SQLite
		if strings.HasPrefix(dsn, "postgres") {
			want = database.Postgres
		}
		if got := database.Dialect(db); got != want {
			t.Fatalf("Dialect = %q; want %q", got, want)
		}
		applied, err := database.Migrate(t.Context(), db)
		if err != nil || applied == 0 {
			t.Fatalf("Migrate = %d, %v; want > 0, nil", applied, err)
		}
		again, err := database.Migrate(t.Context(), db)
		if err != nil || again != 0 {
			t.Fatalf("second Migrate = %d, %v; want 0, nil", again, err)
		}
		if got := appliedVersions(t, db); !slices.Equal(got, upTo(applied)) {
			t.Fatalf("goose_db_version holds %v; want %v", got, upTo(applied))
		}
		for _, table := range []string{"users", "clients", "sessions", "refresh_tokens", "revocations", "signing_keys", "login_attempts"} {
			if !db.Migrator().HasTable(table) {
				t.Errorf("table %s missing after Migrate", table)
			}
		}
	})
}

// TestMigrateConcurrently starts migrators together on one fresh database,
// as replicas do: all succeed and each migration is applied once.
func TestMigrateConcurrently(t *testing.T) {
	t.Parallel()
	dialects(t, func(t *testing.T, dsn string) {
		// Pools stand in for processes starting at once.
		dbs := []*gorm.DB{open(t, dsn), open(t, dsn), open(t, dsn)}
		total := migrateTogether(t, dbs)
		if got := appliedVersions(t, dbs[0]); total == 0 || !slices.Equal(got, upTo(total)) {
			t.Fatalf("concurrent Migrate applied %d in total, goose_db_version holds %v; want each migration once", total, got)
		}
	})
}

// migrateTogether runs Migrate on every pool at once and returns how many
// migrations they applied in total; each must succeed.
func migrateTogether(t *testing.T, dbs []*gorm.DB) int {
	t.Helper()
	applied := make([]int, len(dbs))
	errs := make([]error, len(dbs))
	var wg sync.WaitGroup
	for i, db := range dbs {
		wg.Go(func() { applied[i], errs[i] = database.Migrate(t.Context(), db) })
	}
	wg.Wait()
	total := 0
	for i, err := range errs {
		if err != nil {
			t.Fatalf("concurrent Migrate #%d = %v", i, err)
		}
		total += applied[i]
	}
	return total
}

// appliedVersions returns the versions goose recorded, repeats included.
func appliedVersions(t *testing.T, db *gorm.DB) []int64 {
	t.Helper()
	var versions []int64
	if err := db.Raw("SELECT version_id FROM goose_db_version WHERE version_id > 0 ORDER BY version_id").Scan(&versions).Error; err != nil {
		t.Fatalf("read goose_db_version: %v", err)
	}
	return versions
}

// upTo returns 1..n.
func upTo(n int) []int64 {
	out := make([]int64, n)
	for i := range out {
		out[i] = int64(i + 1)
	}
	return out
}

// freshLike returns a new database of the same dialect as dsn.
func freshLike(t *testing.T, dsn string) string {
	t.Helper()
	if strings.HasPrefix(dsn, "postgres") {
		return dbtest.Postgres(t)
	}
	return filepath.Join(t.TempDir(), "reference.db")
}
