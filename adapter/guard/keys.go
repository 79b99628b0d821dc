package guard

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse-auth/gatehouse/adapter/internal/remote"
	"github.com/gatehouse-auth/gatehouse/domain"
)

// DefaultKeyCacheTTL is how long a KeyIntrospector trusts an answer when
// given no TTL: Gatehouse's default revocation sync interval.
const DefaultKeyCacheTTL = 2 * time.Second

// keyCacheMax bounds a KeyIntrospector's cache (entries).
const keyCacheMax = 65536

// KeyIntrospector lets a resource server accept Gatehouse API keys: it asks
// Gatehouse's introspection endpoint (RFC 7662) about each key once, as a
// machine client, and caches the answer, active or not, for at most its
// TTL, which should be no longer than Gatehouse's revocation sync interval
// so that a revoked key is refused within it. Keys whose shape or checksum
// is wrong are refused without asking. Only a hash of each key is kept.
type KeyIntrospector struct {
	url      string
	clientID string
	secret   secret
	client   *http.Client
	prefix   string
	ttl      time.Duration
	now      func() time.Time

	mu    sync.Mutex
	cache map[[sha256.Size]byte]keyAnswer
}

type keyAnswer struct {
	claims *domain.Claims // nil: inactive
	at     time.Time
}

// NewKeyIntrospector returns an introspector of the endpoint at
// introspectURL (Gatehouse's base URL + "/oauth/introspect") that
// authenticates with HTTP Basic as clientID/clientSecret, uses client (nil:
// a client with a 10 s timeout whose requests are OpenTelemetry client spans
// of the global provider carrying traceparent), accepts keys with prefix (""
// : "gth") and caches answers for ttl (DefaultKeyCacheTTL when zero or
// less). now is the clock (nil: time.Now).
func NewKeyIntrospector(introspectURL, clientID, clientSecret, prefix string, client *http.Client, ttl time.Duration, now func() time.Time) (*KeyIntrospector, error) {
	u, err := remote.URL("introspection url", introspectURL)
	if err != nil {
		return nil, err
	}
	if clientID == "" || clientSecret == "" {
		return nil, errors.New("key introspection: client id and secret are required")
	}
	if prefix == "" {
		prefix = domain.DefaultAPIKeyPrefix
	}
	if err := domain.ValidateAPIKeyPrefix(prefix); err != nil {
		return nil, fmt.Errorf("key introspection: %w", err)
	}
	client = remote.Client(client, pollTimeout)
	if ttl <= 0 {
		ttl = DefaultKeyCacheTTL
	}
	if now == nil {
		now = time.Now
	}
	return &KeyIntrospector{
		url: u.String(), clientID: clientID, secret: secret(clientSecret), client: client,
		prefix: prefix, ttl: ttl, now: now, cache: make(map[[sha256.Size]byte]keyAnswer),
	}, nil
}

// IsKey reports whether token has the shape of one of Gatehouse's keys
// (its prefix and length), whatever its checksum: such a token is judged
// as a key, never as a JWT.
func (k *KeyIntrospector) IsKey(token string) bool { return domain.LooksLikeAPIKey(k.prefix, token) }

// Verify returns the claims of an active key: its user (Subject,
// Username), its scope, no roles, and its revocation id as SessionID (so
// the revocation Poller refuses it as soon as the feed says so). A
// malformed key or an inactive one is domain.ErrTokenInvalid (an expired
// one ErrTokenExpired); when Gatehouse cannot be asked, the error wraps
// domain.ErrUnavailable (503: fail closed).
func (k *KeyIntrospector) Verify(ctx context.Context, key string) (*domain.Claims, error) {
	if !domain.CheckAPIKey(k.prefix, key) {
		return nil, domain.ErrTokenInvalid
	}
	h := sha256.Sum256([]byte(key))
	now := k.now()
	k.mu.Lock()
	a, ok := k.cache[h]
	k.mu.Unlock()
	if !ok || now.Sub(a.at) >= k.ttl || now.Before(a.at) {
		c, err := k.introspect(ctx, key)
		if err != nil {
			return nil, err
		}
		a = keyAnswer{claims: c, at: now}
		k.mu.Lock()
		if len(k.cache) >= keyCacheMax {
			for old := range k.cache {
				delete(k.cache, old)
				break
			}
		}
		k.cache[h] = a
		k.mu.Unlock()
	}
	switch {
	case a.claims == nil:
		return nil, domain.ErrTokenInvalid
	case !now.Before(a.claims.ExpiresAt):
		return nil, domain.ErrTokenExpired
	}
	c := *a.claims
	return &c, nil
}

// introspectionAnswer is the part of RFC 7662's answer read here.
type introspectionAnswer struct {
	Active    bool   `json:"active"`
	TokenType string `json:"token_type"`
	Sub       string `json:"sub"`
	Username  string `json:"username"`
	Scope     string `json:"scope"`
	Exp       int64  `json:"exp"`
	SessionID string `json:"sid"`
}

// introspect asks Gatehouse about key: the claims of an active key, nil
// for anything else.
func (k *KeyIntrospector) introspect(ctx context.Context, key string) (*domain.Claims, error) {
	form := url.Values{"token": {key}, "token_type_hint": {"api_key"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, k.url, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, fmt.Errorf("key introspection: %w: %w", domain.ErrUnavailable, err)
	}
	req.SetBasicAuth(url.QueryEscape(k.clientID), url.QueryEscape(string(k.secret)))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := k.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("key introspection: %w: %w", domain.ErrUnavailable, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("key introspection: %w: status %d", domain.ErrUnavailable, resp.StatusCode)
	}
	var ans introspectionAnswer
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&ans); err != nil {
		return nil, fmt.Errorf("key introspection: %w: decode: %w", domain.ErrUnavailable, err)
	}
	if !ans.Active || ans.TokenType != "api_key" || ans.Sub == "" || ans.Exp == 0 {
		return nil, nil // fail closed: only an active key with a subject and an expiry is one
	}
	return &domain.Claims{
		Subject:   ans.Sub,
		Username:  ans.Username,
		Scope:     domain.ParseScope(ans.Scope),
		SessionID: ans.SessionID,
		KeyID:     strings.TrimPrefix(ans.SessionID, domain.APIKeyRevocationPrefix),
		ExpiresAt: time.Unix(ans.Exp, 0),
	}, nil
}
