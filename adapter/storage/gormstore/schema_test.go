package gormstore

import (
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/infrastructure/database"
	"github.com/gatehouse-auth/gatehouse/infrastructure/database/dbtest"
	"gorm.io/gorm"
	"gorm.io/gorm/schema"
)

// TestRowsMatchMigrations checks every row struct against the table the
// migrations create: same columns, nullable exactly where the struct can
// hold NULL, and a column type that fits the Go type on each dialect.
func TestRowsMatchMigrations(t *testing.T) {
	t.Parallel()
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		checkRows(t, dbtest.SQLite(t))
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		checkRows(t, dbtest.Postgres(t))
	})
}

// columnTypes lists, per dialect, the database type each Go field type must
// map to.
var columnTypes = map[string]map[reflect.Type]string{
	database.SQLite: {
		reflect.TypeFor[string]():     "text",
		reflect.TypeFor[int64]():      "bigint|integer",
		reflect.TypeFor[bool]():       "boolean",
		reflect.TypeFor[[]byte]():     "blob",
		reflect.TypeFor[time.Time]():  "datetime",
		reflect.TypeFor[*time.Time](): "datetime",
	},
	database.Postgres: {
		reflect.TypeFor[string]():     "text",
		reflect.TypeFor[int64]():      "int8",
		reflect.TypeFor[bool]():       "bool",
		reflect.TypeFor[[]byte]():     "bytea",
		reflect.TypeFor[time.Time]():  "timestamptz",
		reflect.TypeFor[*time.Time](): "timestamptz",
	},
}

// nullableBytes names the []byte columns that may be NULL.
var nullableBytes = map[string]bool{"sessions.sealed_successor": true}

func checkRows(t *testing.T, dsn string) {
	db := dbtest.Migrated(t, dsn)
	types := columnTypes[database.Dialect(db)]
	for _, model := range []any{&userRow{}, &clientRow{}, &sessionRow{}, &refreshTokenRow{}, &revocationRow{}, &keyRow{}, &apiKeyRow{}, &eventRow{}, &webhookRow{}, &deliveryRow{}, &totpRow{}, &recoveryCodeRow{}, &mfaTokenRow{}} {
		sch, err := schema.Parse(model, &sync.Map{}, db.NamingStrategy)
		if err != nil {
			t.Fatal(err)
		}
		cols, err := db.Migrator().ColumnTypes(model)
		if err != nil {
			t.Fatalf("column types of %s: %v", sch.Table, err)
		}
		checkTable(t, db, sch, cols, types)
	}
}

func checkTable(t *testing.T, db *gorm.DB, sch *schema.Schema, cols []gorm.ColumnType, types map[reflect.Type]string) {
	t.Helper()
	byName := make(map[string]gorm.ColumnType, len(cols))
	var tableCols []string
	for _, c := range cols {
		byName[c.Name()] = c
		tableCols = append(tableCols, c.Name())
	}
	sort.Strings(tableCols)
	fieldCols := append([]string(nil), sch.DBNames...)
	sort.Strings(fieldCols)
	if strings.Join(tableCols, ",") != strings.Join(fieldCols, ",") {
		t.Errorf("%s: table columns %v; row struct %v", sch.Table, tableCols, fieldCols)
	}
	for _, f := range sch.Fields {
		c, ok := byName[f.DBName]
		if !ok {
			continue
		}
		name := sch.Table + "." + f.DBName
		dbType := strings.ToLower(c.DatabaseTypeName())
		if want := types[f.FieldType]; !containsWord(want, dbType) {
			t.Errorf("%s: column type %q for Go %s; want %s", name, dbType, f.FieldType, want)
		}
		nullable, ok := c.Nullable()
		if !ok {
			continue
		}
		wantNull := f.FieldType.Kind() == reflect.Pointer || nullableBytes[name]
		if f.PrimaryKey {
			wantNull = false
		}
		if nullable != wantNull && !(f.PrimaryKey && db.Dialector.Name() == database.SQLite) {
			t.Errorf("%s: nullable = %v; want %v", name, nullable, wantNull)
		}
	}
}

func containsWord(alternatives, word string) bool {
	for _, a := range strings.Split(alternatives, "|") {
		if a == word {
			return true
		}
	}
	return false
}
