package main

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"hash"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

var b64 = base64.RawURLEncoding

// forger hand-crafts JWTs for one running Gatehouse. It holds the server's
// real signing key (read from the store, as only the test can) so that
// claim-level attacks carry a valid signature and are refused for the
// reason under test, not for a bad signature.
type forger struct {
	t   *testing.T
	e   *testEnv
	alg string
	kid string
	key any // crypto.Signer, or the HS256 secret
	// pub is the public key as published at /.well-known/jwks.json, and
	// jwk its JSON (asymmetric algorithms only).
	pub crypto.PublicKey
	jwk []byte
}

func newForger(t *testing.T, e *testEnv) *forger {
	t.Helper()
	f := &forger{t: t, e: e, alg: e.app.cfg.SigningAlg}
	if f.alg == "HS256" {
		f.key = []byte(e.app.cfg.JWTSecret)
		// The kid is public: every token the server issues carries it.
		var h struct{ Kid string }
		if err := json.Unmarshal([]byte(decodeHeader(t, e.login("alice", "correct horse battery")["access_token"].(string))), &h); err != nil || h.Kid == "" {
			t.Fatalf("HS256 token header has no kid: %v", err)
		}
		f.kid = h.Kid
		return f
	}
	keys, err := e.app.store.ListKeys(context.Background())
	if err != nil {
		t.Fatalf("ListKeys: %v", err)
	}
	for _, k := range keys {
		if k.Active() && k.Algorithm == f.alg {
			priv, err := x509.ParsePKCS8PrivateKey(k.Private)
			if err != nil {
				t.Fatalf("parse stored key: %v", err)
			}
			f.key, f.kid = priv, k.ID
		}
	}
	if f.key == nil {
		t.Fatalf("no active %s key in the store", f.alg)
	}
	r := e.do(http.MethodGet, "/.well-known/jwks.json", nil, nil)
	var doc struct{ Keys []json.RawMessage }
	if err := json.Unmarshal(r.body, &doc); err != nil || len(doc.Keys) != 1 {
		t.Fatalf("JWKS = %s; want one key", r.body)
	}
	f.jwk = doc.Keys[0]
	f.pub = publicFromJWK(t, f.jwk)
	type equaler interface{ Equal(crypto.PublicKey) bool }
	if !f.pub.(equaler).Equal(f.key.(crypto.Signer).Public()) {
		t.Fatal("the JWKS key is not the public half of the stored signing key")
	}
	return f
}

// publicFromJWK parses an RFC 7517 public key, as an attacker would.
func publicFromJWK(t *testing.T, raw []byte) crypto.PublicKey {
	t.Helper()
	var k struct{ Kty, Crv, X, Y, N, E string }
	if err := json.Unmarshal(raw, &k); err != nil {
		t.Fatal(err)
	}
	dec := func(s string) []byte {
		b, err := b64.DecodeString(s)
		if err != nil {
			t.Fatalf("jwk member %q: %v", s, err)
		}
		return b
	}
	switch k.Kty {
	case "OKP":
		return ed25519.PublicKey(dec(k.X))
	case "EC":
		pt := append(append([]byte{4}, dec(k.X)...), dec(k.Y)...)
		pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), pt)
		if err != nil {
			t.Fatal(err)
		}
		return pub
	case "RSA":
		return &rsa.PublicKey{N: new(big.Int).SetBytes(dec(k.N)), E: int(new(big.Int).SetBytes(dec(k.E)).Int64())}
	}
	t.Fatalf("unexpected kty %q", k.Kty)
	return nil
}

// header is a valid header for this server.
func (f *forger) header() map[string]any {
	return map[string]any{"alg": f.alg, "typ": "at+jwt", "kid": f.kid}
}

// claims is a valid claim set for this server.
func (f *forger) claims() map[string]any {
	now := time.Now()
	return map[string]any{
		"iss": f.e.app.cfg.Issuer, "aud": f.e.app.cfg.Audience, "sub": "forged-subject", "user": "alice",
		"exp": now.Add(5 * time.Minute).Unix(), "iat": now.Unix(), "nbf": now.Unix(), "jti": "forged",
	}
}

