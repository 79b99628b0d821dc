package usecase

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse/domain"
)

// Defaults of API keys (DESIGN.md "API keys").
const (
	// DefaultAPIKeyTTL is a key's lifetime when none is asked for.
	DefaultAPIKeyTTL = 90 * 24 * time.Hour
	// MinAPIKeyTTL is the shortest lifetime a key may be given.
	MinAPIKeyTTL = time.Minute
	// DefaultAPIKeyMaxTTL is GATEHOUSE_API_KEY_MAX_TTL's default.
	DefaultAPIKeyMaxTTL = 8760 * time.Hour
	// apiKeyTouchEvery is how often at most a key's last_used_at is
	// written.
	apiKeyTouchEvery = time.Minute
)

// APIKeyPolicy shapes API keys.
type APIKeyPolicy struct {
	Prefix string        // GATEHOUSE_API_KEY_PREFIX: of new keys
	MaxTTL time.Duration // GATEHOUSE_API_KEY_MAX_TTL
	// CacheTTL is how long what the store said of a key is trusted
	// without reading it again: the revocation sync interval, so that a
	// revocation the feed has not brought yet is seen at most that late.
	// Refusals (unknown, revoked, expired keys) are kept as long.
	CacheTTL time.Duration
	// CacheSize bounds the cache of usable keys and, apart, the cache of
	// refused ones (entries each).
	CacheSize int
	// Retention is how long a key is kept after it expires or is revoked
	// (GATEHOUSE_EVENT_RETENTION: as long as the events that name it); 0
	// or less is DefaultEventRetention.
	Retention time.Duration
}

// APIKeyInput is what a user asks for when creating a key.
type APIKeyInput struct {
	Name  string
	Scope []string
	// ExpiresIn is the key's lifetime; nil is DefaultAPIKeyTTL, or the
	// policy's MaxTTL when that is shorter.
	ExpiresIn *time.Duration
}

// APIKeys manages users' API keys and authenticates requests that present
// one. A key presented on a request is checked offline first (shape and
// checksum), then against bounded in-memory caches of usable and of
// refused keys, and only for a key not seen within the cache lifetime
// against the store: one indexed read, shared by every request presenting
// that key meanwhile. Revocation is the revoked set's, as for sessions;
// the time of last use is written at most once a minute per key, by a
// background job, never on the request path.
//
// Refusals are cached because anyone can make up a key whose checksum
// passes: without the cache each request with it would cost a store read.
// A cached refusal cannot hide a key created later: Create drops it on
// this replica, and on another one a refusal can only be cached for a key
// presented before it existed, that is one guessed among 2^238.
type APIKeys struct {
	store   domain.APIKeyStore
	users   domain.UserReader
	revoked *RevocationList
	issuer  domain.TokenIssuer
	policy  APIKeyPolicy
	tokens  TokenPolicy
	now     func() time.Time
	cache   *keyCache // usable keys
	refused *keyCache // unknown, revoked and expired keys
	loads   keyLoads  // one store read per key at a time
	touches *touchQueue
	metrics Metrics
	tracer  Tracer
}

// NewAPIKeys returns an APIKeys. issuer signs the tokens of the token
// exchange; metrics (nil: none) is told of tokens issued and of the
// api_key.created and api_key.revoked events committed; the exchange's
// spans go to tracer (nil traces nothing).
func NewAPIKeys(store domain.APIKeyStore, users domain.UserReader, revoked *RevocationList, issuer domain.TokenIssuer, policy APIKeyPolicy, tokens TokenPolicy, now func() time.Time, metrics Metrics, tracer Tracer) *APIKeys {
	if policy.Prefix == "" {
		policy.Prefix = domain.DefaultAPIKeyPrefix
	}
	if policy.MaxTTL <= 0 {
		policy.MaxTTL = DefaultAPIKeyMaxTTL
	}
	if policy.Retention <= 0 {
		policy.Retention = DefaultEventRetention
	}
	return &APIKeys{
		store: store, users: users, revoked: revoked, issuer: issuer, policy: policy, tokens: tokens, now: now,
		cache: newKeyCache(policy.CacheSize, policy.CacheTTL), refused: newKeyCache(policy.CacheSize, policy.CacheTTL),
		touches: newTouchQueue(), metrics: orNoMetrics(metrics), tracer: orNoTracer(tracer),
	}
}

