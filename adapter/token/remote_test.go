package token_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gatehouse-auth/gatehouse/adapter/token"
	"github.com/gatehouse-auth/gatehouse/domain"
)

const minRefresh = time.Minute

// jwksServer serves a ring's JWK Set over real HTTP and counts requests.
// status and doc override the answer.
type jwksServer struct {
	url  string
	hits atomic.Int64
	ring *token.Keyring

	mu     sync.Mutex
	status int    // 0: 200
	doc    []byte // nil: the ring's JWKS
}

func newJWKSServer(t testing.TB, ring *token.Keyring) *jwksServer {
	t.Helper()
	js := &jwksServer{ring: ring}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		js.hits.Add(1)
		js.mu.Lock()
		status, doc := js.status, js.doc
		js.mu.Unlock()
		if status != 0 {
			http.Error(w, "unavailable", status)
			return
		}
		if doc == nil {
			var err error
			if doc, err = js.ring.JWKS(); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
		}
		w.Header().Set("Cache-Control", "public, max-age=300")
		w.Header().Set("Content-Type", "application/json")
		w.Write(doc)
	}))
	t.Cleanup(srv.Close)
	js.url = srv.URL + "/.well-known/jwks.json"
	return js
}

func (js *jwksServer) set(status int, doc []byte) {
	js.mu.Lock()
	js.status, js.doc = status, doc
	js.mu.Unlock()
}

// remote is a RemoteVerifier reading e's ring through a jwksServer, on e's clock.
func newRemote(t testing.TB, e *env, algs []string, cacheSize int) (*jwksServer, *token.RemoteKeySet, *token.RemoteVerifier) {
	t.Helper()
	js := newJWKSServer(t, e.ring)
	ks, err := token.NewRemoteKeySet(js.url, nil, minRefresh, e.clock.Now)
	if err != nil {
		t.Fatalf("NewRemoteKeySet() error = %v", err)
	}
	rv, err := token.NewRemoteVerifier(ks, algs, testIssuer, testAudience, leeway, e.clock.Now, cacheSize)
	if err != nil {
		t.Fatalf("NewRemoteVerifier() error = %v", err)
	}
	return js, ks, rv
}

func wantHits(t *testing.T, js *jwksServer, want int64) {
	t.Helper()
	if got := js.hits.Load(); got != want {
		t.Fatalf("JWKS requests = %d; want %d", got, want)
	}
}

func TestRemoteVerifyRoundTrip(t *testing.T) {
	t.Parallel()
	for _, alg := range asymAlgs {
		t.Run(alg, func(t *testing.T) {
			t.Parallel()
			for _, cacheSize := range []int{0, 16} {
				e := newEnv(t, alg, 0)
				js, ks, rv := newRemote(t, e, []string{alg}, cacheSize)
				in := e.userClaims()
				tok := e.issue(t, in)
				for range 3 {
					got, err := rv.Verify(context.Background(), tok)
					if err != nil {
						t.Fatalf("Verify() (cache %d) error = %v", cacheSize, err)
					}
					if !reflect.DeepEqual(*got, in) {
						t.Fatalf("Verify() = %+v; want %+v", *got, in)
					}
				}
				// The first verification loaded the set; the rest used it.
				wantHits(t, js, 1)
				if !slices.Equal(ks.Kids(), []string{e.activeKid(t)}) {
					t.Fatalf("Kids() = %v; want [%s]", ks.Kids(), e.activeKid(t))
				}
			}
		})
	}
}

func TestRemoteRotationRefetchesOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, token.AlgEdDSA, 0)
	js, ks, rv := newRemote(t, e, []string{token.AlgEdDSA}, 64)
	if err := ks.Refresh(ctx); err != nil {
		t.Fatalf("Refresh() error = %v", err)
	}
	oldTok := e.issue(t, e.userClaims())
	if _, err := rv.Verify(ctx, oldTok); err != nil {
		t.Fatalf("Verify(old) error = %v", err)
	}
	wantHits(t, js, 1)

	// A rotation right after the start-up fetch is seen at once.
	if _, err := e.ring.Rotate(ctx, domain.Event{}); err != nil {
		t.Fatalf("Rotate() error = %v", err)
	}
	newTok := e.issue(t, e.userClaims())
	for name, tok := range map[string]string{"new": newTok, "new again": newTok, "old": oldTok} {
		if _, err := rv.Verify(ctx, tok); err != nil {
			t.Fatalf("Verify(%s) after rotation error = %v", name, err)
		}
	}
	wantHits(t, js, 2)

	// A second rotation within minRefresh of that unknown-kid fetch waits.
	if _, err := e.ring.Rotate(ctx, domain.Event{}); err != nil {
		t.Fatalf("Rotate() error = %v", err)
	}
	third := e.issue(t, e.userClaims())
	if _, err := rv.Verify(ctx, third); !errors.Is(err, domain.ErrTokenInvalid) {
		t.Fatalf("Verify(third) within minRefresh error = %v; want ErrTokenInvalid", err)
	}
	wantHits(t, js, 2)
	e.clock.Set(t0.Add(minRefresh))
	if _, err := rv.Verify(ctx, third); err != nil {
		t.Fatalf("Verify(third) after minRefresh error = %v", err)
	}
	wantHits(t, js, 3)
}

func TestRemoteUnknownKidFloodIsRateLimited(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, token.AlgEdDSA, 0)
	js, ks, rv := newRemote(t, e, []string{token.AlgEdDSA}, 64)
	if err := ks.Refresh(ctx); err != nil {
		t.Fatalf("Refresh() error = %v", err)
	}
	const flood = 50
	toks := make([]string, flood)
	for i := range toks {
		h := e.header(t)
		h["kid"] = randomKid(t)
		toks[i] = e.sign(t, h, e.stdClaims()) // real signature, made-up kid
	}
	var wg sync.WaitGroup
	errs := make([]error, flood)
	for i, tok := range toks {
		wg.Go(func() { _, errs[i] = rv.Verify(ctx, tok) })
	}
	wg.Wait()
	for i, err := range errs {
		if !errors.Is(err, domain.ErrTokenInvalid) {
			t.Fatalf("Verify(random kid %d) error = %v; want ErrTokenInvalid", i, err)
		}
	}
	wantHits(t, js, 2) // start-up + one for the whole flood
	if _, err := rv.Verify(ctx, e.issue(t, e.userClaims())); err != nil {
		t.Fatalf("Verify(good) during flood error = %v", err)
	}
	wantHits(t, js, 2)
	e.clock.Set(t0.Add(minRefresh))
	if _, err := rv.Verify(ctx, toks[0]); !errors.Is(err, domain.ErrTokenInvalid) {
		t.Fatalf("Verify(random kid) error = %v; want ErrTokenInvalid", err)
	}
	wantHits(t, js, 3) // one more per interval
}

