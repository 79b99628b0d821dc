package database

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"time"
)

// lockFileSuffix names the lock file beside a SQLite database.
const lockFileSuffix = "-migrate.lock"

// lockPoll is how often a SQLite migrator retries a held lock.
const lockPoll = 20 * time.Millisecond

// errLockHeld is what tryLockFile returns when another holder has the lock.
var errLockHeld = errors.New("lock held")

// fileLocker is goose's session locker for SQLite, which goose does not lock
// (pressly/goose#1022). It holds an exclusive flock on PATH-migrate.lock, an
// empty file beside the database, for the whole run. The kernel releases it
// when its holder exits, so a crash leaves no stale lock; it never opens the
// database file itself (closing any other descriptor of a SQLite file drops
// SQLite's own locks). It excludes migrators in other processes (the CLI and
// a running server share the file) and in other pools of this one. A lock in
// the database would need a second connection while goose holds the pool's
// only one, and a lease that a crash leaves behind.
type fileLocker struct {
	file *os.File
}

// SessionLock waits, up to lockWait, for the lock beside conn's database.
func (l *fileLocker) SessionLock(ctx context.Context, conn *sql.Conn) error {
	path, err := sqliteFile(ctx, conn)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path+lockFileSuffix, os.O_RDWR|os.O_CREATE, dbFileMode)
	if err != nil {
		return fmt.Errorf("migration lock: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, lockWait)
	defer cancel()
	for {
		err := tryLockFile(f)
		if err == nil {
			l.file = f
			return nil
		}
		if !errors.Is(err, errLockHeld) {
			return errors.Join(fmt.Errorf("migration lock %s: %w", f.Name(), err), f.Close())
		}
		select {
		case <-ctx.Done():
			return errors.Join(fmt.Errorf("migration lock %s: another migrator holds it: %w", f.Name(), ctx.Err()), f.Close())
		case <-time.After(lockPoll):
		}
	}
}

// SessionUnlock releases the lock; closing the file does that.
func (l *fileLocker) SessionUnlock(context.Context, *sql.Conn) error {
	if l.file == nil {
		return nil
	}
	err := l.file.Close()
	l.file = nil
	if err != nil {
		return fmt.Errorf("migration unlock: %w", err)
	}
	return nil
}

// sqliteFile returns the path of the main database of conn.
func sqliteFile(ctx context.Context, conn *sql.Conn) (string, error) {
	rows, err := conn.QueryContext(ctx, "PRAGMA database_list")
	if err != nil {
		return "", fmt.Errorf("migration lock: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			seq        int
			name, file string
		)
		if err := rows.Scan(&seq, &name, &file); err != nil {
			return "", fmt.Errorf("migration lock: %w", err)
		}
		if name == "main" && file != "" {
			return file, nil
		}
	}
	if err := rows.Err(); err != nil {
		return "", fmt.Errorf("migration lock: %w", err)
	}
	return "", errors.New("migration lock: the SQLite database has no file")
}