// Create makes a key for the user and returns it with the key itself,
// which is not stored and cannot be shown again. Its api_key.created event
// (id, name and scope, never the key) commits with it; the actor is the
// Origin's, or the user.
func (k *APIKeys) Create(ctx context.Context, userID string, in APIKeyInput) (*domain.APIKey, string, error) {
	secret := newAPIKey(k.policy.Prefix)
	key, err := k.create(ctx, userID, in, secret)
	if err != nil {
		return nil, "", err
	}
	return key, secret, nil
}

// create is Create of the key secret.
func (k *APIKeys) create(ctx context.Context, userID string, in APIKeyInput, secret string) (*domain.APIKey, error) {
	if err := domain.ValidateAPIKeyName(in.Name); err != nil {
		return nil, err
	}
	for _, s := range in.Scope {
		if !slices.Contains(k.tokens.UserScopes, s) {
			return nil, domain.ErrInvalidScope
		}
	}
	ttl := min(DefaultAPIKeyTTL, k.policy.MaxTTL) // a maximum below the default caps it
	if in.ExpiresIn != nil {
		ttl = *in.ExpiresIn
	}
	if ttl < MinAPIKeyTTL || ttl > k.policy.MaxTTL {
		return nil, &domain.ValidationError{Code: domain.CodeInvalidRequest,
			Message: fmt.Sprintf("expires_in must be between %d and %d seconds", int64(MinAPIKeyTTL.Seconds()), int64(k.policy.MaxTTL.Seconds()))}
	}
	now := k.now().UTC().Truncate(time.Microsecond)
	key := &domain.APIKey{
		ID:        newID(now),
		UserID:    userID,
		Name:      in.Name,
		Hint:      secret[:domain.APIKeyHintLen],
		Scope:     slices.Clone(in.Scope),
		Hash:      hashToken(secret),
		CreatedAt: now,
		ExpiresAt: now.Add(ttl),
	}
	events := []domain.Event{keyEvent(ctx, now, domain.EventAPIKeyCreated, key)}
	if err := k.store.CreateAPIKey(ctx, key, domain.MaxLiveAPIKeys, events); err != nil {
		if errors.Is(err, domain.ErrConflict) {
			return nil, domain.ErrTokenRevoked // the user was disabled meanwhile
		}
		return nil, fmt.Errorf("create api key: %w", err)
	}
	countWritten(k.metrics, events)
	k.refused.drop(sha256.Sum256([]byte(secret))) // refused only if guessed before: usable now
	return key, nil
}

// List returns the user's keys that are not revoked, newest first.
func (k *APIKeys) List(ctx context.Context, userID string) ([]domain.APIKey, error) {
	keys, err := k.store.ListAPIKeys(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("list api keys: %w", err)
	}
	return slices.DeleteFunc(keys, func(key domain.APIKey) bool { return key.Revoked() }), nil
}

// ListOf is List for an admin: domain.ErrNotFound for an unknown user.
func (k *APIKeys) ListOf(ctx context.Context, userID string) ([]domain.APIKey, error) {
	if _, err := k.users.UserByID(ctx, userID); err != nil {
		return nil, err
	}
	return k.List(ctx, userID)
}

// Delete revokes the user's key id: here at once, on other replicas and in
// the guard through the revocation feed. Another user's key, or an unknown
// or already deleted one, is domain.ErrNotFound.
func (k *APIKeys) Delete(ctx context.Context, userID, id string) error {
	if userID == "" {
		return domain.ErrNotFound
	}
	return k.revoke(ctx, userID, id)
}

// DeleteAny revokes any user's key id (admin, CLI); an unknown or already
// deleted one is domain.ErrNotFound.
func (k *APIKeys) DeleteAny(ctx context.Context, id string) error { return k.revoke(ctx, "", id) }

// revoke revokes key id (of userID when set) with its api_key.revoked
// event. The key is read first for the event's name and scope; the store's
// revocation still decides, atomically, whether this call revoked it.
func (k *APIKeys) revoke(ctx context.Context, userID, id string) error {
	key, err := k.store.APIKeyByID(ctx, id)
	switch {
	case errors.Is(err, domain.ErrNotFound) || err == nil && userID != "" && key.UserID != userID:
		return fmt.Errorf("revoke api key %s: %w", id, domain.ErrNotFound)
	case err != nil:
		return fmt.Errorf("revoke api key: %w", err)
	case key.Revoked():
		// Deleted before: gone from the lists, so gone here too.
		return fmt.Errorf("revoke api key %s: already revoked: %w", id, domain.ErrNotFound)
	}
	now := k.now().UTC()
	expires := now.Add(k.tokens.revocationLifetime())
	events := []domain.Event{keyEvent(ctx, now, domain.EventAPIKeyRevoked, key)}
	revoked, err := k.store.RevokeAPIKey(ctx, domain.APIKeyRevocation{ID: id, UserID: userID, At: now, FeedExpires: expires, Events: events})
	if err != nil {
		return fmt.Errorf("revoke api key: %w", err)
	}
	if !revoked {
		return fmt.Errorf("revoke api key %s: already revoked: %w", id, domain.ErrNotFound)
	}
	countWritten(k.metrics, events)
	k.revoked.Add([]string{domain.APIKeyRevocationID(id)}, expires)
	return nil
}

