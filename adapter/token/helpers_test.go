package token_test

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gatehouse-auth/gatehouse/adapter/token"
	"github.com/gatehouse-auth/gatehouse/domain"
	"github.com/gatehouse-auth/gatehouse/internal/testkit"
)

const (
	testIssuer   = "https://auth.example.test"
	testAudience = "gatehouse-api"
	accessTTL    = 15 * time.Minute
	leeway       = 30 * time.Second
	retain       = accessTTL + leeway
)

var (
	t0       = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	allAlgs  = []string{token.AlgEdDSA, token.AlgES256, token.AlgRS256, token.AlgHS256}
	asymAlgs = []string{token.AlgEdDSA, token.AlgES256, token.AlgRS256}
)

// fakeStore is a tiny map-based domain.KeyStore that counts its calls and
// records the events handed to RotateKey.
type fakeStore struct {
	mu                      sync.Mutex
	keys                    map[string]domain.SigningKey
	lists, rotates, deletes int
	events                  []domain.Event
}

func newFakeStore() *fakeStore { return &fakeStore{keys: map[string]domain.SigningKey{}} }

func (s *fakeStore) ListKeys(context.Context) ([]domain.SigningKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lists++
	out := make([]domain.SigningKey, 0, len(s.keys))
	for _, k := range s.keys {
		k.Private = slices.Clone(k.Private)
		out = append(out, k)
	}
	slices.SortFunc(out, func(a, b domain.SigningKey) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

func (s *fakeStore) RotateKey(_ context.Context, k *domain.SigningKey, events []domain.Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rotates++
	s.events = append(s.events, events...)
	for id, old := range s.keys {
		if old.Active() {
			old.RetiredAt = k.CreatedAt
			s.keys[id] = old
		}
	}
	nk := *k
	nk.Private = slices.Clone(k.Private)
	s.keys[k.ID] = nk
	return nil
}

func (s *fakeStore) DeleteKey(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deletes++
	k, ok := s.keys[id]
	if !ok {
		return domain.ErrNotFound
	}
	if k.Active() {
		return errors.New("cannot delete the active key")
	}
	delete(s.keys, id)
	return nil
}

// rotationEvents returns the events RotateKey was given so far.
func (s *fakeStore) rotationEvents() []domain.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.events)
}

func (s *fakeStore) has(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.keys[id]
	return ok
}

func (s *fakeStore) counts() (lists, rotates, deletes int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lists, s.rotates, s.deletes
}

// signer returns the private key stored under kid.
func (s *fakeStore) signer(tb testing.TB, kid string) crypto.Signer {
	tb.Helper()
	s.mu.Lock()
	k, ok := s.keys[kid]
	s.mu.Unlock()
	if !ok {
		tb.Fatalf("no stored key %q", kid)
	}
	priv, err := x509.ParsePKCS8PrivateKey(k.Private)
	if err != nil {
		tb.Fatalf("parse stored key: %v", err)
	}
	return priv.(crypto.Signer)
}

// env is a loaded ring with an issuer and a verifier sharing one clock.
type env struct {
	alg    string
	store  *fakeStore
	clock  *testkit.Clock
	secret []byte
	ring   *token.Keyring
	iss    *token.Issuer
	ver    *token.Verifier
}

func newEnv(tb testing.TB, alg string, cacheSize int) *env {
	tb.Helper()
	e := &env{alg: alg, store: newFakeStore(), clock: testkit.NewClock(t0)}
	if alg == token.AlgHS256 {
		e.secret = []byte("0123456789abcdef0123456789abcdef-test-secret")
	}
	ring, err := token.NewKeyring(e.store, alg, e.secret, retain, e.clock.Now)
	if err != nil {
		tb.Fatalf("NewKeyring(%s) error = %v", alg, err)
	}
	if err := ring.Load(context.Background()); err != nil {
		tb.Fatalf("Load() error = %v", err)
	}
	e.ring = ring
	e.iss = token.NewIssuer(ring, testIssuer, testAudience)
	e.ver = token.NewVerifier(ring, testIssuer, testAudience, leeway, e.clock.Now, cacheSize)
	return e
}

// userClaims are the claims of a typical user token issued at the clock's
// current time.
func (e *env) userClaims() domain.Claims {
	now := e.clock.Now()
	return domain.Claims{
		ID: "jti-1", Subject: "user-1", Username: "alice", SessionID: "sess-1",
		Scope: []string{"read", "write"}, Roles: []string{"admin", "user"},
		IssuedAt: now, NotBefore: now, ExpiresAt: now.Add(accessTTL),
	}
}

func (e *env) issue(tb testing.TB, c domain.Claims) string {
	tb.Helper()
	s, err := e.iss.Issue(context.Background(), c)
	if err != nil {
		tb.Fatalf("Issue() error = %v", err)
	}
	return s
}

