package gormstore

import (
	"context"
	"database/sql"
	"errors"
	"sync"

	"gorm.io/gorm"
)

// The grants are the store's hottest paths: every refresh reads a token
// with its session and user and then writes in a transaction, and every
// client_credentials grant reads its client. Those statements bypass GORM's
// query building and reflection and run as database/sql statements
// prepared once on the connection pool (a third less CPU per refresh). That
// also sidesteps a cost of GORM's statement cache: a statement first seen
// inside a transaction is prepared on that transaction, and database/sql
// then prepares it again in every later one. Everything else goes through
// GORM.
//
// The placeholders are $1, $2, ...: PostgreSQL needs them, and SQLite binds
// them by position like ?.

// preparedStmts holds the statements prepared so far, by query text.
type preparedStmts struct {
	mu sync.Mutex
	m  map[string]*sql.Stmt
}

// prepared returns the pool-wide prepared statement for query, preparing
// it on first use. A failed preparation is not remembered: the next call
// tries again (the database may have been down).
func (s *Store) prepared(ctx context.Context, query string) (*sql.Stmt, error) {
	s.stmts.mu.Lock()
	defer s.stmts.mu.Unlock()
	if st, ok := s.stmts.m[query]; ok {
		return st, nil
	}
	sqlDB, err := s.db.DB()
	if err != nil {
		return nil, err
	}
	st, err := sqlDB.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if s.stmts.m == nil {
		s.stmts.m = make(map[string]*sql.Stmt)
	}
	s.stmts.m[query] = st
	return st, nil
}

// sqlTransaction runs fn in a database/sql transaction on the store's
// pool, rolling back if fn fails or panics. Failures to begin or commit are
// outages.
func (s *Store) sqlTransaction(ctx context.Context, fn func(tx *sql.Tx) error) error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return outage(err)
	}
	tx, err := sqlDB.BeginTx(ctx, nil)
	if err != nil {
		return outage(err)
	}
	defer tx.Rollback() // a no-op once committed
	if err := fn(tx); err != nil {
		return err
	}
	return outage(tx.Commit())
}

// translateSQL is translate for errors of database/sql calls, which GORM's
// error translation has not seen: no rows becomes ErrNotFound and the
// dialect's constraint errors become ErrConflict (dup) as through GORM.
func (s *Store) translateSQL(err error, what string, dup error) error {
	if errors.Is(err, sql.ErrNoRows) {
		err = gorm.ErrRecordNotFound
	} else if t, ok := s.db.Dialector.(gorm.ErrorTranslator); ok {
		err = t.Translate(err)
	}
	return translate(err, what, dup)
}
