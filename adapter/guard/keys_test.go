package guard_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/adapter/guard"
	"github.com/gatehouse-auth/gatehouse/domain"
	"github.com/gatehouse-auth/gatehouse/internal/testkit"
)

// testKey is a key with a correct checksum (docs/api-keys.md's example).
const testKey = "gth_abcdefghijABCDEFGHIJ0123456789klmnopqrst2ywciD"

func TestKeyIntrospectorCachesAndFailsClosed(t *testing.T) {
	t.Parallel()
	var calls atomic.Int64
	var answer atomic.Value
	answer.Store(`{"active":true,"token_type":"api_key","sub":"u1","username":"alice","scope":"reports:read","exp":4102444800,"sid":"key:k1"}`)
	status := atomic.Int64{}
	status.Store(200)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if id, secret, ok := r.BasicAuth(); !ok || id != "rs" || secret != "s3cret" || r.FormValue("token") != testKey {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.WriteHeader(int(status.Load()))
		w.Write([]byte(answer.Load().(string)))
	}))
	t.Cleanup(srv.Close)
	clock := testkit.NewClock(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	k, err := guard.NewKeyIntrospector(srv.URL, "rs", "s3cret", "", nil, time.Second, clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	if !k.IsKey(testKey) || k.IsKey("eyJ.x.y") {
		t.Fatal("IsKey misjudges")
	}
	for range 3 {
		c, err := k.Verify(t.Context(), testKey)
		if err != nil || c.Subject != "u1" || c.Username != "alice" || !c.HasScope("reports:read") || c.SessionID != "key:k1" || c.KeyID != "k1" || len(c.Roles) != 0 {
			t.Fatalf("Verify = %+v, %v", c, err)
		}
	}
	if calls.Load() != 1 {
		t.Errorf("3 uses within the TTL made %d calls; want 1", calls.Load())
	}
	if _, err := k.Verify(t.Context(), testKey[:len(testKey)-1]+"E"); !errors.Is(err, domain.ErrTokenInvalid) || calls.Load() != 1 {
		t.Errorf("bad checksum: %v after %d calls; want ErrTokenInvalid without a call", err, calls.Load())
	}

	answer.Store(`{"active":false}`)
	clock.Advance(time.Second)
	if _, err := k.Verify(t.Context(), testKey); !errors.Is(err, domain.ErrTokenInvalid) {
		t.Errorf("inactive after the TTL: %v; want ErrTokenInvalid", err)
	}
	status.Store(500)
	clock.Advance(time.Second)
	if _, err := k.Verify(t.Context(), testKey); !errors.Is(err, domain.ErrUnavailable) {
		t.Errorf("Gatehouse failing: %v; want ErrUnavailable (fail closed)", err)
	}
	if _, err := guard.NewKeyIntrospector(srv.URL, "", "", "", nil, 0, nil); err == nil {
		t.Error("NewKeyIntrospector without credentials succeeded")
	}
}