// activeKid returns the kid new tokens carry: the active stored key's, or
// under HS256 the secret-derived one.
func (e *env) activeKid(tb testing.TB) string {
	tb.Helper()
	keys, err := e.ring.Keys(context.Background())
	if err != nil {
		tb.Fatalf("Keys() error = %v", err)
	}
	for _, k := range keys {
		if k.Active() && k.Algorithm == e.alg {
			if kid := e.ring.ActiveKid(); e.alg != token.AlgHS256 && kid != k.ID {
				tb.Fatalf("ActiveKid() = %q; want the active stored key %q", kid, k.ID)
			}
			return e.ring.ActiveKid()
		}
	}
	tb.Fatal("no active key")
	return ""
}

// stdClaims are valid registered claims for hand-made tokens.
func (e *env) stdClaims() jwt.MapClaims {
	now := e.clock.Now()
	return jwt.MapClaims{
		"iss": testIssuer, "aud": testAudience, "sub": "user-1", "jti": "j",
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(accessTTL).Unix(),
	}
}

// sign makes a token with arbitrary header and claims, signed by the ring's
// real key (or secret), so only the deliberate defect makes it invalid.
func (e *env) sign(tb testing.TB, header map[string]any, claims jwt.MapClaims) string {
	tb.Helper()
	return signToken(tb, jwt.GetSigningMethod(e.alg), e.signingKey(tb), header, claims)
}

// signingKey is the ring's active private key, or its HS256 secret.
func (e *env) signingKey(tb testing.TB) any {
	tb.Helper()
	if e.alg == token.AlgHS256 {
		return e.secret
	}
	return e.store.signer(tb, e.activeKid(tb))
}

// signWith signs stdClaims under a correct header after mod changed either.
func (e *env) signWith(tb testing.TB, mod func(h map[string]any, c jwt.MapClaims)) string {
	tb.Helper()
	h, c := e.header(tb), e.stdClaims()
	mod(h, c)
	return e.sign(tb, h, c)
}

// header returns a correct header for the ring's active key.
func (e *env) header(tb testing.TB) map[string]any {
	return map[string]any{"alg": e.alg, "typ": "at+jwt", "kid": e.activeKid(tb)}
}

// signToken signs claims with method and key; header entries are added to
// (or replace) the ones golang-jwt sets.
func signToken(tb testing.TB, method jwt.SigningMethod, key any, header map[string]any, claims jwt.Claims) string {
	tb.Helper()
	t := jwt.NewWithClaims(method, claims)
	for k, v := range header {
		t.Header[k] = v
	}
	s, err := t.SignedString(key)
	if err != nil {
		tb.Fatalf("sign: %v", err)
	}
	return s
}

// noneToken is an unsigned (alg none) token for e's active kid.
func noneToken(tb testing.TB, e *env) string {
	tb.Helper()
	h := map[string]any{"typ": "at+jwt", "kid": e.activeKid(tb)}
	return signToken(tb, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, h, e.stdClaims())
}

// tamper changes the subject inside an encoded payload.
func tamper(tb testing.TB, seg string) string {
	raw, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		tb.Fatalf("decode payload: %v", err)
	}
	return base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(string(raw), `"user-1"`, `"admin-0"`, 1)))
}

// tooLong is a correctly signed token just over the size limit.
func tooLong(tb testing.TB, e *env) string {
	c := e.stdClaims()
	c["pad"] = strings.Repeat("p", token.MaxTokenBytes)
	return e.sign(tb, e.header(tb), c)
}

// jwksEntries returns the keys of a ring's JWK Set as maps.
func jwksEntries(tb testing.TB, r *token.Keyring) []map[string]any {
	tb.Helper()
	raw, err := r.JWKS()
	if err != nil {
		tb.Fatalf("JWKS() error = %v", err)
	}
	var doc struct{ Keys []map[string]any }
	if err := json.Unmarshal(raw, &doc); err != nil {
		tb.Fatalf("parse JWKS: %v", err)
	}
	return doc.Keys
}

// jwksKids returns the kids of a ring's JWK Set, in document order.
func jwksKids(tb testing.TB, r *token.Keyring) []string {
	tb.Helper()
	var kids []string
	for _, k := range jwksEntries(tb, r) {
		kids = append(kids, k["kid"].(string))
	}
	return kids
}

// decodeSegment decodes one base64url JSON part of a token.
func decodeSegment(tb testing.TB, tok string, i int) map[string]any {
	tb.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		tb.Fatalf("token has %d parts", len(parts))
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[i])
	if err != nil {
		tb.Fatalf("decode part %d: %v", i, err)
	}
	m := map[string]any{}
	if err := json.Unmarshal(raw, &m); err != nil {
		tb.Fatalf("unmarshal part %d: %v", i, err)
	}
	return m
}

// plant writes k into the store as it is, bypassing RotateKey: what someone
// with write access to the database could do.
func (s *fakeStore) plant(k domain.SigningKey) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k.Private = slices.Clone(k.Private)
	s.keys[k.ID] = k
}

// snapshot returns the stored keys, for before/after comparisons.
func (s *fakeStore) snapshot() map[string]domain.SigningKey {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]domain.SigningKey, len(s.keys))
	for id, k := range s.keys {
		k.Private = slices.Clone(k.Private)
		out[id] = k
	}
	return out
}