func TestRemoteVerifyRejects(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, token.AlgEdDSA, 0)
	_, ks, rv := newRemote(t, e, []string{token.AlgEdDSA, token.AlgES256}, 64)
	good := e.issue(t, e.userClaims())
	if _, err := rv.Verify(ctx, good); err != nil {
		t.Fatalf("Verify(good) error = %v", err)
	}
	parts := strings.Split(good, ".")
	with := func(mod func(h map[string]any, c jwt.MapClaims)) string { return e.signWith(t, mod) }
	// A key that is not ours, offered by the token itself or by its jku.
	attackerEnv := newEnv(t, token.AlgEdDSA, 0)
	attacker := attackerEnv.store.signer(t, attackerEnv.activeKid(t))
	jwk := jwksEntries(t, attackerEnv.ring)[0]
	jku := newJWKSServer(t, attackerEnv.ring)
	signedBy := func(key any, method jwt.SigningMethod, h map[string]any) string {
		return signToken(t, method, key, h, e.stdClaims())
	}
	edPub := e.store.signer(t, e.activeKid(t)).Public().(ed25519.PublicKey)
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("generate ec key: %v", err)
	}
	cases := map[string]string{
		"wrong iss":     with(func(_ map[string]any, c jwt.MapClaims) { c["iss"] = "https://evil.test" }),
		"wrong aud":     with(func(_ map[string]any, c jwt.MapClaims) { c["aud"] = "other-api" }),
		"no aud":        with(func(_ map[string]any, c jwt.MapClaims) { delete(c, "aud") }),
		"no exp":        with(func(_ map[string]any, c jwt.MapClaims) { delete(c, "exp") }),
		"quoted exp":    with(func(_ map[string]any, c jwt.MapClaims) { c["exp"] = "9999999999" }),
		"no sub":        with(func(_ map[string]any, c jwt.MapClaims) { delete(c, "sub") }),
		"not yet valid": with(func(_ map[string]any, c jwt.MapClaims) { c["nbf"] = t0.Add(time.Hour).Unix() }),
		"typ JWT":       with(func(h map[string]any, _ jwt.MapClaims) { h["typ"] = "JWT" }),
		"no kid":        with(func(h map[string]any, _ jwt.MapClaims) { delete(h, "kid") }),
		"crit header":   with(func(h map[string]any, _ jwt.MapClaims) { h["crit"] = []string{"exp"}; h["exp"] = 1 }),
		"alg none":      noneToken(t, e),
		// HS256 keyed with the public key: the classic algorithm confusion.
		"hs256 with public key": signedBy([]byte(edPub), jwt.SigningMethodHS256, map[string]any{"typ": "at+jwt", "kid": e.activeKid(t)}),
		// ES256 is allowed, but the kid names an Ed25519 key.
		"alg does not match key": signedBy(ecKey, jwt.SigningMethodES256, map[string]any{"typ": "at+jwt", "kid": e.activeKid(t)}),
		// Keys offered by the token itself are never used.
		"embedded jwk, its kid": signedBy(attacker, jwt.SigningMethodEdDSA, map[string]any{"typ": "at+jwt", "kid": jwk["kid"], "jwk": jwk}),
		"embedded jwk, our kid": signedBy(attacker, jwt.SigningMethodEdDSA, map[string]any{"typ": "at+jwt", "kid": e.activeKid(t), "jwk": jwk}),
		"jku to attacker":       signedBy(attacker, jwt.SigningMethodEdDSA, map[string]any{"typ": "at+jwt", "kid": jwk["kid"], "jku": jku.url}),
		"x5u to attacker":       signedBy(attacker, jwt.SigningMethodEdDSA, map[string]any{"typ": "at+jwt", "kid": e.activeKid(t), "x5u": jku.url}),
		"tampered payload":      parts[0] + "." + tamper(t, parts[1]) + "." + parts[2],
		"no signature":          parts[0] + "." + parts[1] + ".",
		"too long":              tooLong(t, e),
		"garbage":               "not.a.jwt",
		"empty":                 "",
	}
	for name, tok := range cases {
		got, err := rv.Verify(ctx, tok)
		if !errors.Is(err, domain.ErrTokenInvalid) || got != nil {
			t.Errorf("Verify(%s) = %v, %v; want ErrTokenInvalid", name, got, err)
		}
	}
	// golang-jwt would refuse the key type too; the reason shows our check ran first.
	if _, err := rv.Verify(ctx, cases["alg does not match key"]); err == nil || !strings.Contains(err.Error(), "alg does not match the key") {
		t.Errorf("Verify(alg does not match key) error = %v; want the key's alg named as the reason", err)
	}
	if n := jku.hits.Load(); n != 0 {
		t.Errorf("the token's jku was fetched %d times; want never", n)
	}
	if !slices.Equal(ks.Kids(), []string{e.activeKid(t)}) {
		t.Errorf("Kids() = %v; want only the server's key", ks.Kids())
	}

	expired := with(func(_ map[string]any, c jwt.MapClaims) {
		c["iat"], c["exp"] = t0.Add(-time.Hour).Unix(), t0.Add(-leeway-time.Second).Unix()
	})
	if _, err := rv.Verify(ctx, expired); !errors.Is(err, domain.ErrTokenExpired) {
		t.Errorf("Verify(expired) error = %v; want ErrTokenExpired", err)
	}
}

