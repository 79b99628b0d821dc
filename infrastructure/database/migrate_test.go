package database

import "testing"

func TestMigrationsShareOneHistory(t *testing.T) {
	t.Parallel()
	lite, err := migrationsFor(SQLite)
	if err != nil {
		t.Fatal(err)
	}
	pg, err := migrationsFor(Postgres)
	if err != nil {
		t.Fatal(err)
	}
	if len(lite) == 0 || len(lite) != len(pg) {
		t.Fatalf("sqlite has %d migrations, postgres %d; want the same non-zero number", len(lite), len(pg))
	}
	for i := range lite {
		if lite[i].Version != i+1 || pg[i].Version != i+1 {
			t.Errorf("migration %d: versions sqlite %d, postgres %d; want %d in both", i, lite[i].Version, pg[i].Version, i+1)
		}
		if lite[i].Name != pg[i].Name {
			t.Errorf("migration %d: names %q and %q differ", i+1, lite[i].Name, pg[i].Name)
		}
	}
}
