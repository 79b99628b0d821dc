package gormstore_test

import (
	"testing"

	"github.com/gatehouse-auth/gatehouse/adapter/storage/gormstore"
	"github.com/gatehouse-auth/gatehouse/adapter/storage/storagetest"
	"github.com/gatehouse-auth/gatehouse/infrastructure/database"
	"github.com/gatehouse-auth/gatehouse/infrastructure/database/dbtest"
	"gorm.io/gorm"
)

// openMigrated opens dsn, applies the migrations and closes the pool when t
// ends.
func openMigrated(t *testing.T, dsn string) *gorm.DB {
	t.Helper()
	db, err := database.Open(t.Context(), dsn, database.Options{})
	if err != nil {
		t.Fatalf("open database: %v", err)
	}
	t.Cleanup(func() {
		if sqlDB, err := db.DB(); err == nil {
			_ = sqlDB.Close()
		}
	})
	if _, err := database.Migrate(t.Context(), db); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return db
}

func TestContract(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		storagetest.Run(t, func(t *testing.T) storagetest.Stores {
			return gormstore.New(openMigrated(t, dbtest.SQLite(t)))
		})
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		dbtest.PostgresServer(t)
		storagetest.Run(t, func(t *testing.T) storagetest.Stores {
			return gormstore.New(openMigrated(t, dbtest.Postgres(t)))
		})
	})
}