func TestRemoteAlgorithmAllowlist(t *testing.T) {
	t.Parallel()
	e := newEnv(t, token.AlgEdDSA, 0)
	js, _, rv := newRemote(t, e, []string{token.AlgES256}, 0)
	_, err := rv.Verify(context.Background(), e.issue(t, e.userClaims()))
	if !errors.Is(err, domain.ErrTokenInvalid) {
		t.Fatalf("Verify(EdDSA token, allowlist ES256) error = %v; want ErrTokenInvalid", err)
	}
	wantHits(t, js, 0) // refused on the header, before any key lookup
}

func TestRemoteOutage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, token.AlgEdDSA, 0)
	js, ks, rv := newRemote(t, e, []string{token.AlgEdDSA}, 0)
	js.set(http.StatusServiceUnavailable, nil)
	if err := ks.Refresh(ctx); !errors.Is(err, domain.ErrUnavailable) {
		t.Fatalf("Refresh() while down error = %v; want ErrUnavailable", err)
	}
	tok := e.issue(t, e.userClaims())
	for i := range 2 { // the second is within minRefresh: no new request
		if _, err := rv.Verify(ctx, tok); !errors.Is(err, domain.ErrUnavailable) || errors.Is(err, domain.ErrTokenInvalid) {
			t.Fatalf("Verify() #%d while down error = %v; want ErrUnavailable only", i, err)
		}
	}
	wantHits(t, js, 2)

	js.set(0, nil)
	e.clock.Set(t0.Add(minRefresh))
	if _, err := rv.Verify(ctx, tok); err != nil {
		t.Fatalf("Verify() after recovery error = %v", err)
	}
	wantHits(t, js, 3)
}

func TestRemoteMaxAge(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, token.AlgEdDSA, 0)
	js, ks, rv := newRemote(t, e, []string{token.AlgEdDSA}, 64)
	tok := e.issue(t, e.userClaims())
	if _, err := rv.Verify(ctx, tok); err != nil { // cached from here on
		t.Fatalf("Verify() error = %v", err)
	}

	// Within max-age (300 s) the set is not fetched again, failing or not.
	js.set(http.StatusInternalServerError, nil)
	e.clock.Set(t0.Add(299 * time.Second))
	if _, err := rv.Verify(ctx, tok); err != nil {
		t.Fatalf("Verify() within max-age error = %v", err)
	}
	wantHits(t, js, 1)

	// Past it, a failed refresh keeps the known keys (stale-if-error) and
	// is retried only after minRefresh.
	e.clock.Set(t0.Add(300 * time.Second))
	for range 2 {
		if _, err := rv.Verify(ctx, tok); err != nil {
			t.Fatalf("Verify() with a failing refresh error = %v", err)
		}
	}
	wantHits(t, js, 2)

	// The server drops the key: the next refresh empties the verified-token
	// cache, so the cached token is refused.
	js.set(0, []byte(`{"keys":[]}`))
	e.clock.Set(t0.Add(300*time.Second + minRefresh))
	if _, err := rv.Verify(ctx, tok); !errors.Is(err, domain.ErrTokenInvalid) {
		t.Fatalf("Verify() after the key was removed error = %v; want ErrTokenInvalid", err)
	}
	if len(ks.Kids()) != 0 {
		t.Fatalf("Kids() = %v; want none", ks.Kids())
	}
}

