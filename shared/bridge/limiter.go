package bridge

import (
	"net"
	"net/http"
	"sync"
	"time"
)

// failLimiter slows basic-auth guessing: a token bucket of failed sign-ins
// per client address. A client whose bucket is empty is refused (429)
// before its credentials are compared, so a guess costs a token whether or
// not it is right; a full bucket is the same as none, so those are dropped.
type failLimiter struct {
	mu        sync.Mutex
	rate      float64 // tokens per second
	burst     float64
	buckets   map[string]*failBucket
	lastSweep time.Time
}

type failBucket struct {
	tokens float64
	last   time.Time
}

// Defaults: ten wrong passwords in a row, then one every two seconds.
const (
	failBurst = 10
	failRate  = 0.5
)

func newFailLimiter(rate float64, burst int) *failLimiter {
	return &failLimiter{rate: rate, burst: float64(burst), buckets: map[string]*failBucket{}}
}

func (l *failLimiter) refill(b *failBucket, now time.Time) {
	if el := now.Sub(b.last).Seconds(); el > 0 {
		b.tokens = min(l.burst, b.tokens+el*l.rate)
	}
	b.last = now
}

// ready reports whether the client may try to sign in.
func (l *failLimiter) ready(client string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[client]
	if !ok {
		return true
	}
	l.refill(b, now)
	return b.tokens >= 1
}

// fail takes a token for a failed attempt.
func (l *failLimiter) fail(client string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.lastSweep) > time.Minute {
		for k, b := range l.buckets {
			if l.refill(b, now); b.tokens >= l.burst {
				delete(l.buckets, k)
			}
		}
		l.lastSweep = now
	}
	b, ok := l.buckets[client]
	if !ok {
		b = &failBucket{tokens: l.burst, last: now}
		l.buckets[client] = b
	}
	l.refill(b, now)
	b.tokens = max(0, b.tokens-1)
}

// clientAddr is the connection's address (the Bridge trusts no forwarding
// header: behind a proxy all clients share its bucket, which errs on the
// side of slowing guesses).
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
