// Package memory is an in-memory implementation of the storage ports: maps
// guarded by one mutex. It is production-grade for a single process that may
// lose its state on restart, and it is the default test double of the use
// cases. Every method copies values in and out, so callers never share
// memory with the store.
package memory

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/gatehouse-auth/gatehouse/domain"
)

// Store keeps users, sessions, refresh-token hashes, the revocation feed,
// clients, signing keys, auth events, webhooks and their outbox, and second
// factors with the logins waiting for them, in memory.
// A change and its events are written under one hold of the lock, after
// every check that could refuse the change (events included): a refused
// change writes nothing.
type Store struct {
	mu sync.Mutex

	users     map[string]domain.User
	usernames map[string]string // normalised username -> user id

	sessions     map[string]domain.Session
	userSessions map[string]map[string]struct{} // user id -> session ids
	tokens       map[string]domain.RefreshToken // string(hash) -> record
	// sessionTokens lists the token hashes of each session so that deleting
	// a user removes them without scanning every token.
	sessionTokens map[string][]string

	feed    []domain.Revocation // ascending Seq
	lastSeq int64

	apiKeys     map[string]domain.APIKey       // id -> key
	apiKeyHash  map[string]string              // string(hash) -> key id
	userAPIKeys map[string]map[string]struct{} // user id -> key ids

	clients map[string]domain.Client
	keys    map[string]domain.SigningKey

	attempts map[string]domain.Attempt

	events     map[string]domain.Event   // id -> event
	webhooks   map[string]domain.Webhook // id -> webhook
	deliveries map[string]*delivery      // id -> outbox row

	totp          map[string]domain.TOTP          // user id -> factor
	recoveryCodes map[string]map[string]time.Time // user id -> string(hash) -> used at (zero: unused)
	mfaTokens     map[string]domain.MFAToken      // string(hash) -> token
}

// New returns an empty store.
func New() *Store {
	return &Store{
		users:         make(map[string]domain.User),
		usernames:     make(map[string]string),
		sessions:      make(map[string]domain.Session),
		userSessions:  make(map[string]map[string]struct{}),
		tokens:        make(map[string]domain.RefreshToken),
		sessionTokens: make(map[string][]string),
		apiKeys:       make(map[string]domain.APIKey),
		apiKeyHash:    make(map[string]string),
		userAPIKeys:   make(map[string]map[string]struct{}),
		clients:       make(map[string]domain.Client),
		keys:          make(map[string]domain.SigningKey),
		attempts:      make(map[string]domain.Attempt),
		events:        make(map[string]domain.Event),
		webhooks:      make(map[string]domain.Webhook),
		deliveries:    make(map[string]*delivery),
		totp:          make(map[string]domain.TOTP),
		recoveryCodes: make(map[string]map[string]time.Time),
		mfaTokens:     make(map[string]domain.MFAToken),
	}
}

// Store is a complete storage backend.
var _ domain.Store = (*Store)(nil)

// Ping always succeeds unless ctx is done: memory is always reachable.
func (s *Store) Ping(ctx context.Context) error { return ctx.Err() }

// get returns a copy of m[k], read under the lock, or ErrNotFound named by
// what: the shape of every lookup by key.
func get[K comparable, V any](ctx context.Context, s *Store, m map[K]V, k K, clone func(V) V, what string) (*V, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := m[k]
	if !ok {
		return nil, fmt.Errorf("%s: %w", what, domain.ErrNotFound)
	}
	v = clone(v)
	return &v, nil
}

// cloneStrings copies ss; empty becomes nil so every store answers alike.
func cloneStrings(ss []string) []string {
	if len(ss) == 0 {
		return nil
	}
	return slices.Clone(ss)
}

// cloneBytes copies b; empty becomes nil.
func cloneBytes(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return slices.Clone(b)
}

func cloneUser(u domain.User) domain.User {
	u.Roles = cloneStrings(u.Roles)
	return u
}

func cloneSession(s domain.Session) domain.Session {
	s.Scope = cloneStrings(s.Scope)
	s.SealedSuccessor = cloneBytes(s.SealedSuccessor)
	s.AMR = cloneStrings(s.AMR)
	return s
}

func cloneToken(t domain.RefreshToken) domain.RefreshToken {
	t.Hash = cloneBytes(t.Hash)
	return t
}

func cloneClient(c domain.Client) domain.Client {
	c.SecretHash = cloneBytes(c.SecretHash)
	c.Scopes = cloneStrings(c.Scopes)
	return c
}

func cloneKey(k domain.SigningKey) domain.SigningKey {
	k.Private = cloneBytes(k.Private)
	return k
}

func cloneAPIKey(k domain.APIKey) domain.APIKey {
	k.Scope = cloneStrings(k.Scope)
	k.Hash = cloneBytes(k.Hash)
	return k
}