func TestRemoteKeySetSkipsUnusableKeys(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var keys []map[string]any
	for _, alg := range asymAlgs {
		keys = append(keys, jwksEntries(t, newEnv(t, alg, 0).ring)...)
	}
	ed := keys[0]
	variant := func(kid string, mod func(m map[string]any)) map[string]any {
		m := map[string]any{}
		for k, v := range ed {
			m[k] = v
		}
		m["kid"] = kid
		mod(m)
		return m
	}
	b64 := base64.RawURLEncoding.EncodeToString
	bad := []map[string]any{
		variant("enc", func(m map[string]any) { m["use"] = "enc" }),
		variant("no-verify", func(m map[string]any) { m["key_ops"] = []string{"encrypt"} }),
		variant("wrong-alg", func(m map[string]any) { m["alg"] = "ES256" }),
		variant("short-x", func(m map[string]any) { m["x"] = b64(make([]byte, 31)) }),
		variant("x448", func(m map[string]any) { m["crv"] = "X25519" }),
		variant("oct", func(m map[string]any) { m["kty"] = "oct"; m["k"] = b64(make([]byte, 32)) }),
		variant("", func(map[string]any) {}),
		variant("off-curve", func(m map[string]any) {
			m["kty"], m["crv"], m["alg"], m["x"], m["y"] = "EC", "P-256", "ES256", b64(make([]byte, 32)), b64(make([]byte, 32))
		}),
		variant("rsa-1024", func(m map[string]any) {
			m["kty"], m["alg"], m["n"], m["e"] = "RSA", "RS256", b64(append([]byte{0xc0}, make([]byte, 127)...)), "AQAB"
		}),
		variant("rsa-even-e", func(m map[string]any) {
			m["kty"], m["alg"], m["n"], m["e"] = "RSA", "RS256", keys[2]["n"], "AQAA"
		}),
		variant("dup", func(map[string]any) {}),
		variant("dup", func(map[string]any) {}),
	}
	doc, err := json.Marshal(map[string]any{"keys": append(slices.Clone(keys), bad...)})
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	js := newJWKSServer(t, nil)
	js.set(0, doc)
	ks, err := token.NewRemoteKeySet(js.url, nil, minRefresh, nil)
	if err != nil {
		t.Fatalf("NewRemoteKeySet() error = %v", err)
	}
	if err := ks.Refresh(ctx); err != nil {
		t.Fatalf("Refresh() error = %v", err)
	}
	var want []string
	for _, k := range keys {
		want = append(want, k["kid"].(string))
	}
	slices.Sort(want)
	if got := ks.Kids(); !slices.Equal(got, want) {
		t.Fatalf("Kids() = %v; want only the three good keys %v", got, want)
	}

	for name, doc := range map[string]string{"not json": "<html>", "no keys": `{"foo":1}`, "keys not array": `{"keys":{}}`} {
		js.set(0, []byte(doc))
		if err := ks.Refresh(ctx); !errors.Is(err, domain.ErrUnavailable) {
			t.Errorf("Refresh(%s) error = %v; want ErrUnavailable", name, err)
		}
		if got := ks.Kids(); !slices.Equal(got, want) {
			t.Errorf("Kids() after a bad document = %v; want the previous set kept", got)
		}
	}
}

func TestNewRemoteRejectsBadSettings(t *testing.T) {
	t.Parallel()
	for _, u := range []string{"", "jwks.json", "ftp://host/jwks", "http://", "://x"} {
		if _, err := token.NewRemoteKeySet(u, nil, 0, nil); err == nil {
			t.Errorf("NewRemoteKeySet(%q) error = nil; want an error", u)
		}
	}
	ks, err := token.NewRemoteKeySet("https://auth.example.test/.well-known/jwks.json", nil, 0, nil)
	if err != nil {
		t.Fatalf("NewRemoteKeySet() error = %v", err)
	}
	tests := []struct {
		name     string
		keys     *token.RemoteKeySet
		algs     []string
		iss, aud string
	}{
		{"nil keys", nil, []string{token.AlgEdDSA}, testIssuer, testAudience},
		{"no algs", ks, nil, testIssuer, testAudience},
		{"hs256", ks, []string{token.AlgHS256}, testIssuer, testAudience},
		{"none", ks, []string{token.AlgEdDSA, "none"}, testIssuer, testAudience},
		{"no issuer", ks, []string{token.AlgEdDSA}, "", testAudience},
		{"no audience", ks, []string{token.AlgEdDSA}, testIssuer, ""},
	}
	for _, tc := range tests {
		if _, err := token.NewRemoteVerifier(tc.keys, tc.algs, tc.iss, tc.aud, leeway, nil, 0); err == nil {
			t.Errorf("NewRemoteVerifier(%s) error = nil; want an error", tc.name)
		}
	}
}

func randomKid(t *testing.T) string {
	t.Helper()
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("rand: %v", err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}
