package gormstore_test

import (
	"testing"

	"github.com/gatehouse-auth/gatehouse/adapter/storage/gormstore"
	"github.com/gatehouse-auth/gatehouse/adapter/storage/storagetest"
	"github.com/gatehouse-auth/gatehouse/infrastructure/database/dbtest"
)

func TestContract(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		storagetest.Run(t, func(t *testing.T) storagetest.Stores {
			return gormstore.New(dbtest.Migrated(t, dbtest.SQLite(t)))
		})
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		dbtest.PostgresServer(t) // skip once here rather than in every subtest
		storagetest.Run(t, func(t *testing.T) storagetest.Stores {
			return gormstore.New(dbtest.Migrated(t, dbtest.Postgres(t)))
		})
	})
}
