package token

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gatehouse-auth/gatehouse/domain"
)

// Supported signing algorithms (JWS "alg" values).
const (
	AlgEdDSA = "EdDSA" // Ed25519, the default
	AlgES256 = "ES256" // ECDSA P-256 with SHA-256
	AlgRS256 = "RS256" // RSA 2048 PKCS#1 v1.5 with SHA-256
	AlgHS256 = "HS256" // HMAC-SHA-256 with a shared secret
)

// MinSecretBytes is the shortest HS256 secret accepted (RFC 7518 §3.2: a
// key at least as long as the hash output).
const MinSecretBytes = 32

const rsaBits = 2048

var b64url = base64.RawURLEncoding

// ringKey is one parsed key of the ring. It is immutable once built.
type ringKey struct {
	id        string
	alg       string
	method    jwt.SigningMethod
	sign      any // crypto.Signer for asymmetric keys, []byte for HS256
	verify    any // public key, or []byte for HS256
	jwk       *jwkJSON
	createdAt time.Time
	retiredAt time.Time
}

// jwkJSON is the RFC 7517 public JWK of a key.
type jwkJSON struct {
	Kid string `json:"kid"`
	Kty string `json:"kty"`
	Alg string `json:"alg"`
	Use string `json:"use"`
	Crv string `json:"crv,omitempty"`
	X   string `json:"x,omitempty"`
	Y   string `json:"y,omitempty"`
	N   string `json:"n,omitempty"`
	E   string `json:"e,omitempty"`
}

// signingMethod maps an alg name to its golang-jwt method.
func signingMethod(alg string) (jwt.SigningMethod, error) {
	switch alg {
	case AlgEdDSA:
		return jwt.SigningMethodEdDSA, nil
	case AlgES256:
		return jwt.SigningMethodES256, nil
	case AlgRS256:
		return jwt.SigningMethodRS256, nil
	case AlgHS256:
		return jwt.SigningMethodHS256, nil
	}
	return nil, fmt.Errorf("unsupported signing algorithm %q", alg)
}

// generateKey makes a fresh asymmetric key for alg, with its RFC 7638
// thumbprint as kid and the private half as PKCS#8 DER.
func generateKey(alg string, now time.Time) (*domain.SigningKey, error) {
	var priv crypto.Signer
	var err error
	switch alg {
	case AlgEdDSA:
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	case AlgES256:
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case AlgRS256:
		priv, err = rsa.GenerateKey(rand.Reader, rsaBits)
	default:
		return nil, fmt.Errorf("cannot generate a key for %q", alg)
	}
	if err != nil {
		return nil, fmt.Errorf("generate %s key: %w", alg, err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("encode %s key: %w", alg, err)
	}
	jwk, err := publicJWK(alg, priv.Public())
	if err != nil {
		return nil, err
	}
	return &domain.SigningKey{ID: jwk.Kid, Algorithm: alg, Private: der, CreatedAt: now}, nil
}

// parseKey turns a stored key into a ring key, checking that its material
// matches its declared algorithm.
func parseKey(k domain.SigningKey) (*ringKey, error) {
	method, err := signingMethod(k.Algorithm)
	if err != nil || k.Algorithm == AlgHS256 {
		return nil, fmt.Errorf("key %s: unsupported stored algorithm", k.ID)
	}
	if isSealed(k.Private) {
		return nil, fmt.Errorf("key %s is encrypted at rest: set the key encryption key (GATEHOUSE_KEY_ENCRYPTION_KEY)", k.ID)
	}
	raw, err := x509.ParsePKCS8PrivateKey(k.Private)
	if err != nil {
		return nil, fmt.Errorf("key %s: parse pkcs8: %w", k.ID, err)
	}
	signer, ok := raw.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("key %s: not a signing key", k.ID)
	}
	jwk, err := publicJWK(k.Algorithm, signer.Public())
	if err != nil {
		return nil, fmt.Errorf("key %s: %w", k.ID, err)
	}
	// Publish the stored kid: it is what tokens already carry.
	jwk.Kid = k.ID
	return &ringKey{
		id: k.ID, alg: k.Algorithm, method: method,
		sign: signer, verify: signer.Public(), jwk: jwk,
		createdAt: k.CreatedAt, retiredAt: k.RetiredAt,
	}, nil
}

// secretKey builds the single HS256 ring key. Its kid is derived from a
// SHA-256 of the secret (domain-separated and truncated), so it is stable
// across replicas and restarts and reveals nothing about the secret.
func secretKey(secret []byte) *ringKey {
	h := sha256.New()
	h.Write([]byte("gatehouse hs256 kid\x00"))
	h.Write(secret)
	id := "hs-" + b64url.EncodeToString(h.Sum(nil)[:12])
	s := append([]byte(nil), secret...)
	return &ringKey{id: id, alg: AlgHS256, method: jwt.SigningMethodHS256, sign: s, verify: s}
}

// publicJWK returns the public JWK of pub, checked against alg, with its
// RFC 7638 thumbprint as kid.
func publicJWK(alg string, pub crypto.PublicKey) (*jwkJSON, error) {
	var j *jwkJSON
	var canonical string
	switch pk := pub.(type) {
	case ed25519.PublicKey:
		if alg != AlgEdDSA {
			break
		}
		x := b64url.EncodeToString(pk)
		j = &jwkJSON{Kty: "OKP", Crv: "Ed25519", X: x}
		canonical = `{"crv":"Ed25519","kty":"OKP","x":"` + x + `"}`
	case *ecdsa.PublicKey:
		if alg != AlgES256 || pk.Curve != elliptic.P256() {
			break
		}
		e, err := pk.ECDH()
		if err != nil {
			return nil, fmt.Errorf("ec public key: %w", err)
		}
		pt := e.Bytes() // 0x04 || X || Y, each 32 bytes
		x, y := b64url.EncodeToString(pt[1:33]), b64url.EncodeToString(pt[33:])
		j = &jwkJSON{Kty: "EC", Crv: "P-256", X: x, Y: y}
		canonical = `{"crv":"P-256","kty":"EC","x":"` + x + `","y":"` + y + `"}`
	case *rsa.PublicKey:
		if alg != AlgRS256 || pk.N.BitLen() < rsaBits {
			break
		}
		n := b64url.EncodeToString(pk.N.Bytes())
		e := b64url.EncodeToString(big.NewInt(int64(pk.E)).Bytes())
		j = &jwkJSON{Kty: "RSA", N: n, E: e}
		canonical = `{"e":"` + e + `","kty":"RSA","n":"` + n + `"}`
	}
	if j == nil {
		return nil, errors.New("key material does not match its algorithm")
	}
	sum := sha256.Sum256([]byte(canonical))
	j.Kid, j.Alg, j.Use = b64url.EncodeToString(sum[:]), alg, "sig"
	return j, nil
}