// Prune deletes the keys that expired or were revoked longer than the
// retention ago, and returns how many went. Such a key is refused either
// way: presented again it is unknown (ErrTokenInvalid) rather than expired
// or revoked. The tokens exchanged from it never outlive its expiry, and
// those of a revoked key are refused through its feed entry, which does
// not depend on the key's row.
func (k *APIKeys) Prune(ctx context.Context) (int64, error) {
	n, err := k.store.PruneAPIKeys(ctx, k.now().Add(-k.policy.Retention))
	if err != nil {
		return n, fmt.Errorf("prune api keys: %w", err)
	}
	return n, nil
}

// keyEvent is an api_key.* event of key: its id, name and scope, never
// the key or its hash. Without an actor in the Origin, the key's user is
// taken to act on their own keys.
func keyEvent(ctx context.Context, at time.Time, t domain.EventType, key *domain.APIKey) domain.Event {
	ev := newEvent(ctx, at, t, key.UserID, selfActor(key.UserID))
	ev.Details.KeyID, ev.Details.KeyName = key.ID, key.Name
	ev.Details.Scope = strings.Join(key.Scope, " ")
	return ev
}

// Exchange is the RFC 8693 token exchange of a key for a short-lived
// access token: the key's user and scope (or the requested subset of it),
// no roles, no refresh token. The token's sid is the key's revocation id,
// so revoking the key revokes the token through the same revoked set, and
// it never outlives the key. A key that does not authenticate is
// domain.ErrInvalidGrant; a scope beyond the key's domain.ErrInvalidScope.
//
// Its span, usecase.Exchange, carries the grant, the outcome, and the ids
// of the user and the key (never the key) once it authenticates.
func (k *APIKeys) Exchange(ctx context.Context, key string, scope []string) (*TokenPair, error) {
	ctx, span := k.tracer.Start(ctx, spanExchange)
	defer span.End()
	if span.Recording() {
		span.SetString(attrGrant, GrantTokenExchange)
	}
	pair, err := k.exchange(ctx, span, key, scope)
	traceOutcome(span, grantOutcome(err), err != nil)
	return pair, err
}

// exchange is Exchange below its span, which learns the user and the key.
func (k *APIKeys) exchange(ctx context.Context, span Span, key string, scope []string) (*TokenPair, error) {
	c, err := k.Authenticate(ctx, key)
	switch {
	case errors.Is(err, domain.ErrTokenInvalid), errors.Is(err, domain.ErrTokenExpired), errors.Is(err, domain.ErrTokenRevoked):
		return nil, fmt.Errorf("%w (%v)", domain.ErrInvalidSubjectToken, err) // not %w: a 400, never a 401
	case err != nil:
		return nil, err
	}
	if span.Recording() {
		traceIDs(span, c.Subject, "")
		span.SetString(attrAPIKeyID, c.KeyID)
	}
	if len(scope) == 0 {
		scope = c.Scope
	}
	for _, s := range scope {
		if !slices.Contains(c.Scope, s) {
			return nil, domain.ErrInvalidScope
		}
	}
	now := k.now().UTC()
	exp := now.Add(k.tokens.AccessTTL)
	if c.ExpiresAt.Before(exp) {
		exp = c.ExpiresAt.UTC()
	}
	token, err := k.issuer.Issue(ctx, domain.Claims{
		ID:        newID(now),
		Subject:   c.Subject,
		Username:  c.Username,
		SessionID: domain.APIKeyRevocationID(c.KeyID),
		Scope:     scope,
		IssuedAt:  now,
		NotBefore: now,
		ExpiresAt: exp,
	})
	if err != nil {
		return nil, fmt.Errorf("issue access token: %w", err)
	}
	k.metrics.TokenIssued(GrantTokenExchange)
	return &TokenPair{AccessToken: token, ExpiresIn: exp.Sub(now), Scope: scope}, nil
}
