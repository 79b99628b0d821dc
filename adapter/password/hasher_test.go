package password_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/gatehouse-auth/gatehouse/adapter/password"
	"github.com/gatehouse-auth/gatehouse/domain"
)

// fast are cheap parameters so tests do not spend seconds in argon2.
var fast = password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

func TestHashVerifyRoundTrip(t *testing.T) {
	t.Parallel()
	h := password.New(fast, 2, 2)
	ctx := context.Background()
	stored, err := h.Hash(ctx, "correct horse battery staple")
	if err != nil {
		t.Fatalf("Hash() error = %v", err)
	}
	if !strings.HasPrefix(stored, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("Hash() = %q; want an argon2id PHC string with the configured params", stored)
	}
	again, err := h.Hash(ctx, "correct horse battery staple")
	if err != nil || again == stored {
		t.Fatalf("second Hash() = %q, %v; want a different salt", again, err)
	}
	tests := []struct {
		name       string
		password   string
		ok, rehash bool
	}{
		{"right", "correct horse battery staple", true, false},
		{"wrong", "correct horse battery stapl", false, false},
		{"empty", "", false, false},
		{"too long", strings.Repeat("x", domain.PasswordMaxBytes+1), false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ok, rehash, err := h.Verify(ctx, stored, tc.password)
			if err != nil || ok != tc.ok || rehash != tc.rehash {
				t.Fatalf("Verify(%s) = %v, %v, %v; want %v, %v, nil", tc.name, ok, rehash, err, tc.ok, tc.rehash)
			}
		})
	}
}

func TestDefaultParamsRoundTrip(t *testing.T) {
	t.Parallel()
	h := password.New(password.DefaultParams(), 1, 1)
	stored, err := h.Hash(context.Background(), "s3cret-enough")
	if err != nil {
		t.Fatalf("Hash() error = %v", err)
	}
	if !strings.HasPrefix(stored, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("Hash() = %q; want OWASP default params", stored)
	}
	if ok, rehash, err := h.Verify(context.Background(), stored, "s3cret-enough"); !ok || rehash || err != nil {
		t.Fatalf("Verify() = %v, %v, %v; want true, false, nil", ok, rehash, err)
	}
}

func TestHashRefusesLongPassword(t *testing.T) {
	t.Parallel()
	h := password.New(fast, 1, 1)
	_, err := h.Hash(context.Background(), strings.Repeat("x", domain.PasswordMaxBytes+1))
	var ve *domain.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("Hash(1025 bytes) error = %v; want *domain.ValidationError", err)
	}
	if _, err := h.Hash(context.Background(), strings.Repeat("x", domain.PasswordMaxBytes)); err != nil {
		t.Fatalf("Hash(1024 bytes) error = %v; want nil", err)
	}
}

func TestHashInvalidParams(t *testing.T) {
	t.Parallel()
	h := password.New(password.Params{Memory: 64, Time: 0, Threads: 1, SaltLen: 16, KeyLen: 32}, 1, 1)
	if _, err := h.Hash(context.Background(), "password123"); err == nil {
		t.Fatal("Hash() with t=0 error = nil; want an error")
	}
}

func TestVerifyRehashOnParamChange(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	stored, err := password.New(fast, 1, 1).Hash(ctx, "hunter2hunter2")
	if err != nil {
		t.Fatalf("Hash() error = %v", err)
	}
	changes := map[string]password.Params{
		"memory":  {Memory: 128, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32},
		"time":    {Memory: 64, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32},
		"threads": {Memory: 64, Time: 1, Threads: 2, SaltLen: 16, KeyLen: 32},
		"salt":    {Memory: 64, Time: 1, Threads: 1, SaltLen: 32, KeyLen: 32},
		"key":     {Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 64},
	}
	for name, p := range changes {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			h := password.New(p, 1, 1)
			if ok, rehash, err := h.Verify(ctx, stored, "hunter2hunter2"); !ok || !rehash || err != nil {
				t.Fatalf("Verify(right) = %v, %v, %v; want true, true, nil", ok, rehash, err)
			}
			if ok, rehash, err := h.Verify(ctx, stored, "hunter3hunter3"); ok || rehash || err != nil {
				t.Fatalf("Verify(wrong) = %v, %v, %v; want false, false, nil", ok, rehash, err)
			}
		})
	}
}

