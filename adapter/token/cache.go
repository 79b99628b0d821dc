package token

import (
	"hash/maphash"
	"sync"
	"time"

	"github.com/gatehouse-auth/gatehouse/domain"
)

const maxShards = 16

// cache maps a whole verified token to its claims. It is sharded to keep
// lock contention low and bounded: a full shard drops an arbitrary entry
// (Go map iteration starts at a random slot) before inserting, which is
// O(1) and good enough for tokens that are re-presented many times within
// their short lifetime.
type cache struct {
	seed   maphash.Seed
	shards []cacheShard
	limit  int // entries per shard; sum over shards <= the configured size
}

// verified is a cached token: its claims and the window in which it is
// valid, with the verifier's leeway already applied.
type verified struct {
	claims    domain.Claims
	expired   time.Time // exp + leeway: expired from this instant on
	notBefore time.Time // nbf - leeway; zero without nbf
}

type cacheShard struct {
	mu  sync.RWMutex
	gen uint64 // ring removal count the entries were verified under
	m   map[string]*verified
}

// newCache returns a cache of at most size entries, or nil when size <= 0.
func newCache(size int) *cache {
	if size <= 0 {
		return nil
	}
	n := min(maxShards, size)
	c := &cache{seed: maphash.MakeSeed(), shards: make([]cacheShard, n), limit: size / n}
	for i := range c.shards {
		c.shards[i].m = make(map[string]*verified)
	}
	return c
}

func (c *cache) shard(token string) *cacheShard {
	return &c.shards[maphash.String(c.seed, token)%uint64(len(c.shards))]
}

// get returns the cached entry of token if it was stored under gen. The
// entry is shared and must not be modified.
func (c *cache) get(token string, gen uint64) *verified {
	s := c.shard(token)
	s.mu.RLock()
	cl := s.m[token]
	stale := s.gen != gen
	s.mu.RUnlock()
	if stale {
		s.reset(gen)
		return nil
	}
	return cl
}

// put stores the entry for token unless the ring lost a key since gen was
// read.
func (c *cache) put(token string, cl *verified, gen uint64) {
	s := c.shard(token)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gen != gen {
		if s.gen > gen {
			return // verified against a key set that has since shrunk
		}
		clear(s.m)
		s.gen = gen
	}
	if _, ok := s.m[token]; !ok && len(s.m) >= c.limit {
		for k := range s.m {
			delete(s.m, k)
			break
		}
	}
	s.m[token] = cl
}

// remove drops token, used when its cached entry has expired.
func (c *cache) remove(token string) {
	s := c.shard(token)
	s.mu.Lock()
	delete(s.m, token)
	s.mu.Unlock()
}

// reset empties the shard if it still predates gen.
func (s *cacheShard) reset(gen uint64) {
	s.mu.Lock()
	if s.gen < gen {
		clear(s.m)
		s.gen = gen
	}
	s.mu.Unlock()
}

// len returns the number of cached entries.
func (c *cache) len() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.RLock()
		n += len(s.m)
		s.mu.RUnlock()
	}
	return n
}
