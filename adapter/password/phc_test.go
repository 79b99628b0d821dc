package password_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/adapter/password"
)

const validPHC = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$KWBrbXN1rP+yjOzySVVgLq3qJ0p69XjuzbmAmb7uLHs"

func TestParsePHC(t *testing.T) {
	t.Parallel()
	p, salt, key, err := password.ParsePHC(validPHC)
	if err != nil {
		t.Fatalf("ParsePHC(valid) error = %v", err)
	}
	want := password.Params{Memory: 19456, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}
	if p != want || len(salt) != 16 || len(key) != 32 {
		t.Fatalf("ParsePHC(valid) = %+v, %d-byte salt, %d-byte key; want %+v", p, len(salt), len(key), want)
	}
	if got := password.EncodePHC(p, salt, key); got != validPHC {
		t.Fatalf("EncodePHC(ParsePHC(s)) = %q; want %q", got, validPHC)
	}
}

func TestParsePHCMalformed(t *testing.T) {
	t.Parallel()
	const salt, key = "c29tZXNhbHRzb21lc2FsdA", "KWBrbXN1rP+yjOzySVVgLq3qJ0p69XjuzbmAmb7uLHs"
	cases := map[string]string{
		"empty":             "",
		"dollar only":       "$",
		"wrong alg":         "$argon2i$v=19$m=19456,t=2,p=1$" + salt + "$" + key,
		"bcrypt-ish":        "$2b$10$abc",
		"no version":        "$argon2id$m=19456,t=2,p=1$" + salt + "$" + key,
		"old version":       "$argon2id$v=16$m=19456,t=2,p=1$" + salt + "$" + key,
		"no leading dollar": "argon2id$v=19$m=19456,t=2,p=1$" + salt + "$" + key + "$",
		"extra field":       "$argon2id$v=19$m=19456,t=2,p=1$" + salt + "$" + key + "$x",
		"params reordered":  "$argon2id$v=19$t=2,m=19456,p=1$" + salt + "$" + key,
		"missing p":         "$argon2id$v=19$m=19456,t=2$" + salt + "$" + key,
		"leading zero":      "$argon2id$v=19$m=019456,t=2,p=1$" + salt + "$" + key,
		"negative":          "$argon2id$v=19$m=-1,t=2,p=1$" + salt + "$" + key,
		"plus sign":         "$argon2id$v=19$m=+19456,t=2,p=1$" + salt + "$" + key,
		"huge m":            "$argon2id$v=19$m=4294967295,t=2,p=1$" + salt + "$" + key,
		"m over 1 GiB":      "$argon2id$v=19$m=1048577,t=2,p=1$" + salt + "$" + key,
		"overflowing m":     "$argon2id$v=19$m=99999999999999999999,t=2,p=1$" + salt + "$" + key,
		"huge t":            "$argon2id$v=19$m=19456,t=101,p=1$" + salt + "$" + key,
		"zero t":            "$argon2id$v=19$m=19456,t=0,p=1$" + salt + "$" + key,
		"p over 255":        "$argon2id$v=19$m=19456,t=2,p=256$" + salt + "$" + key,
		"zero p":            "$argon2id$v=19$m=19456,t=2,p=0$" + salt + "$" + key,
		"m below 8p":        "$argon2id$v=19$m=15,t=2,p=2$" + salt + "$" + key,
		"bad salt base64":   "$argon2id$v=19$m=19456,t=2,p=1$!!!!$" + key,
		"padded salt":       "$argon2id$v=19$m=19456,t=2,p=1$" + salt + "==$" + key,
		"url alphabet key":  "$argon2id$v=19$m=19456,t=2,p=1$" + salt + "$" + strings.ReplaceAll(key, "+", "-"),
		"short salt":        "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$" + key,
		"short key":         "$argon2id$v=19$m=19456,t=2,p=1$" + salt + "$a2V5",
		"huge key":          "$argon2id$v=19$m=19456,t=2,p=1$" + salt + "$" + strings.Repeat("A", 100000),
		"empty key":         "$argon2id$v=19$m=19456,t=2,p=1$" + salt + "$",
	}
	for name, in := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if _, _, _, err := password.ParsePHC(in); !errors.Is(err, password.ErrMalformedHash) {
				t.Fatalf("ParsePHC(%q) error = %v; want ErrMalformedHash", in, err)
			}
		})
	}
}

func TestParamsValidate(t *testing.T) {
	t.Parallel()
	if err := password.DefaultParams().Validate(); err != nil {
		t.Fatalf("DefaultParams().Validate() = %v; want nil", err)
	}
	want := password.Params{Memory: 19456, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}
	if got := password.DefaultParams(); got != want {
		t.Fatalf("DefaultParams() = %+v; want %+v", got, want)
	}
	bad := []password.Params{
		{Memory: 64, Time: 1, Threads: 0, SaltLen: 16, KeyLen: 32},
		{Memory: 64, Time: 0, Threads: 1, SaltLen: 16, KeyLen: 32},
		{Memory: 4, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32},
		{Memory: 2 << 20, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32},
		{Memory: 64, Time: 1, Threads: 1, SaltLen: 4, KeyLen: 32},
		{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 8},
	}
	for _, p := range bad {
		if err := p.Validate(); err == nil {
			t.Errorf("%+v.Validate() = nil; want an error", p)
		}
	}
}

func FuzzParsePHC(f *testing.F) {
	f.Add(validPHC)
	f.Add("$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG")
	f.Add("$argon2id$v=19$m=1048577,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$a2V5")
	f.Add("$argon2i$v=19$m=19456,t=2,p=1$$")
	f.Add("$2b$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		p, salt, key, err := password.ParsePHC(s)
		if err != nil {
			if !errors.Is(err, password.ErrMalformedHash) {
				t.Fatalf("ParsePHC error %v does not wrap ErrMalformedHash", err)
			}
			return
		}
		if verr := p.Validate(); verr != nil {
			t.Fatalf("ParsePHC accepted out-of-bounds params %+v: %v", p, verr)
		}
		if got := password.EncodePHC(p, salt, key); got != s {
			t.Fatalf("EncodePHC(ParsePHC(%q)) = %q; parsing is not canonical", s, got)
		}
	})
}
