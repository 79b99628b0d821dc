package database

import (
	"io/fs"
	"path/filepath"
	"slices"
	"testing"
)

// TestMigrationsShareOneHistory holds the rule of migrationFiles: both
// dialects have the same files, goose reads the same versions from each, and
// the versions are 1..N without a gap.
func TestMigrationsShareOneHistory(t *testing.T) {
	t.Parallel()
	db, err := Open(t.Context(), filepath.Join(t.TempDir(), "gatehouse.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sqlDB.Close() })

	names := map[string][]string{}
	versions := map[string][]int64{}
	for _, dialect := range []string{SQLite, Postgres} {
		files, err := migrationsFor(dialect)
		if err != nil {
			t.Fatal(err)
		}
		names[dialect], err = fs.Glob(files, "*.sql")
		if err != nil {
			t.Fatal(err)
		}
		// Only the file list matters here, so the SQLite pool serves both.
		provider, err := newProvider(dialect, sqlDB)
		if err != nil {
			t.Fatalf("newProvider(%s) = %v", dialect, err)
		}
		for _, s := range provider.ListSources() {
			versions[dialect] = append(versions[dialect], s.Version)
		}
	}
	if len(names[SQLite]) == 0 || !slices.Equal(names[SQLite], names[Postgres]) {
		t.Fatalf("migration files: sqlite %v, postgres %v; want the same non-empty list", names[SQLite], names[Postgres])
	}
	if !slices.Equal(versions[SQLite], versions[Postgres]) {
		t.Fatalf("goose versions: sqlite %v, postgres %v; want the same", versions[SQLite], versions[Postgres])
	}
	for i, v := range versions[SQLite] {
		if v != int64(i+1) {
			t.Fatalf("goose versions %v; want 1..%d without a gap", versions[SQLite], len(versions[SQLite]))
		}
	}
}
