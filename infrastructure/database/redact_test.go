package database_test

import (
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/infrastructure/database"
)

func TestRedact(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, dsn, want string
	}{
		{"url user-info", "postgres://u:S3cret@db:5432/x?sslmode=disable", "postgres://u:xxxxx@db:5432/x?sslmode=disable"},
		{"escaped user-info", "postgres://u:S3%40cret@db/x", "postgres://u:xxxxx@db/x"},
		{"query password", "postgres://db/x?user=u&password=S3cret", "postgres://db/x?user=u&password=xxxxx"},
		{"query sslpassword", "postgresql://u@db/x?sslmode=verify-full&sslpassword=S3cret&sslkey=/etc/k.pem", "postgresql://u@db/x?sslmode=verify-full&sslpassword=xxxxx&sslkey=/etc/k.pem"},
		{"user-info and query", "postgres://u:S3cret@db/x?password=S3cret2", "postgres://u:xxxxx@db/x?password=xxxxx"},
		{"escaped parameter name", "postgres://db/x?pass%77ord=S3cret", "postgres://db/x?pass%77ord=xxxxx"},
		{"secret and token names", "postgres://db/x?client_secret=S3cret&api_token=S3cret2&Password=S3cret3", "postgres://db/x?client_secret=xxxxx&api_token=xxxxx&Password=xxxxx"},
		{"sqlite auth parameter", "file:/tmp/a.db?_auth_user=a&_auth_pass=S3cret", "file:/tmp/a.db?_auth_user=a&_auth_pass=xxxxx"},
		{"opaque url", "postgres:u:S3cret@db/x", "postgres:xxxxx@db/x"},
		{"key=value", "host=db user=u password=S3cret dbname=x", "host=db user=u password=xxxxx dbname=x"},
		{"key=value quoted", "host=db password='S3 cret' dbname=x", "host=db password=xxxxx dbname=x"},
		{"key=value escaped quote", `host=db password='S3\' cret' dbname=x`, "host=db password=xxxxx dbname=x"},
		{"key=value unterminated quote", "host=db password='S3 cret", "host=db password=xxxxx"},
		{"password inside another value", "host=db application_name='x password=S3cret' password=S3cret2", "host=db application_name='x password=xxxxx' password=xxxxx"},
		{"key=value spaced", "host=db password = S3cret\tsslpassword=S3cret2 sslkey=/k.pem", "host=db password = xxxxx\tsslpassword=xxxxx sslkey=/k.pem"},
		{"no secret url", "postgres://u@db/x?sslmode=disable&user=u", "postgres://u@db/x?sslmode=disable&user=u"},
		{"no secret key=value", "host=db user=u dbname=x", "host=db user=u dbname=x"},
		{"empty password", "postgres://db/x?password=&user=u", "postgres://db/x?password=&user=u"},
		{"sqlite path", "/var/lib/gatehouse/auth.db", "/var/lib/gatehouse/auth.db"},
		{"sqlite file uri", "file:/tmp/my%20db.db?cache=shared", "file:/tmp/my%20db.db?cache=shared"},
		{"windows path", `C:\data\gatehouse.db`, `C:\data\gatehouse.db`},
		{"empty", "", ""},
		{"malformed escape", "postgres://u:S3cret@db/x%zz?password=S3cret2", "postgres://xxxxx"},
		{"malformed host", "postgres://u:S3cret@[::1/x", "postgres://xxxxx"},
		{"malformed control character", "postgres://u:S3cret@db/x\x7f\x00", "postgres://xxxxx"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := database.Redact(tt.dsn)
			if got != tt.want {
				t.Errorf("Redact(%q) = %q; want %q", tt.dsn, got, tt.want)
			}
			if strings.Contains(got, "S3") {
				t.Errorf("Redact(%q) = %q; leaks a secret", tt.dsn, got)
			}
		})
	}
}

// FuzzRedact: Redact never panics, and a password given as a key=value
// parameter or as a URL's user-info never survives it.
func FuzzRedact(f *testing.F) {
	for _, seed := range []string{"", "=", "'", "://", "postgres://", "postgres://@", "a=b c='d", `password='\`, "postgres://u:p@h/d?password", "file:?&;=", "\x00\xff"} {
		f.Add(seed, "S3cretPw")
	}
	f.Fuzz(func(t *testing.T, dsn, pw string) {
		_ = database.Redact(dsn)
		if len(pw) < 6 || strings.ContainsAny(pw, " \t\n\v\f\r'\\") {
			return
		}
		kv := "host=db " + dsn + " password=" + pw
		if got := database.Redact(kv); strings.Contains(got, pw) && !strings.Contains(strings.ReplaceAll(kv, "password="+pw, ""), pw) {
			t.Errorf("Redact(%q) = %q; leaks the password", kv, got)
		}
	})
}
