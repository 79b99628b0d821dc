// Package password implements domain.PasswordHasher with argon2id in PHC
// string form, accepts imported bcrypt hashes, and bounds how many hashes
// run at once so that a login flood cannot exhaust memory.
package password

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"runtime"
	"strings"

	"go.opentelemetry.io/otel/codes"
	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"

	"github.com/gatehouse-auth/gatehouse/domain"
)

// MaxBcryptCost is the highest bcrypt cost Verify accepts from a stored
// hash. Cost 16 takes several seconds; anything above is refused rather than
// letting one imported row tie up a hashing slot for minutes.
const MaxBcryptCost = 16

// Hasher hashes and verifies passwords. It is safe for concurrent use.
type Hasher struct {
	params    Params
	paramsErr error
	// admit holds one token per admitted caller (running or waiting); run
	// holds one per caller that is hashing.
	admit chan struct{}
	run   chan struct{}
	// beforeWork, when set by tests, runs after a caller got a hashing slot
	// and before the hash is computed.
	beforeWork func()
}

var _ domain.PasswordHasher = (*Hasher)(nil)

// New returns a Hasher that produces argon2id hashes with p. At most
// concurrency hashes (Hash or Verify) run at once and at most queue more
// callers wait for a slot; a caller arriving when the queue is full gets
// domain.ErrOverloaded at once. concurrency <= 0 means runtime.NumCPU();
// queue <= 0 means 4*concurrency. Peak memory is about
// concurrency * p.Memory KiB. If p is invalid (see Params.Validate), Hash
// returns an error; callers should validate p at start-up.
func New(p Params, concurrency, queue int) *Hasher {
	if concurrency <= 0 {
		concurrency = runtime.NumCPU()
	}
	if queue <= 0 {
		queue = 4 * concurrency
	}
	h := &Hasher{
		params: p,
		admit:  make(chan struct{}, concurrency+queue),
		run:    make(chan struct{}, concurrency),
	}
	if err := p.Validate(); err != nil {
		h.paramsErr = fmt.Errorf("argon2 params: %w", err)
	}
	return h
}

// QueueDepth reports how many callers are hashing or waiting to, for metrics.
func (h *Hasher) QueueDepth() int { return len(h.admit) }

// Saturated reports whether a caller arriving now would be refused with
// domain.ErrOverloaded, so a login flood can be shed before any other work.
func (h *Hasher) Saturated() bool { return len(h.admit) >= cap(h.admit) }

// Hash returns the argon2id PHC string of password. It returns a
// *domain.ValidationError for a password over domain.PasswordMaxBytes,
// domain.ErrOverloaded when the queue is full, or the context's error.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	if err := domain.CheckPasswordSize(password); err != nil {
		return "", err
	}
	if h.paramsErr != nil {
		return "", fmt.Errorf("hash password: %w", h.paramsErr)
	}
	if err := h.acquire(ctx); err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	defer h.release()
	span := startWork(ctx, spanHash, algArgon2id)
	salt := make([]byte, h.params.SaltLen)
	_, _ = rand.Read(salt) // crypto/rand.Read never fails since Go 1.24
	key := argon2.IDKey([]byte(password), salt, h.params.Time, h.params.Memory, h.params.Threads, h.params.KeyLen)
	span.End()
	return EncodePHC(h.params, salt, key), nil
}

// Verify reports whether password matches stored, an argon2id PHC string or
// a bcrypt hash ($2a$, $2b$, $2y$). rehash is true when password matches
// and stored should be replaced by a fresh Hash: bcrypt, or argon2id with
// parameters other than the Hasher's. A stored string that cannot be parsed
// yields an error wrapping ErrMalformedHash. A password over
// domain.PasswordMaxBytes never matches and is not hashed.
func (h *Hasher) Verify(ctx context.Context, stored, password string) (ok, rehash bool, err error) {
	if strings.HasPrefix(stored, "$2") {
		return h.verifyBcrypt(ctx, stored, password)
	}
	p, salt, want, err := ParsePHC(stored)
	if err != nil {
		return false, false, fmt.Errorf("verify password: %w", err)
	}
	if len(password) > domain.PasswordMaxBytes {
		return false, false, nil
	}
	if err := h.acquire(ctx); err != nil {
		return false, false, fmt.Errorf("verify password: %w", err)
	}
	defer h.release()
	span := startWork(ctx, spanVerify, algArgon2id)
	got := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	span.End()
	if subtle.ConstantTimeCompare(got, want) != 1 {
		return false, false, nil
	}
	return true, p != h.params, nil
}

// verifyBcrypt checks an imported bcrypt hash. A match always asks for a
// rehash, which moves the user to argon2id on their next login.
func (h *Hasher) verifyBcrypt(ctx context.Context, stored, password string) (ok, rehash bool, err error) {
	if len(stored) != 60 || (stored[2] != 'a' && stored[2] != 'b' && stored[2] != 'y') || stored[3] != '$' {
		return false, false, fmt.Errorf("verify password: %w: unsupported bcrypt variant", ErrMalformedHash)
	}
	cost, err := bcrypt.Cost([]byte(stored))
	if err != nil || cost > MaxBcryptCost {
		return false, false, fmt.Errorf("verify password: %w: bad bcrypt cost", ErrMalformedHash)
	}
	if len(password) > domain.PasswordMaxBytes {
		return false, false, nil
	}
	if err := h.acquire(ctx); err != nil {
		return false, false, fmt.Errorf("verify password: %w", err)
	}
	defer h.release()
	span := startWork(ctx, spanVerify, algBcrypt)
	err = bcrypt.CompareHashAndPassword([]byte(stored), []byte(password))
	span.End()
	switch {
	case err == nil:
		return true, true, nil
	case errors.Is(err, bcrypt.ErrMismatchedHashAndPassword):
		return false, false, nil
	default:
		return false, false, fmt.Errorf("verify password: %w: bad bcrypt hash", ErrMalformedHash)
	}
}

// acquire admits the caller and waits for a hashing slot. It fails fast
// with domain.ErrOverloaded when the queue is full and gives up when ctx is
// done while waiting. The wait is the span password.queue_wait: how deep
// the queue was on arrival, whether it was full, and why it failed.
func (h *Hasher) acquire(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	_, span := tracer.Start(ctx, spanQueueWait)
	defer span.End()
	depth := len(h.admit)
	select {
	case h.admit <- struct{}{}:
		queueAttrs(span, depth, false)
	default:
		queueAttrs(span, depth, true)
		span.SetStatus(codes.Error, "overloaded")
		return domain.ErrOverloaded
	}
	select {
	case h.run <- struct{}{}:
	case <-ctx.Done():
		<-h.admit
		span.SetStatus(codes.Error, "canceled")
		return ctx.Err()
	}
	// select picks at random when both cases are ready, so look again
	// before starting the expensive work.
	if err := ctx.Err(); err != nil {
		h.release()
		span.SetStatus(codes.Error, "canceled")
		return err
	}
	if h.beforeWork != nil {
		h.beforeWork()
	}
	return nil
}

// release frees the caller's hashing slot and queue place.
func (h *Hasher) release() {
	<-h.run
	<-h.admit
}
