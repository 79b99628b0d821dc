package database

import (
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"strings"
)

// dbFileMode is the mode of a SQLite database file and of its -wal and
// -shm: the database holds password hashes and, without a key-encryption
// key, private signing keys.
const dbFileMode fs.FileMode = 0o600

// secureSQLiteFile runs before SQLite opens path. It creates a missing
// database file with mode 0600 whatever the umask (SQLite would create it
// 0644 & ~umask), refuses an existing one that group or others may use, and
// narrows an existing -wal or -shm to 0600. SQLite's unix VFS gives the
// -wal and -shm it creates the database file's mode, so a 0600 database
// keeps them 0600. query holds the DSN's parameters: with mode=ro or
// mode=rw SQLite must not create the file, so neither do we.
func secureSQLiteFile(path string, query url.Values) error {
	if m := query.Get("mode"); m == "" || m == "rwc" {
		created, err := createDBFile(path)
		if err != nil || created {
			return err
		}
	}
	info, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // mode=ro or rw: SQLite reports the missing file
	}
	if err != nil {
		return fmt.Errorf("database file: %w", err)
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 {
		how := "readable by"
		if perm&0o044 == 0 {
			how = "open to"
		}
		return fmt.Errorf("database file %s is %s group or others (mode %04o): run chmod 600 %s", path, how, perm, shellQuote(path))
	}
	for _, side := range []string{path + "-wal", path + "-shm"} {
		info, err := os.Stat(side)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err == nil && info.Mode().Perm()&0o077 != 0 {
			err = os.Chmod(side, info.Mode().Perm()&^0o077)
		}
		if err != nil {
			return fmt.Errorf("database file: %w", err)
		}
	}
	return nil
}

// createDBFile creates path with mode 0600 exactly, and reports false when
// it already exists (another process may have just created it).
func createDBFile(path string) (bool, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, dbFileMode)
	if errors.Is(err, fs.ErrExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("create database file: %w", err)
	}
	err = f.Close()
	if cerr := os.Chmod(path, dbFileMode); err == nil { // the umask may have taken owner bits
		err = cerr
	}
	if err != nil {
		return false, fmt.Errorf("create database file: %w", err)
	}
	return true, nil
}

// shellQuote quotes path for a sh command line when it needs it.
func shellQuote(path string) string {
	if path != "" && strings.Trim(path, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-+=:,@%") == "" {
		return path
	}
	return "'" + strings.ReplaceAll(path, "'", `'\''`) + "'"
}
