package database

import (
	"strings"
	"testing"
)

func TestDialectorFor(t *testing.T) {
	t.Parallel()
	tests := []struct {
		dsn     string
		dialect string
		path    string // SQLite DSN prefix, up to the first '?'
		extra   string // a parameter that must be kept
	}{
		{dsn: "", dialect: SQLite, path: "file:gatehouse.db"},
		{dsn: "data/auth.db", dialect: SQLite, path: "file:data/auth.db"},
		{dsn: "/var/lib/gatehouse/auth.db", dialect: SQLite, path: "file:/var/lib/gatehouse/auth.db"},
		{dsn: "file:/tmp/a.db?cache=shared", dialect: SQLite, path: "file:/tmp/a.db", extra: "cache=shared"},
		{dsn: "file:///tmp/a.db", dialect: SQLite, path: "file:/tmp/a.db"},
		{dsn: "sqlite:///tmp/b.db", dialect: SQLite, path: "file:/tmp/b.db"},
		{dsn: "sqlite://rel.db", dialect: SQLite, path: "file:rel.db"},
		{dsn: "/tmp/odd#name?.db", dialect: SQLite, path: "file:/tmp/odd%23name%3f.db"},
		{dsn: "file:/tmp/my%20db%25.db", dialect: SQLite, path: "file:/tmp/my db%25.db"},
		{dsn: "postgres://u:pw@localhost/db", dialect: Postgres},
		{dsn: "postgresql://localhost/db", dialect: Postgres},
	}
	for _, tt := range tests {
		t.Run(tt.dsn, func(t *testing.T) {
			t.Parallel()
			d, name, err := dialectorFor(tt.dsn)
			if err != nil {
				t.Fatalf("dialectorFor(%q) = %v", tt.dsn, err)
			}
			if name != tt.dialect || d.Name() != tt.dialect {
				t.Fatalf("dialectorFor(%q) dialect = %s/%s; want %s", tt.dsn, name, d.Name(), tt.dialect)
			}
			if tt.dialect != SQLite {
				return
			}
			path, query, _ := sqlitePath(tt.dsn, schemeOf(tt.dsn))
			got := sqliteDSN(path, query)
			before, params, _ := strings.Cut(got, "?")
			if before != tt.path {
				t.Errorf("sqlite DSN for %q = %q; want path %q", tt.dsn, got, tt.path)
			}
			want := []string{"_journal_mode=WAL", "_busy_timeout=10000", "_foreign_keys=on", "_txlock=immediate", "_synchronous=NORMAL"}
			if tt.extra != "" {
				want = append(want, tt.extra)
			}
			for _, want := range want {
				if !strings.Contains("&"+params+"&", "&"+want+"&") {
					t.Errorf("sqlite DSN for %q = %q; missing %q", tt.dsn, got, want)
				}
			}
		})
	}
}

func schemeOf(dsn string) string {
	if m := schemeRE.FindStringSubmatch(dsn); m != nil {
		return strings.ToLower(m[1])
	}
	return ""
}

func TestDialectorForRejects(t *testing.T) {
	t.Parallel()
	for _, dsn := range []string{
		"mysql://root:hunter2secret@localhost/db",
		"memory:",
		":memory:",
		"file:x.db?mode=memory",
		"sqlite:relative-without-slashes.db",
	} {
		t.Run(dsn, func(t *testing.T) {
			t.Parallel()
			_, _, err := dialectorFor(dsn)
			if err == nil {
				t.Fatalf("dialectorFor(%q) = nil error; want one", dsn)
			}
			if strings.Contains(err.Error(), "hunter2secret") {
				t.Fatalf("dialectorFor(%q) error leaks the password: %v", dsn, err)
			}
		})
	}
}
