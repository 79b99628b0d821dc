package token

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/MicahParks/jwkset"

	"github.com/gatehouse-auth/gatehouse/adapter/internal/remote"
	"github.com/gatehouse-auth/gatehouse/domain"
)

// DefaultMinRefresh is the shortest interval between two JWKS fetches when
// NewRemoteKeySet is given none.
const DefaultMinRefresh = 10 * time.Second

const (
	maxJWKSBytes      = 1 << 20
	jwksFetchTimeout  = 10 * time.Second
	defaultJWKSMaxAge = 5 * time.Minute // when the answer has no max-age
	maxJWKSMaxAge     = 24 * time.Hour
	maxRSABits        = 8192
)

// publicKey is what every crypto/* public key type implements.
type publicKey interface {
	Equal(crypto.PublicKey) bool
}

// remoteKey is one usable public key of a fetched JWK Set.
type remoteKey struct {
	alg    string
	verify publicKey
}

// remoteSet is the key set as last fetched. It is immutable.
type remoteSet struct {
	keys    map[string]remoteKey
	fetched time.Time // zero until the first successful fetch
	maxAge  time.Duration
}

// RemoteKeySet is a JWK Set (RFC 7517) fetched from an authorization
// server such as Gatehouse and cached in memory. An unknown kid makes it
// fetch the set again, at most once per minimum refresh interval, so that a
// rotation is picked up at once while a flood of made-up kids costs the
// server one request per interval. A set older than the server's
// Cache-Control max-age (at least the minimum interval) is refreshed on its
// next use; a failed refresh keeps the keys already known and is retried
// after the minimum interval. It is safe for concurrent use.
type RemoteKeySet struct {
	url        string
	client     *http.Client
	minRefresh time.Duration
	now        func() time.Time

	set      atomic.Pointer[remoteSet] // read without a lock on the verify path
	removals atomic.Uint64             // keys that left the set; see Keyring.removals

	mu          sync.Mutex // serialises fetches and guards the fields below
	lastAttempt time.Time  // any fetch
	lastMiss    time.Time  // last fetch caused by an unknown kid
	lastErr     error      // outcome of the last fetch
}

// NewRemoteKeySet returns a key set read from jwksURL (Gatehouse publishes
// it at /.well-known/jwks.json) with client (nil means a client with a 10 s
// timeout whose fetches are OpenTelemetry client spans of the global
// provider carrying traceparent). Fetches are at least minRefresh apart (DefaultMinRefresh when
// zero or less) for unknown kids, and as often for an expired set. The set
// is empty until the first Refresh or verification.
func NewRemoteKeySet(jwksURL string, client *http.Client, minRefresh time.Duration, now func() time.Time) (*RemoteKeySet, error) {
	u, err := remote.URL("jwks url", jwksURL)
	if err != nil {
		return nil, err
	}
	client = remote.Client(client, jwksFetchTimeout)
	if minRefresh <= 0 {
		minRefresh = DefaultMinRefresh
	}
	if now == nil {
		now = time.Now
	}
	s := &RemoteKeySet{url: u.String(), client: client, minRefresh: minRefresh, now: now}
	s.set.Store(&remoteSet{keys: map[string]remoteKey{}})
	return s, nil
}

// Refresh fetches the key set now, regardless of the minimum interval.
// Call it at start-up to fail early when the server cannot be reached.
func (s *RemoteKeySet) Refresh(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fetch(ctx)
}

// generation refreshes the set when it is past its max-age, so that a key
// removed from the server also empties a verifier's cache, and returns the
// removal count (keySource).
func (s *RemoteKeySet) generation(ctx context.Context) uint64 {
	s.refreshStale(ctx)
	return s.removals.Load()
}

// verificationKey returns the alg and public key of kid (keySource). An
// unknown kid triggers one fetch unless another unknown kid did less than
// minRefresh ago; a failed fetch returns an error wrapping
// domain.ErrUnavailable. Fetches for other reasons (start-up, max-age) do
// not delay it, so a rotation is seen at once.
func (s *RemoteKeySet) verificationKey(ctx context.Context, kid string) (string, any, error) {
	if k, ok := s.set.Load().keys[kid]; ok {
		return k.alg, k.verify, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if k, ok := s.set.Load().keys[kid]; ok {
		return k.alg, k.verify, nil // fetched by another request while we waited
	}
	if !s.lastMiss.IsZero() && s.now().Sub(s.lastMiss) < s.minRefresh {
		if s.lastErr != nil {
			return "", nil, s.lastErr // the server is down: we cannot tell
		}
		return "", nil, errUnknownKid
	}
	s.lastMiss = s.now()
	if err := s.fetch(ctx); err != nil {
		return "", nil, err
	}
	if k, ok := s.set.Load().keys[kid]; ok {
		return k.alg, k.verify, nil
	}
	return "", nil, errUnknownKid
}

// stale reports whether set is older than its max-age.
func (s *RemoteKeySet) stale(set *remoteSet) bool {
	return !set.fetched.IsZero() && s.now().Sub(set.fetched) >= set.maxAge
}

// refreshStale refreshes the set when it is older than its max-age. One
// caller fetches (synchronously, bounded by the fetch timeout); the others
// go on with the keys they have. A failure keeps the old keys
// (stale-if-error) and the next attempt waits minRefresh.
func (s *RemoteKeySet) refreshStale(ctx context.Context) {
	if !s.stale(s.set.Load()) || !s.mu.TryLock() {
		return
	}
	defer s.mu.Unlock()
	if !s.stale(s.set.Load()) || s.now().Sub(s.lastAttempt) < s.minRefresh {
		return
	}
	if err := s.fetch(ctx); err != nil {
		return // lastErr holds the cause; the old keys stay in use
	}
}

// fetch downloads and installs the key set; s.mu must be held. The request
// is detached from the caller's cancellation, so a client that hangs up
// does not spend the refresh interval on a failed fetch.
func (s *RemoteKeySet) fetch(ctx context.Context) error {
	s.lastAttempt = s.now()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), jwksFetchTimeout)
	defer cancel()
	keys, maxAge, err := s.download(ctx)
	if err != nil {
		s.lastErr = fmt.Errorf("%w: fetch jwks: %w", domain.ErrUnavailable, err)
		return s.lastErr
	}
	s.lastErr = nil
	old := s.set.Load()
	s.set.Store(&remoteSet{keys: keys, fetched: s.lastAttempt, maxAge: max(maxAge, s.minRefresh)})
	for kid, k := range old.keys {
		if nk, ok := keys[kid]; !ok || nk.alg != k.alg || !nk.verify.Equal(k.verify) {
			// After the new set is visible, as Keyring.load does.
			s.removals.Add(1)
			break
		}
	}
	return nil
}