// with returns m with changes applied; a nil value deletes the member.
func with(m map[string]any, changes map[string]any) map[string]any {
	for k, v := range changes {
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	return m
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// signingInput is BASE64URL(header) "." BASE64URL(payload) of raw JSON
// texts, so tests can send JSON that json.Marshal would never produce.
func signingInput(header, payload string) string {
	return b64.EncodeToString([]byte(header)) + "." + b64.EncodeToString([]byte(payload))
}

// signAs signs input with key under alg: "none" gives no signature, HS*
// any byte string as the HMAC key (whatever a confused verifier would
// use), anything else golang-jwt's implementation.
func signAs(t *testing.T, alg string, key any, input string) string {
	t.Helper()
	var h func() hash.Hash
	switch alg {
	case "none", "None", "NONE":
		return input + "."
	case "HS256":
		h = sha256.New
	case "HS384":
		h = sha512.New384
	case "HS512":
		h = sha512.New
	}
	if h != nil {
		mac := hmac.New(h, key.([]byte))
		mac.Write([]byte(input))
		return input + "." + b64.EncodeToString(mac.Sum(nil))
	}
	sig, err := jwt.GetSigningMethod(alg).Sign(input, key)
	if err != nil {
		t.Fatalf("sign %s: %v", alg, err)
	}
	return input + "." + b64.EncodeToString(sig)
}

// ours signs header and claims with the server's real key.
func (f *forger) ours(header, claims map[string]any) string {
	return signAs(f.t, f.alg, f.key, signingInput(mustJSON(f.t, header), mustJSON(f.t, claims)))
}

// oursRaw signs raw JSON texts with the server's real key.
func (f *forger) oursRaw(header, payload string) string {
	return signAs(f.t, f.alg, f.key, signingInput(header, payload))
}

// attacker is a key pair the server has never seen.
type attacker struct {
	alg  string
	priv crypto.Signer
	kid  string
	jwk  map[string]any
	cert []byte // self-signed certificate of the key, DER
}

func newAttacker(t *testing.T) *attacker {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "gatehouse"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	cert, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, priv)
	if err != nil {
		t.Fatal(err)
	}
	return &attacker{alg: "EdDSA", priv: priv, kid: "attacker-key",
		jwk:  map[string]any{"kty": "OKP", "crv": "Ed25519", "x": b64.EncodeToString(pub), "kid": "attacker-key", "alg": "EdDSA"},
		cert: cert}
}

// sign signs header and claims with the attacker's key; header's alg is
// whatever the caller put there.
func (a *attacker) sign(t *testing.T, header, claims map[string]any) string {
	return signAs(t, a.alg, a.priv, signingInput(mustJSON(t, header), mustJSON(t, claims)))
}

// attack is one crafted token and the refusal it must get.
type attack struct {
	name string
	alg  string // the server's signing algorithm; "" is the default, EdDSA
	// token builds the token against the server's forger.
	token func(f *forger) string
	// asRefresh sends the token as a refresh_token to /oauth/token instead
	// of as a bearer token to /protected_resource.
	asRefresh bool
	// want is the 401 message ("Invalid token" or "Token has expired").
	want string
}

// TestJWTAttacks runs a catalogue of token forgeries against the real
// HTTP server (RFC 8725, the JWT BCP): every one must be answered 401 with
// the stable message, never 200 and never 500. Tokens that need a valid
// signature are signed with the server's own key, so each row fails for
// its own reason.
func TestJWTAttacks(t *testing.T) {
	t.Parallel()
	secret := "an HS256 test secret that is long enough"
	envs := map[string]*testEnv{}
	forgers := map[string]*forger{}
	for _, alg := range []string{"EdDSA", "ES256", "RS256", "HS256"} {
		o := map[string]string{"GATEHOUSE_SIGNING_ALG": alg}
		if alg == "HS256" {
			o["GATEHOUSE_JWT_SECRET"] = secret
		}
		e := newTestEnv(t, o)
		e.signUp("alice", "correct horse battery")
		envs[alg] = e
		forgers[alg] = newForger(t, e)
	}
	atk := newAttacker(t)

	// An attacker-run key server: Gatehouse must never fetch from it.
	var fetched atomic.Int64
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fetched.Add(1)
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": []any{atk.jwk}})
	}))
	t.Cleanup(evil.Close)

	// Controls: tokens the forger makes with nothing wrong are accepted, so
	// every refusal below is caused by the single change of its row.
	for alg, f := range forgers {
		tok := f.ours(f.header(), f.claims())
		if r := envs[alg].do(http.MethodGet, "/protected_resource", nil, bearerHeader(tok)); r.status != http.StatusOK {
			t.Fatalf("%s control token = %d %s; want 200 (the forger is broken)", alg, r.status, r.body)
		}
	}

	const invalid, expired = "Invalid token", "Token has expired"
	hour := time.Hour
	now := time.Now()
	withHeader := func(changes map[string]any) func(f *forger) string {
		return func(f *forger) string { return f.ours(with(f.header(), changes), f.claims()) }
	}
	withClaims := func(changes map[string]any) func(f *forger) string {
		return func(f *forger) string { return f.ours(f.header(), with(f.claims(), changes)) }
	}
	byAttacker := func(header map[string]any) func(f *forger) string {
		return func(f *forger) string {
			h := with(f.header(), map[string]any{"alg": atk.alg})
			return atk.sign(f.t, with(h, header), f.claims())
		}
	}
	hmacWith := func(alg string, key []byte, header map[string]any) func(f *forger) string {
		return func(f *forger) string {
			h := with(f.header(), map[string]any{"alg": alg})
			return signAs(f.t, alg, key, signingInput(mustJSON(f.t, with(h, header)), mustJSON(f.t, f.claims())))
		}
	}
	valid := func(f *forger) string { return f.ours(f.header(), f.claims()) }
	loginToken := func(f *forger, field string) string {
		return f.e.login("alice", "correct horse battery")[field].(string)
	}

	attacks := []attack{
		// alg "none" (RFC 8725 3.1, 3.2).
		{name: "alg none", token: func(f *forger) string {
			return signAs(f.t, "none", nil, signingInput(mustJSON(f.t, with(f.header(), map[string]any{"alg": "none"})), mustJSON(f.t, f.claims())))
		}, want: invalid},
		{name: "alg None", token: func(f *forger) string {
			return signAs(f.t, "none", nil, signingInput(mustJSON(f.t, with(f.header(), map[string]any{"alg": "None"})), mustJSON(f.t, f.claims())))
		}, want: invalid},
		{name: "alg none on an HS256 server", alg: "HS256", token: func(f *forger) string {
			return signAs(f.t, "none", nil, signingInput(mustJSON(f.t, with(f.header(), map[string]any{"alg": "none"})), mustJSON(f.t, f.claims())))
		}, want: invalid},
		{name: "alg none keeping a real signature", token: func(f *forger) string {
			tok := valid(f)
			sig := tok[strings.LastIndex(tok, ".")+1:]
			return signingInput(mustJSON(f.t, with(f.header(), map[string]any{"alg": "none"})), mustJSON(f.t, f.claims())) + "." + sig
		}, want: invalid},

		// A stranger's key presented under our kid.
		{name: "attacker EdDSA key with our kid", token: byAttacker(nil), want: invalid},
		{name: "attacker EdDSA key with our kid on an ES256 server", alg: "ES256", token: byAttacker(nil), want: invalid},
		{name: "attacker EdDSA key with our kid on an RS256 server", alg: "RS256", token: byAttacker(nil), want: invalid},
		{name: "attacker ES256 key with our kid", alg: "ES256", token: func(f *forger) string {
			k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			return signAs(f.t, "ES256", k, signingInput(mustJSON(f.t, f.header()), mustJSON(f.t, f.claims())))
		}, want: invalid},
		{name: "attacker RS256 key with our kid", alg: "RS256", token: func(f *forger) string {
			k, _ := rsa.GenerateKey(rand.Reader, 2048)
			return signAs(f.t, "RS256", k, signingInput(mustJSON(f.t, f.header()), mustJSON(f.t, f.claims())))
		}, want: invalid},
		{name: "ES256 psychic signature (r = s = 0)", alg: "ES256", token: func(f *forger) string {
			return signingInput(mustJSON(f.t, f.header()), mustJSON(f.t, f.claims())) + "." + b64.EncodeToString(make([]byte, 64))
		}, want: invalid},
		{name: "EdDSA all-zero signature", token: func(f *forger) string {
			return signingInput(mustJSON(f.t, f.header()), mustJSON(f.t, f.claims())) + "." + b64.EncodeToString(make([]byte, 64))
		}, want: invalid},

		// kid games: the kid only selects among our keys.
		{name: "kid path traversal, HMAC with an empty key", token: hmacWith("HS256", []byte{}, map[string]any{"kid": "../../../../../../dev/null"}), want: invalid},
		{name: "kid path traversal, attacker key", token: byAttacker(map[string]any{"kid": "../../../../../../etc/passwd"}), want: invalid},
		{name: "kid SQL injection", token: byAttacker(map[string]any{"kid": "x' UNION SELECT 'attacker-key' --"}), want: invalid},
		{name: "kid SQL injection, HMAC with the injected value", token: hmacWith("HS256", []byte("attacker-key"), map[string]any{"kid": "' UNION SELECT 'attacker-key' --"}), want: invalid},
		{name: "kid of 10 KB", token: byAttacker(map[string]any{"kid": strings.Repeat("k", 10<<10)}), want: invalid},
		{name: "unknown kid, our key", token: withHeader(map[string]any{"kid": "no-such-key"}), want: invalid},
		{name: "no kid, our key", token: withHeader(map[string]any{"kid": nil}), want: invalid},
		{name: "kid not a string, our key", token: withHeader(map[string]any{"kid": 42}), want: invalid},

		// Key material or key locations taken from the token (RFC 8725 3.10).
		{name: "embedded jwk header", token: byAttacker(map[string]any{"jwk": atk.jwk}), want: invalid},
		{name: "embedded jwk header with the attacker's kid", token: byAttacker(map[string]any{"jwk": atk.jwk, "kid": atk.kid}), want: invalid},
		{name: "jku header to an attacker JWKS", token: func(f *forger) string {
			return byAttacker(map[string]any{"jku": evil.URL + "/jwks.json", "kid": atk.kid})(f)
		}, want: invalid},
		{name: "jku header with our kid", token: func(f *forger) string {
			return byAttacker(map[string]any{"jku": evil.URL + "/jwks.json"})(f)
		}, want: invalid},
		{name: "x5u header", token: func(f *forger) string {
			return byAttacker(map[string]any{"x5u": evil.URL + "/cert.pem"})(f)
		}, want: invalid},
		{name: "x5c header with a self-signed certificate", token: byAttacker(map[string]any{"x5c": []string{base64.StdEncoding.EncodeToString(atk.cert)}}), want: invalid},
		{name: "crit header, attacker key", token: byAttacker(map[string]any{"crit": []string{"exp"}}), want: invalid},
		{name: "crit header, our key", token: withHeader(map[string]any{"crit": []string{"x-gatehouse"}, "x-gatehouse": true}), want: invalid},
		{name: "crit header naming a registered claim, our key", token: withHeader(map[string]any{"crit": []string{"exp"}}), want: invalid},

		// Time claims (our key).
		{name: "expired", token: withClaims(map[string]any{"exp": now.Add(-hour).Unix(), "iat": now.Add(-2 * hour).Unix(), "nbf": now.Add(-2 * hour).Unix()}), want: expired},
		{name: "expired with a bad signature", token: func(f *forger) string {
			tok := withClaims(map[string]any{"exp": now.Add(-hour).Unix(), "iat": now.Add(-2 * hour).Unix(), "nbf": now.Add(-2 * hour).Unix()})(f)
			return tok[:len(tok)-6] + "AAAAAA"
		}, want: invalid},
		{name: "expired and wrong issuer", token: withClaims(map[string]any{"exp": now.Add(-hour).Unix(), "iss": "https://evil.example"}), want: invalid},
		{name: "nbf in the future", token: withClaims(map[string]any{"nbf": now.Add(10 * time.Minute).Unix()}), want: invalid},
		{name: "iat in the future beyond leeway", token: withClaims(map[string]any{"iat": now.Add(10 * time.Minute).Unix()}), want: invalid},
		{name: "missing exp", token: withClaims(map[string]any{"exp": nil}), want: invalid},
		{name: "exp not a number", token: withClaims(map[string]any{"exp": "tomorrow"}), want: invalid},

		// Identity and audience claims (our key).
		{name: "wrong iss", token: withClaims(map[string]any{"iss": "https://evil.example"}), want: invalid},
		{name: "missing iss", token: withClaims(map[string]any{"iss": nil}), want: invalid},
		{name: "wrong aud", token: withClaims(map[string]any{"aud": "another-api"}), want: invalid},
		{name: "aud array without ours", token: withClaims(map[string]any{"aud": []string{"another-api", "a-third-api"}}), want: invalid},
		{name: "missing aud", token: withClaims(map[string]any{"aud": nil}), want: invalid},
		{name: "missing sub", token: withClaims(map[string]any{"sub": nil}), want: invalid},
		{name: "empty sub", token: withClaims(map[string]any{"sub": ""}), want: invalid},
		{name: "typ JWT", token: withHeader(map[string]any{"typ": "JWT"}), want: invalid},
		{name: "typ missing", token: withHeader(map[string]any{"typ": nil}), want: invalid},
		{name: "typ of an ID token", token: withHeader(map[string]any{"typ": "id_token+jwt"}), want: invalid},

		// Structure and encoding.
		{name: "tampered payload (roles admin)", token: func(f *forger) string {
			parts := strings.Split(valid(f), ".")
			parts[1] = b64.EncodeToString([]byte(mustJSON(f.t, with(f.claims(), map[string]any{"roles": []string{"admin"}}))))
			return strings.Join(parts, ".")
		}, want: invalid},
		{name: "tampered header (extra member)", token: func(f *forger) string {
			parts := strings.Split(valid(f), ".")
			parts[0] = b64.EncodeToString([]byte(mustJSON(f.t, with(f.header(), map[string]any{"x": 1}))))
			return strings.Join(parts, ".")
		}, want: invalid},
		{name: "signature of another token", token: func(f *forger) string {
			a := strings.Split(valid(f), ".")
			b := strings.Split(f.ours(f.header(), with(f.claims(), map[string]any{"user": "bob"})), ".")
			return a[0] + "." + b[1] + "." + a[2]
		}, want: invalid},
		{name: "stripped signature", token: func(f *forger) string { tok := valid(f); return tok[:strings.LastIndex(tok, ".")+1] }, want: invalid},
		{name: "no signature segment", token: func(f *forger) string { tok := valid(f); return tok[:strings.LastIndex(tok, ".")] }, want: invalid},
		{name: "truncated signature", token: func(f *forger) string { tok := valid(f); return tok[:len(tok)-8] }, want: invalid},
		{name: "extra segment", token: func(f *forger) string { return valid(f) + ".AAAA" }, want: invalid},
		{name: "JWE-shaped (five segments)", token: func(f *forger) string { return valid(f) + ".AAAA.AAAA" }, want: invalid},
		{name: "bad base64 in the header", token: func(f *forger) string { return "eyJ*bGciOiJ." + strings.SplitN(valid(f), ".", 2)[1] }, want: invalid},
		{name: "padded base64 payload", token: func(f *forger) string {
			p := strings.Split(valid(f), ".")
			return p[0] + "." + p[1] + "==." + p[2]
		}, want: invalid},
		{name: "standard base64 alphabet in the signature", token: func(f *forger) string {
			tok := valid(f)
			return tok[:len(tok)-2] + "+/"
		}, want: invalid},
		{name: "header is not JSON, our key", token: func(f *forger) string { return f.oursRaw(`not json`, mustJSON(f.t, f.claims())) }, want: invalid},
		{name: "payload is a JSON array, our key", token: func(f *forger) string { return f.oursRaw(mustJSON(f.t, f.header()), `[1,2,3]`) }, want: invalid},
		{name: "header over 8 KiB, our key", token: withHeader(map[string]any{"pad": strings.Repeat("p", 9<<10)}), want: invalid},

		// Duplicate members: the lexically last wins (RFC 7519 4, RFC 7515
		// 5.2), so a duplicate cannot smuggle an earlier value past checks.
		{name: "duplicate exp in the payload, last expired", token: func(f *forger) string {
			c := mustJSON(f.t, f.claims())
			return f.oursRaw(mustJSON(f.t, f.header()), strings.TrimSuffix(c, "}")+fmt.Sprintf(`,"exp":%d}`, now.Add(-hour).Unix()))
		}, want: expired},
		{name: "duplicate sub in the payload, last empty", token: func(f *forger) string {
			c := mustJSON(f.t, f.claims())
			return f.oursRaw(mustJSON(f.t, f.header()), strings.TrimSuffix(c, "}")+`,"sub":""}`)
		}, want: invalid},
		{name: "duplicate aud in the payload, last foreign", token: func(f *forger) string {
			c := mustJSON(f.t, f.claims())
			return f.oursRaw(mustJSON(f.t, f.header()), strings.TrimSuffix(c, "}")+`,"aud":"another-api"}`)
		}, want: invalid},
		{name: "duplicate typ in the header, last JWT", token: func(f *forger) string {
			h := mustJSON(f.t, f.header())
			return f.oursRaw(strings.TrimSuffix(h, "}")+`,"typ":"JWT"}`, mustJSON(f.t, f.claims()))
		}, want: invalid},
		{name: "duplicate alg in the header, last none", token: func(f *forger) string {
			h := mustJSON(f.t, f.header())
			return f.oursRaw(strings.TrimSuffix(h, "}")+`,"alg":"none"}`, mustJSON(f.t, f.claims()))
		}, want: invalid},

		// HS256 servers (the tutorial's mode).
		{name: "HS256 with a different strong secret", alg: "HS256", token: hmacWith("HS256", []byte("a different secret, also over 32 bytes long"), nil), want: invalid},
		{name: "HS256 with a weak secret", alg: "HS256", token: hmacWith("HS256", []byte("secret"), nil), want: invalid},
		{name: "HS256 with an empty secret", alg: "HS256", token: hmacWith("HS256", []byte{}, nil), want: invalid},
		{name: "HS512 with our secret", alg: "HS256", token: hmacWith("HS512", []byte(secret), nil), want: invalid},
		{name: "HS384 with our secret", alg: "HS256", token: hmacWith("HS384", []byte(secret), nil), want: invalid},
		{name: "HS256 with our secret but no kid", alg: "HS256", token: func(f *forger) string {
			return f.ours(with(f.header(), map[string]any{"kid": nil}), f.claims())
		}, want: invalid},
		{name: "attacker EdDSA key on an HS256 server", alg: "HS256", token: byAttacker(nil), want: invalid},
		{name: "HS256 with a weak secret, expired", alg: "HS256", token: func(f *forger) string {
			h := f.header()
			return signAs(f.t, "HS256", []byte("secret"), signingInput(mustJSON(f.t, h), mustJSON(f.t, with(f.claims(), map[string]any{"exp": now.Add(-hour).Unix()}))))
		}, want: invalid},

		// Tokens of the wrong kind.
		{name: "refresh token as an access token", token: func(f *forger) string { return loginToken(f, "refresh_token") }, want: invalid},
		{name: "access token as a refresh token", token: func(f *forger) string { return loginToken(f, "access_token") }, asRefresh: true},
		{name: "forged JWT as a refresh token", token: valid, asRefresh: true},
	}

	// Key confusion (RFC 8725 2.1): HS256 keyed with our public key in
	// every encoding a confused verifier might use.
	for _, alg := range []string{"EdDSA", "ES256", "RS256"} {
		f := forgers[alg]
		der, err := x509.MarshalPKIXPublicKey(f.pub)
		if err != nil {
			t.Fatal(err)
		}
		pemKey := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
		encodings := map[string][]byte{
			"PEM": pemKey, "PEM without newline": []byte(strings.TrimSpace(string(pemKey))),
			"DER": der, "JWK JSON": f.jwk,
		}
		switch k := f.pub.(type) {
		case ed25519.PublicKey:
			encodings["raw key"] = k
		case *ecdsa.PublicKey:
			b, _ := k.Bytes()
			encodings["raw key"] = b
		case *rsa.PublicKey:
			encodings["raw key"] = k.N.Bytes()
		}
		for enc, key := range encodings {
			attacks = append(attacks, attack{
				name:  "key confusion HS256 with the " + alg + " public key as " + enc,
				alg:   alg,
				token: hmacWith("HS256", key, nil),
				want:  invalid,
			})
		}
	}

	for _, tt := range attacks {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			alg := tt.alg
			if alg == "" {
				alg = "EdDSA"
			}
			e := envs[alg]
			f := *forgers[alg]
			f.t = t
			tok := tt.token(&f)
			if tt.asRefresh {
				r := e.form("/oauth/token", "grant_type=refresh_token&refresh_token="+url.QueryEscape(tok), nil)
				if r.status != http.StatusBadRequest || r.json(t)["error"] != "invalid_grant" {
					t.Fatalf("POST /oauth/token = %d %s; want 400 invalid_grant", r.status, r.body)
				}
				return
			}
			r := e.do(http.MethodGet, "/protected_resource", nil, bearerHeader(tok))
			if r.status != http.StatusUnauthorized {
				t.Fatalf("GET /protected_resource = %d %s; want 401", r.status, r.body)
			}
			body := r.json(t)
			if body["message"] != tt.want || body["error"] != "invalid_token" {
				t.Errorf("body = %s; want error invalid_token, message %q", r.body, tt.want)
			}
			if wa := r.header.Get("WWW-Authenticate"); !strings.Contains(wa, `error="invalid_token"`) {
				t.Errorf("WWW-Authenticate = %q; want error=\"invalid_token\" (RFC 6750)", wa)
			}
		})
	}
	t.Cleanup(func() {
		if n := fetched.Load(); n != 0 {
			t.Errorf("the server fetched %d time(s) from a URL named in a token header", n)
		}
	})
}
