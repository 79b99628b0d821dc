// Package storagetest is the contract suite for the storage ports. Every
// store (memory, gormstore on SQLite and Postgres) runs it from a short test
// of its own; a new store is done when it passes.
package storagetest

import (
	"context"
	"crypto/sha256"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/gatehouse-auth/gatehouse/domain"
	"github.com/gatehouse-auth/gatehouse/internal/testkit"
)

// Stores is the port the suite tests: a complete storage backend.
type Stores = domain.Store

// factory returns a fresh, empty store for one subtest. It registers its own
// cleanup on t.
type factory func(t *testing.T) Stores

// Run runs every behavioural promise of the storage ports against stores
// made by newStores. Each leaf subtest gets its own fresh store and runs in
// parallel with the others.
func Run(t *testing.T, newStores func(t *testing.T) Stores) {
	t.Helper()
	groups := []struct {
		name string
		run  func(*testing.T, factory)
	}{
		{"users", testUsers},
		{"user changes", testUserChanges},
		{"sessions", testSessions},
		{"rotation", testRotation},
		{"refresh grant", testRefreshGrant},
		{"revocation", testRevocation},
		{"session pruning", testPruneSessions},
		{"clients", testClients},
		{"keys", testKeys},
		{"attempts", testAttempts},
		{"api keys", testAPIKeys},
		{"events", testEvents},
		{"webhooks", testWebhooks},
		{"mfa reads", testMFAReads},
		{"mfa", testMFA},
		{"mfa tokens", testMFATokens},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			t.Parallel()
			g.run(t, newStores)
		})
	}
}

// base is the suite's reference time. Stores may keep only microseconds
// (Postgres), so every time the suite writes is truncated to them.
var base = time.Date(2031, time.March, 4, 5, 6, 7, 891234000, time.UTC)

// at returns base shifted by d, in UTC, truncated to microseconds.
func at(d time.Duration) time.Time { return base.Add(d).UTC().Truncate(time.Microsecond) }

// elsewhere returns t in a non-UTC zone: stores must compare instants, not
// wall clocks.
func elsewhere(t time.Time) time.Time { return t.In(time.FixedZone("UTC+5:30", 5*3600+1800)) }

// hash returns a deterministic refresh-token hash for name.
func hash(name string) []byte {
	h := sha256.Sum256([]byte(name))
	return h[:]
}

// covers fails t when the struct v points to leaves an exported field at its
// zero value, other than those named in zeroOK. Round-trip tests call it on
// their fixtures, so a field added to a domain type must be given a value
// there, and mismatch then fails every store that does not keep it.
func covers(t *testing.T, v any, zeroOK ...string) {
	t.Helper()
	rv := reflect.Indirect(reflect.ValueOf(v))
	for i := range rv.NumField() {
		f := rv.Type().Field(i)
		if f.IsExported() && rv.Field(i).IsZero() && !slices.Contains(zeroOK, f.Name) {
			t.Errorf("fixture %s leaves %s zero: give it a value so every store must round-trip it", rv.Type(), f.Name)
		}
	}
}

// ctx returns the test's context.
func ctx(t *testing.T) context.Context { return t.Context() }

// mustCreateUser stores a user with the given id and username.
func mustCreateUser(t *testing.T, s Stores, id, username string) *domain.User {
	t.Helper()
	u := &domain.User{
		ID:           id,
		Username:     username,
		PasswordHash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA",
		Stamp:        1,
		CreatedAt:    at(0),
		UpdatedAt:    at(0),
	}
	testkit.WantErr(t, fmt.Sprintf("CreateUser(%q)", id), s.CreateUser(ctx(t), u, nil), nil)
	return u
}

// mustCreateSession stores a live session of userID (at stamp 1, as
// mustCreateUser makes users) at generation 0 whose first refresh token
// hash is hash(id+"/0").
func mustCreateSession(t *testing.T, s Stores, userID, id string) *domain.Session {
	t.Helper()
	sess := &domain.Session{
		ID:         id,
		UserID:     userID,
		UserStamp:  1,
		Scope:      []string{"openid", "profile"},
		CreatedAt:  at(time.Minute),
		ExpiresAt:  at(30 * 24 * time.Hour),
		RotatedAt:  at(time.Minute),
		LastUsedAt: at(time.Minute),
		IP:         "192.0.2.7",
		UserAgent:  "Mozilla/5.0 (X11; Linux x86_64) storagetest/" + id,
		AMR:        []string{domain.AMRPassword},
		ACR:        domain.ACRAAL1,
	}
	first := domain.RefreshToken{Hash: hash(id + "/0"), SessionID: id, CreatedAt: at(time.Minute)}
	testkit.WantErr(t, fmt.Sprintf("CreateSession(%q)", id), s.CreateSession(ctx(t), sess, first), nil)
	return sess
}

// mismatch reports how got differs from want as cmp.Diff's "-want +got"
// lines, or "" when they hold the same record. Every field takes part, so a
// field that a store fails to keep fails the suite as soon as it is added to
// the domain type. The suite's two rules are options, not omissions:
//   - times are instants: a store may return another location (SQL hands
//     back UTC or the server's zone), never another moment, and a zero time
//     stays zero;
//   - a nil slice equals an empty one: SQL cannot tell them apart and no
//     caller may rely on the difference.
//
// A field only takes part if some fixture sets it: round-trip tests pass
// their fixtures to covers, which insists on that.
//
// extra adds a rule for one comparison, such as ignoring a store-assigned
// field that is checked on its own.
func mismatch(got, want any, extra ...cmp.Option) string {
	return cmp.Diff(want, got, cmp.Comparer(time.Time.Equal), cmpopts.EquateEmpty(), cmp.Options(extra))
}
