package api

import (
	"crypto/sha256"
	"crypto/subtle"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Auth answers, as Keptn's gateway words them.
const (
	msgUnauthenticated = "unauthenticated or invalid credentials"
	msgTooManyRequests = "too many requests"
)

// authenticator checks x-token against the configured tokens and limits
// failed attempts per client address.
type authenticator struct {
	hashes  [][sha256.Size]byte
	limiter *limiter
	hops    int
	now     func() time.Time
}

func newAuthenticator(cfg Config, now func() time.Time) *authenticator {
	a := &authenticator{hops: cfg.ForwardedHops, now: now,
		limiter: newLimiter(cfg.AuthRatePerSecond, cfg.AuthBurst)}
	for _, t := range cfg.tokens() {
		a.hashes = append(a.hashes, sha256.Sum256([]byte(t)))
	}
	return a
}

// check returns ok, or the status and message to answer with. A client
// whose bucket is empty gets 429 whether or not its token is right, so the
// answer tells nothing about a guess.
func (a *authenticator) check(r *http.Request) (status int, msg string, ok bool) {
	ip := clientIP(r, a.hops)
	now := a.now()
	if !a.limiter.ready(ip, now) {
		return http.StatusTooManyRequests, msgTooManyRequests, false
	}
	if a.valid(r.Header.Get("x-token")) {
		a.limiter.reset(ip)
		return 0, "", true
	}
	a.limiter.fail(ip, now)
	return http.StatusUnauthorized, msgUnauthenticated, false
}

// valid compares token with every configured token in constant time: the
// hashes have one length, and the loop never stops early.
func (a *authenticator) valid(token string) bool {
	if token == "" {
		return false
	}
	h := sha256.Sum256([]byte(token))
	match := 0
	for i := range a.hashes {
		match |= subtle.ConstantTimeCompare(h[:], a.hashes[i][:])
	}
	return match == 1
}

// clientIP is the connection's address, or with hops > 0 the hops-th
// X-Forwarded-For entry from the right (the one the outermost trusted proxy added).
func clientIP(r *http.Request, hops int) string {
	if hops > 0 {
		var all []string
		for _, h := range r.Header.Values("X-Forwarded-For") {
			for _, p := range strings.Split(h, ",") {
				if p = strings.TrimSpace(p); p != "" {
					all = append(all, p)
				}
			}
		}
		if len(all) >= hops {
			return all[len(all)-hops]
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// limiter is a token bucket per client for failed attempts. A bucket that
// has refilled completely is the same as no bucket, so sweeping those (and
// idle ones) loses nothing and keeps memory bounded by recent failures.
type limiter struct {
	mu        sync.Mutex
	rate      float64
	burst     float64
	buckets   map[string]*bucket
	lastSweep time.Time
}

type bucket struct {
	tokens float64
	last   time.Time
}

// limiterIdle is how long an untouched bucket is kept (Keptn: 3 minutes).
const limiterIdle = 3 * time.Minute

func newLimiter(rate float64, burst int) *limiter {
	return &limiter{rate: rate, burst: float64(burst), buckets: map[string]*bucket{}}
}

func (l *limiter) refill(b *bucket, now time.Time) {
	if el := now.Sub(b.last).Seconds(); el > 0 {
		b.tokens = min(l.burst, b.tokens+el*l.rate)
	}
	b.last = now
}

func (l *limiter) ready(ip string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[ip]
	if !ok {
		return true
	}
	l.refill(b, now)
	return b.tokens >= 1
}

func (l *limiter) fail(ip string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[ip]
	if !ok {
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[ip] = b
	}
	l.refill(b, now)
	b.tokens = max(0, b.tokens-1)
	l.sweep(now)
}

func (l *limiter) reset(ip string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.buckets, ip)
}

func (l *limiter) sweep(now time.Time) {
	if now.Sub(l.lastSweep) < time.Minute {
		return
	}
	l.lastSweep = now
	for ip, b := range l.buckets {
		if now.Sub(b.last) > limiterIdle {
			delete(l.buckets, ip)
			continue
		}
		l.refill(b, now)
		if b.tokens >= l.burst {
			delete(l.buckets, ip)
		}
	}
}

func (l *limiter) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}

func (a *api) authOK(w http.ResponseWriter, _ *http.Request) error {
	w.WriteHeader(http.StatusOK)
	return nil
}
