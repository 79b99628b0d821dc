// Package storagetest is the contract suite for the storage ports. Every
// store (memory, gormstore on SQLite and Postgres) runs it from a short test
// of its own; a new store is done when it passes.
package storagetest

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/domain"
)

// Stores is everything a complete storage backend implements.
type Stores interface {
	domain.UserStore
	domain.SessionStore
	domain.ClientStore
	domain.KeyStore
	domain.AttemptStore
}

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

// wantErr fails t unless errors.Is(err, want); want nil means success.
func wantErr(t *testing.T, call string, err, want error) {
	t.Helper()
	switch {
	case want == nil && err != nil:
		t.Fatalf("%s = %v; want nil", call, err)
	case want != nil && !errors.Is(err, want):
		t.Fatalf("%s = %v; want %v", call, err, want)
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
	wantErr(t, fmt.Sprintf("CreateUser(%q)", id), s.CreateUser(ctx(t), u), nil)
	return u
}

// mustCreateSession stores a live session of userID (at stamp 1, as
// mustCreateUser makes users) at generation 0 whose first refresh token
// hash is hash(id+"/0").
func mustCreateSession(t *testing.T, s Stores, userID, id string) *domain.Session {
	t.Helper()
	sess := &domain.Session{
		ID:        id,
		UserID:    userID,
		UserStamp: 1,
		Scope:     []string{"openid", "profile"},
		CreatedAt: at(time.Minute),
		ExpiresAt: at(30 * 24 * time.Hour),
		RotatedAt: at(time.Minute),
	}
	first := domain.RefreshToken{Hash: hash(id + "/0"), SessionID: id, CreatedAt: at(time.Minute)}
	wantErr(t, fmt.Sprintf("CreateSession(%q)", id), s.CreateSession(ctx(t), sess, first), nil)
	return sess
}

// diff collects field mismatches for one record.
type diff []string

func (d *diff) add(field string, got, want any) {
	*d = append(*d, fmt.Sprintf("%s = %v; want %v", field, got, want))
}

func (d *diff) str(field, got, want string) {
	if got != want {
		d.add(field, fmt.Sprintf("%q", got), fmt.Sprintf("%q", want))
	}
}

func (d *diff) num(field string, got, want int64) {
	if got != want {
		d.add(field, got, want)
	}
}

func (d *diff) flag(field string, got, want bool) {
	if got != want {
		d.add(field, got, want)
	}
}

// time compares instants; a zero time must stay zero.
func (d *diff) time(field string, got, want time.Time) {
	if !got.Equal(want) || got.IsZero() != want.IsZero() {
		d.add(field, got, want)
	}
}

// bytes treats nil and empty as equal.
func (d *diff) bytes(field string, got, want []byte) {
	if string(got) != string(want) {
		d.add(field, fmt.Sprintf("%x", got), fmt.Sprintf("%x", want))
	}
}

// strs treats nil and empty as equal.
func (d *diff) strs(field string, got, want []string) {
	if len(got) != len(want) || strings.Join(got, "\x00") != strings.Join(want, "\x00") {
		d.add(field, fmt.Sprintf("%q", got), fmt.Sprintf("%q", want))
	}
}

func (d diff) String() string { return strings.Join(d, "\n\t") }

func userDiff(got, want *domain.User) string {
	var d diff
	d.str("ID", got.ID, want.ID)
	d.str("Username", got.Username, want.Username)
	d.str("PasswordHash", got.PasswordHash, want.PasswordHash)
	d.strs("Roles", got.Roles, want.Roles)
	d.flag("Disabled", got.Disabled, want.Disabled)
	d.num("Stamp", got.Stamp, want.Stamp)
	d.time("CreatedAt", got.CreatedAt, want.CreatedAt)
	d.time("UpdatedAt", got.UpdatedAt, want.UpdatedAt)
	return d.String()
}

func sessionDiff(got, want *domain.Session) string {
	var d diff
	d.str("ID", got.ID, want.ID)
	d.str("UserID", got.UserID, want.UserID)
	d.num("UserStamp", got.UserStamp, want.UserStamp)
	d.strs("Scope", got.Scope, want.Scope)
	d.time("CreatedAt", got.CreatedAt, want.CreatedAt)
	d.time("ExpiresAt", got.ExpiresAt, want.ExpiresAt)
	d.num("Generation", got.Generation, want.Generation)
	d.time("RotatedAt", got.RotatedAt, want.RotatedAt)
	d.bytes("SealedSuccessor", got.SealedSuccessor, want.SealedSuccessor)
	d.time("RevokedAt", got.RevokedAt, want.RevokedAt)
	return d.String()
}

func tokenDiff(got, want *domain.RefreshToken) string {
	var d diff
	d.bytes("Hash", got.Hash, want.Hash)
	d.str("SessionID", got.SessionID, want.SessionID)
	d.num("Generation", got.Generation, want.Generation)
	d.time("CreatedAt", got.CreatedAt, want.CreatedAt)
	return d.String()
}

func clientDiff(got, want *domain.Client) string {
	var d diff
	d.str("ID", got.ID, want.ID)
	d.str("Name", got.Name, want.Name)
	d.bytes("SecretHash", got.SecretHash, want.SecretHash)
	d.strs("Scopes", got.Scopes, want.Scopes)
	d.time("CreatedAt", got.CreatedAt, want.CreatedAt)
	return d.String()
}

func keyDiff(got, want *domain.SigningKey) string {
	var d diff
	d.str("ID", got.ID, want.ID)
	d.str("Algorithm", got.Algorithm, want.Algorithm)
	d.bytes("Private", got.Private, want.Private)
	d.time("CreatedAt", got.CreatedAt, want.CreatedAt)
	d.time("RetiredAt", got.RetiredAt, want.RetiredAt)
	return d.String()
}

func revocationDiff(got, want *domain.Revocation) string {
	var d diff
	d.str("SessionID", got.SessionID, want.SessionID)
	d.str("UserID", got.UserID, want.UserID)
	d.time("At", got.At, want.At)
	d.time("Expires", got.Expires, want.Expires)
	return d.String()
}
