package main

import (
	"math/bits"
	"time"
)

// Latencies are kept in a log-linear histogram: exact below 128 ns, then 64
// buckets per power of two, so any quantile is within 1.6% of the truth and
// memory stays fixed however long the run.
const (
	subBits    = 7
	subBuckets = 1 << subBits // 128
	halfSub    = subBuckets / 2
	maxShift   = 40 // values up to 2^47 ns (39 hours)
	numBuckets = subBuckets + maxShift*halfSub
)

// histogram counts latencies. It is not safe for concurrent use: each
// worker has its own and they are merged at the end.
type histogram struct {
	counts [numBuckets]uint64
	n      uint64
	sum    time.Duration
	max    time.Duration
}

// bucketOf returns the bucket index of v nanoseconds.
func bucketOf(v uint64) int {
	if v < subBuckets {
		return int(v)
	}
	shift := min(bits.Len64(v)-subBits, maxShift)
	top := min(int(v>>shift), subBuckets-1)
	return subBuckets + (shift-1)*halfSub + top - halfSub
}

// bucketValue returns the midpoint, in nanoseconds, of bucket i.
func bucketValue(i int) uint64 {
	if i < subBuckets {
		return uint64(i)
	}
	shift := (i-subBuckets)/halfSub + 1
	top := uint64((i-subBuckets)%halfSub + halfSub)
	return top<<shift + (uint64(1)<<shift)/2
}

// record adds one latency.
func (h *histogram) record(d time.Duration) {
	if d < 0 {
		d = 0
	}
	h.counts[bucketOf(uint64(d))]++
	h.n++
	h.sum += d
	h.max = max(h.max, d)
}

// merge adds o's counts to h.
func (h *histogram) merge(o *histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.sum += o.sum
	h.max = max(h.max, o.max)
}

// quantile returns the latency below which a fraction q of the samples lie
// (0 when empty). The top quantile is the exact maximum.
func (h *histogram) quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(q*float64(h.n) + 0.5)
	rank = min(max(rank, 1), h.n)
	if rank == h.n {
		return h.max
	}
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			return min(time.Duration(bucketValue(i)), h.max)
		}
	}
	return h.max
}

// mean returns the average latency.
func (h *histogram) mean() time.Duration {
	if h.n == 0 {
		return 0
	}
	return h.sum / time.Duration(h.n)
}
