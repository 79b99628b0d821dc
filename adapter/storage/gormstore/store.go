// Package gormstore implements the storage ports on SQLite and Postgres
// through GORM. It owns its row structs and maps them to domain values
// explicitly; the schema comes from the migrations of
// infrastructure/database, never from AutoMigrate.
package gormstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/gatehouse-auth/gatehouse/domain"
	"go.opentelemetry.io/otel/trace"
	"gorm.io/gorm"
)

// Store is a GORM-backed implementation of the storage ports.
type Store struct {
	db *gorm.DB // with GORM's statement cache, for statements outside transactions
	// txdb runs transactions, without the statement cache: GORM prepares a
	// new statement on the pool while holding the cache's lock, so a
	// transaction that waited for that lock while holding the last pooled
	// connection (SQLite has one) deadlocked with it.
	txdb  *gorm.DB
	stmts preparedStmts // the refresh grant's statements (prepared.go)
	// tracer opens the store's spans; nil when tracing is off (tracing.go).
	tracer trace.Tracer
}

// New returns a store on db. db must be opened with TranslateError so that
// constraint violations arrive as gorm.ErrDuplicatedKey and
// gorm.ErrForeignKeyViolated, and migrated.
//
// The store prepares each query shape once per connection and reuses it
// (statement preparation was a large share of every grant). Migrations
// must not run through such a session: SQLite prepares only the first
// statement of a multi-statement script.
//
// With WithTracerProvider every call is a span (tracing.go); registering
// its GORM callbacks can fail only on a callback ordering conflict, a
// programming error, and New panics then.
func New(db *gorm.DB, opts ...Option) *Store {
	s := &Store{db: db.Session(&gorm.Session{PrepareStmt: true}), txdb: db.Session(&gorm.Session{})}
	for _, o := range opts {
		o(s)
	}
	if s.tracer != nil {
		if err := registerTracing(db, s.tracer, s.dbSystem()); err != nil {
			panic("gormstore: register tracing callbacks: " + err.Error())
		}
	}
	return s
}

// Store is a complete storage backend.
var _ domain.Store = (*Store)(nil)

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return fmt.Errorf("ping database: %w", err)
	}
	if err := sqlDB.PingContext(ctx); err != nil {
		return fmt.Errorf("ping database: %w", outage(err))
	}
	return nil
}

// conn returns the session for one call.
func (s *Store) conn(ctx context.Context) *gorm.DB { return s.db.WithContext(ctx) }

// isPostgres reports whether the store talks to Postgres.
func (s *Store) isPostgres() bool { return s.db.Dialector.Name() == "postgres" }

// translate turns GORM errors into domain errors: record not found becomes
// ErrNotFound, a duplicate key dup (ErrConflict unless the caller knows
// better), a foreign-key violation ErrNotFound (the parent is gone).
// Anything else is an outage: wrapped with what and domain.ErrUnavailable.
func translate(err error, what string, dup error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, gorm.ErrRecordNotFound):
		return fmt.Errorf("%s: %w", what, domain.ErrNotFound)
	case errors.Is(err, gorm.ErrDuplicatedKey):
		return fmt.Errorf("%s: %w", what, dup)
	case errors.Is(err, gorm.ErrForeignKeyViolated):
		return fmt.Errorf("%s: %w", what, domain.ErrNotFound)
	}
	return fmt.Errorf("%s: %w", what, outage(err))
}

// outage marks err as the database being unavailable unless it already
// carries a domain meaning. The database refusing or dropping connections,
// timing out or being locked is something a client should retry (503), not
// a bug (500); GORM gives no finer distinction that holds on both dialects.
func outage(err error) error {
	switch {
	case err == nil,
		errors.Is(err, domain.ErrNotFound),
		errors.Is(err, domain.ErrConflict),
		errors.Is(err, domain.ErrUsernameTaken),
		errors.Is(err, domain.ErrMFANotEnabled),
		errors.Is(err, domain.ErrMFAAlreadyEnabled),
		errors.Is(err, domain.ErrUnavailable):
		return err
	}
	return fmt.Errorf("%w: %w", domain.ErrUnavailable, err)
}

// transaction runs fn in a transaction; failures to begin or commit are
// outages.
func (s *Store) transaction(ctx context.Context, fn func(tx *gorm.DB) error) error {
	return outage(s.txdb.WithContext(ctx).Transaction(fn))
}