func TestVerifyBcryptImport(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := password.New(fast, 1, 1)
	raw, err := bcrypt.GenerateFromPassword([]byte("imported-pass"), bcrypt.MinCost)
	if err != nil {
		t.Fatalf("bcrypt: %v", err)
	}
	b := string(raw) // $2a$
	for _, prefix := range []string{"$2a$", "$2b$", "$2y$"} {
		stored := prefix + b[4:]
		t.Run(prefix, func(t *testing.T) {
			t.Parallel()
			if ok, rehash, err := h.Verify(ctx, stored, "imported-pass"); !ok || !rehash || err != nil {
				t.Fatalf("Verify(bcrypt, right) = %v, %v, %v; want true, true, nil", ok, rehash, err)
			}
			if ok, rehash, err := h.Verify(ctx, stored, "imported-pasS"); ok || rehash || err != nil {
				t.Fatalf("Verify(bcrypt, wrong) = %v, %v, %v; want false, false, nil", ok, rehash, err)
			}
		})
	}
}

func TestVerifyMalformed(t *testing.T) {
	t.Parallel()
	h := password.New(fast, 1, 1)
	cases := map[string]string{
		"empty":         "",
		"plain text":    "hunter2",
		"scrypt":        "$scrypt$ln=16,r=8,p=1$aM15713r3Xsvxbi31lqr1Q$nFNh2CVHVjNldFVKDHDlm4CbdRSCdEBsjjJxD+iCs5E",
		"bcrypt 2x":     "$2x$04$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy",
		"bcrypt short":  "$2b$04$N9qo8uLOickgx2ZMRZoMye",
		"bcrypt cost31": "$2b$31$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy",
		"bcrypt cost17": "$2b$17$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy",
		"bcrypt bad":    "$2b$04$!!qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy",
		"argon huge m":  "$argon2id$v=19$m=4194304,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$KWBrbXN1rP+yjOzySVVgLq3qJ0p69XjuzbmAmb7uLHs",
		"argon huge t":  "$argon2id$v=19$m=64,t=1000000,p=1$c29tZXNhbHRzb21lc2FsdA$KWBrbXN1rP+yjOzySVVgLq3qJ0p69XjuzbmAmb7uLHs",
		"argon bad b64": "$argon2id$v=19$m=64,t=1,p=1$c29tZX*hbHRzb21lc2FsdA$KWBrbXN1rP+yjOzySVVgLq3qJ0p69XjuzbmAmb7uLHs",
	}
	for name, stored := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ok, rehash, err := h.Verify(context.Background(), stored, "hunter2")
			if ok || rehash || !errors.Is(err, password.ErrMalformedHash) {
				t.Fatalf("Verify(%q) = %v, %v, %v; want false, false, ErrMalformedHash", stored, ok, rehash, err)
			}
		})
	}
}

func TestCancelledContext(t *testing.T) {
	t.Parallel()
	h := password.New(fast, 1, 1)
	stored, err := h.Hash(context.Background(), "password-one")
	if err != nil {
		t.Fatalf("Hash() error = %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := h.Hash(ctx, "password-one"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Hash(cancelled) error = %v; want context.Canceled", err)
	}
	if ok, _, err := h.Verify(ctx, stored, "password-one"); ok || !errors.Is(err, context.Canceled) {
		t.Fatalf("Verify(cancelled) = %v, %v; want false, context.Canceled", ok, err)
	}
	if d := h.QueueDepth(); d != 0 {
		t.Fatalf("QueueDepth() = %d after cancelled calls; want 0", d)
	}
}

// TestOverloadUnderBurst fires many concurrent hashes at a tiny queue and
// checks that the excess is refused with ErrOverloaded instead of queueing,
// and that nothing else goes wrong.
func TestOverloadUnderBurst(t *testing.T) {
	t.Parallel()
	h := password.New(password.Params{Memory: 8 << 10, Time: 3, Threads: 1, SaltLen: 16, KeyLen: 32}, 1, 1)
	const n = 16
	start := make(chan struct{})
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, err := h.Hash(context.Background(), "burst-password")
			errs <- err
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	var okCount, overloaded int
	for err := range errs {
		switch {
		case err == nil:
			okCount++
		case errors.Is(err, domain.ErrOverloaded):
			overloaded++
		default:
			t.Errorf("Hash() error = %v; want nil or ErrOverloaded", err)
		}
	}
	if okCount == 0 || overloaded == 0 {
		t.Fatalf("burst of %d: %d ok, %d overloaded; want some of each", n, okCount, overloaded)
	}
	if d := h.QueueDepth(); d != 0 {
		t.Fatalf("QueueDepth() = %d after the burst; want 0", d)
	}
}
