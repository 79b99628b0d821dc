package usecase

import (
	"context"
	"crypto/sha256"
	"errors"
	"maps"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse-auth/gatehouse/domain"
)

// keyEntry is what the store said of a presented API key, as the caches
// hold it: the claims of a usable key, or the refusal of one that is
// unknown, revoked or expired.
type keyEntry struct {
	claims       domain.Claims
	revocationID string
	cachedAt     time.Time
	// refused is the refusal (domain.ErrTokenInvalid, ErrTokenExpired or
	// ErrTokenRevoked), nil for a usable key.
	refused error

	// lastTouch is the last use recorded (or read from the store), in
	// Unix nanoseconds; 0 for never.
	lastTouch atomic.Int64
}

// touchDue reports whether the key's last use should be recorded now, and
// if so marks it recorded: at most once per apiKeyTouchEvery per entry,
// whatever the number of concurrent requests (a compare-and-swap).
func (e *keyEntry) touchDue(now time.Time) bool {
	last := e.lastTouch.Load()
	if last != 0 && now.UnixNano()-last < int64(apiKeyTouchEvery) {
		return false
	}
	return e.lastTouch.CompareAndSwap(last, now.UnixNano())
}

// keyHash is the SHA-256 of a key: what the store indexes and the caches
// are keyed by (the key itself is not kept).
type keyHash = [sha256.Size]byte

// keyCache is a bounded cache of answers about API keys, keyed by the
// key's hash. An entry lives at most ttl; when the cache is full an
// arbitrary entry makes room.
type keyCache struct {
	ttl time.Duration
	max int

	mu sync.RWMutex
	m  map[keyHash]*keyEntry
}

func newKeyCache(max int, ttl time.Duration) *keyCache {
	if max <= 0 {
		max = 65536
	}
	if ttl <= 0 {
		ttl = 2 * time.Second
	}
	return &keyCache{ttl: ttl, max: max, m: make(map[keyHash]*keyEntry)}
}

func (c *keyCache) get(h keyHash, now time.Time) (*keyEntry, bool) {
	c.mu.RLock()
	e, ok := c.m[h]
	c.mu.RUnlock()
	if !ok || now.Sub(e.cachedAt) >= c.ttl || now.Before(e.cachedAt) {
		return nil, false
	}
	return e, true
}

func (c *keyCache) put(h keyHash, e *keyEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[h]; !ok && len(c.m) >= c.max {
		for old := range c.m {
			delete(c.m, old)
			break
		}
	}
	c.m[h] = e
}

// drop forgets the entry of h, if any.
func (c *keyCache) drop(h keyHash) {
	c.mu.Lock()
	delete(c.m, h)
	c.mu.Unlock()
}

// keyLoads merges the concurrent store reads of one key: however many
// requests present a key that is not cached, one reads it and the others
// wait for its answer. The zero value is ready to use.
type keyLoads struct {
	mu       sync.Mutex
	inFlight map[keyHash]*keyLoad
}

// keyLoad is one store read in flight; done closes once entry and err are
// set.
type keyLoad struct {
	done  chan struct{}
	entry *keyEntry
	err   error
}

// errLoadAbandoned is what the waiters of a read get when it ended without
// an answer (its load panicked).
var errLoadAbandoned = errors.New("api key read abandoned")

// do returns load's answer for the key with hash h, running load once for
// all the callers that ask meanwhile, with the context of the one that
// leads. A waiter whose own context ends stops waiting. Should the leader
// go away mid-read, the others read again rather than fail with its
// cancellation.
func (l *keyLoads) do(ctx context.Context, h keyHash, load func(context.Context) (*keyEntry, error)) (*keyEntry, error) {
	for {
		l.mu.Lock()
		if c, ok := l.inFlight[h]; ok {
			l.mu.Unlock()
			select {
			case <-c.done:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			if isCancellation(c.err) {
				continue
			}
			return c.entry, c.err
		}
		if l.inFlight == nil {
			l.inFlight = make(map[keyHash]*keyLoad)
		}
		c := &keyLoad{done: make(chan struct{}), err: errLoadAbandoned}
		l.inFlight[h] = c
		l.mu.Unlock()
		return l.lead(ctx, h, c, load)
	}
}

// lead runs load for the waiters of c and hands them its answer, even if
// load panics.
func (l *keyLoads) lead(ctx context.Context, h keyHash, c *keyLoad, load func(context.Context) (*keyEntry, error)) (*keyEntry, error) {
	defer func() {
		l.mu.Lock()
		delete(l.inFlight, h)
		l.mu.Unlock()
		close(c.done)
	}()
	c.entry, c.err = load(ctx)
	return c.entry, c.err
}

// isCancellation reports whether err is a context's end rather than an
// answer.
func isCancellation(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// touchQueue collects the keys used since the last flush, with their
// latest use.
type touchQueue struct {
	mu sync.Mutex
	m  map[string]time.Time
}

func newTouchQueue() *touchQueue { return &touchQueue{m: make(map[string]time.Time)} }

func (q *touchQueue) add(id string, at time.Time) {
	q.mu.Lock()
	q.m[id] = at
	q.mu.Unlock()
}

func (q *touchQueue) take() map[string]time.Time {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := maps.Clone(q.m)
	clear(q.m)
	return out
}
