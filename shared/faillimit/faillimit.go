// Package faillimit slows credential guessing: each client key has a token
// bucket of failed attempts (golang.org/x/time/rate). Callers ask Ready
// before they compare credentials, so a refused client costs nothing, and
// spend a token with Fail when the credentials were wrong. A bucket that has
// refilled completely is the same as no bucket, so memory is bounded by the
// clients that failed recently.
package faillimit

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Idle is how long an untouched bucket is kept at most (Keptn's API kept
// its per-client limiters 3 minutes).
const Idle = 3 * time.Minute

// sweepEvery bounds how often Fail walks the buckets.
const sweepEvery = time.Minute

// Limiter is safe for concurrent use. The zero value is not usable; call New.
type Limiter struct {
	limit rate.Limit
	burst int

	mu        sync.Mutex
	buckets   map[string]*bucket
	lastSweep time.Time
}

type bucket struct {
	lim  *rate.Limiter
	last time.Time
}

// New returns a limiter that allows burst failures in a row per key and
// then perSecond more each second.
func New(perSecond float64, burst int) *Limiter {
	return &Limiter{limit: rate.Limit(perSecond), burst: burst, buckets: map[string]*bucket{}}
}

// Ready reports whether key may make another attempt.
func (l *Limiter) Ready(key string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[key]
	return !ok || b.lim.TokensAt(now) >= 1
}

// Fail records a failed attempt of key.
func (l *Limiter) Fail(key string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweep(now)
	b, ok := l.buckets[key]
	if !ok {
		b = &bucket{lim: rate.NewLimiter(l.limit, l.burst)}
		l.buckets[key] = b
	}
	b.lim.AllowN(now, 1) // an empty bucket stays empty
	b.last = now
}

// Reset forgets key's failures.
func (l *Limiter) Reset(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.buckets, key)
}

// Len is the number of keys with a bucket.
func (l *Limiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}

func (l *Limiter) sweep(now time.Time) {
	if now.Sub(l.lastSweep) < sweepEvery {
		return
	}
	l.lastSweep = now
	for k, b := range l.buckets {
		if now.Sub(b.last) > Idle || b.lim.TokensAt(now) >= float64(l.burst) {
			delete(l.buckets, k)
		}
	}
}