// download GETs the document and parses it.
func (s *RemoteKeySet) download(ctx context.Context) (map[string]remoteKey, time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url, nil)
	if err != nil {
		return nil, 0, err
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, 0, fmt.Errorf("status %d", resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSBytes+1))
	if err != nil {
		return nil, 0, fmt.Errorf("read body: %w", err)
	}
	if len(body) > maxJWKSBytes {
		return nil, 0, errors.New("document larger than 1 MiB")
	}
	keys, err := parseJWKS(body)
	if err != nil {
		return nil, 0, err
	}
	return keys, cacheMaxAge(resp.Header.Get("Cache-Control")), nil
}

// cacheMaxAge reads max-age from a Cache-Control header, capped at a day.
func cacheMaxAge(h string) time.Duration {
	for d := range strings.SplitSeq(h, ",") {
		if v, ok := strings.CutPrefix(strings.ToLower(strings.TrimSpace(d)), "max-age="); ok {
			if n, err := strconv.ParseInt(strings.Trim(v, `"`), 10, 64); err == nil && n >= 0 {
				return min(time.Duration(n)*time.Second, maxJWKSMaxAge)
			}
		}
	}
	return defaultJWKSMaxAge
}

// parseJWKS returns the usable signature keys of a JWK Set by kid. Keys it
// cannot use (other types or curves, encryption keys, weak or malformed
// material, no kid) are skipped, as RFC 7517 section 5 asks; a kid that
// appears twice is dropped, since it would be ambiguous.
func parseJWKS(doc []byte) (map[string]remoteKey, error) {
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(doc, &set); err != nil {
		return nil, fmt.Errorf("decode jwks: %w", err)
	}
	if set.Keys == nil {
		return nil, errors.New("decode jwks: no keys member")
	}
	keys := make(map[string]remoteKey, len(set.Keys))
	dup := map[string]bool{}
	for _, raw := range set.Keys {
		kid, k, err := parseJWK(raw)
		if kid == "" || dup[kid] {
			continue
		}
		if _, seen := keys[kid]; seen {
			delete(keys, kid)
			dup[kid] = true
			continue
		}
		if err == nil {
			keys[kid] = k
		}
	}
	return keys, nil
}

// parseJWK turns one public JWK into a verification key: Ed25519 (OKP),
// P-256 (EC) or RSA of at least 2048 bits. jwkset decodes the key material
// (and checks that an EC point is on its curve); the policy is ours. The
// kid is returned even when the key is refused, so duplicates are seen.
func parseJWK(raw json.RawMessage) (kid string, _ remoteKey, _ error) {
	j, err := jwkset.NewJWKFromRawJSON(raw, jwkset.JWKMarshalOptions{}, jwkset.JWKValidateOptions{})
	if err != nil {
		var m struct {
			Kid string `json:"kid"`
		}
		if json.Unmarshal(raw, &m) == nil {
			kid = m.Kid
		}
		return kid, remoteKey{}, fmt.Errorf("decode jwk: %w", err)
	}
	m := j.Marshal()
	kid = m.KID
	if m.USE != "" && m.USE != jwkset.UseSig {
		return kid, remoteKey{}, errors.New("not a signature key")
	}
	if len(m.KEYOPS) > 0 && !slices.Contains(m.KEYOPS, jwkset.KeyOpsVerify) {
		return kid, remoteKey{}, errors.New("key_ops excludes verify")
	}
	var alg string
	var pub publicKey
	switch k := j.Key().(type) {
	case ed25519.PublicKey:
		alg, pub = AlgEdDSA, k
	case *ecdsa.PublicKey:
		alg, pub = AlgES256, k
	case *rsa.PublicKey:
		if k.E < 3 || k.E%2 == 0 || k.N.BitLen() > maxRSABits {
			return kid, remoteKey{}, errors.New("bad RSA parameters")
		}
		alg, pub = AlgRS256, k
	default:
		return kid, remoteKey{}, errors.New("unsupported key type")
	}
	if a := m.ALG.String(); a != "" && a != alg {
		return kid, remoteKey{}, errors.New("alg does not match the key type")
	}
	// The same checks as our own keys (P-256 only, RSA at least 2048 bits).
	if _, err := publicJWK(alg, pub); err != nil {
		return kid, remoteKey{}, err
	}
	return kid, remoteKey{alg: alg, verify: pub}, nil
}
