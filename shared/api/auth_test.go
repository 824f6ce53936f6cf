package api

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestAuth(t *testing.T) {
	e := newEnv(t, Config{Tokens: []string{"alpha", "beta-longer-token"}, SecretToken: "gamma"})
	for _, tc := range []struct {
		name, token string
		status      int
	}{
		{"first token", "alpha", http.StatusOK},
		{"second token", "beta-longer-token", http.StatusOK},
		{"keptn SECRET_TOKEN", "gamma", http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantStatus(t, e.do(t, "POST", "/api/v1/auth", nil, "x-token", tc.token), tc.status)
		})
	}
	for _, tc := range []struct{ name, token string }{
		{"missing", ""}, {"wrong", "alphA"}, {"prefix", "alph"}, {"longer", "alpha2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, Config{Tokens: []string{"alpha"}})
			wantError(t, e.do(t, "GET", "/api/v1/metadata", nil, "x-token", tc.token), http.StatusUnauthorized,
				"unauthenticated or invalid credentials")
		})
	}
}

func TestAuth_NoTokensConfiguredRefusesAll(t *testing.T) {
	e := newEnv(t, Config{Tokens: []string{}})
	wantError(t, e.do(t, "POST", "/api/v1/auth", nil, "x-token", ""), http.StatusUnauthorized, "invalid credentials")
	if err := (Config{}).Validate(); err == nil {
		t.Fatal("Validate accepted a config without tokens")
	}
	if err := (Config{SecretToken: "x"}).Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestAuth_RateLimitsFailedAttempts(t *testing.T) {
	e := newEnv(t, Config{})
	bad := func() *httptest.ResponseRecorder { return e.do(t, "POST", "/api/v1/auth", nil, "x-token", "wrong") }
	good := func() *httptest.ResponseRecorder { return e.do(t, "POST", "/api/v1/auth", nil) }

	wantStatus(t, bad(), http.StatusUnauthorized)
	wantStatus(t, bad(), http.StatusUnauthorized)
	// Burst of 2 used up: the next attempt is refused whatever its token,
	// so a guess learns nothing.
	wantError(t, bad(), http.StatusTooManyRequests, "too many requests")
	wantError(t, good(), http.StatusTooManyRequests, "too many requests")

	// X-Forwarded-For is not trusted without configured hops.
	wantStatus(t, e.do(t, "POST", "/api/v1/auth", nil, "X-Forwarded-For", "198.51.100.7"), http.StatusTooManyRequests)
	// Another client is not affected.
	other := httptest.NewRequest("POST", "/api/v1/auth", nil)
	other.RemoteAddr = "198.51.100.9:5555"
	other.Header.Set("x-token", testToken)
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, other)
	wantStatus(t, rec, http.StatusOK)

	// One token refills per second.
	e.clock.Add(time.Second)
	wantStatus(t, bad(), http.StatusUnauthorized)
	wantStatus(t, bad(), http.StatusTooManyRequests)
	e.clock.Add(time.Second)
	// Success resets the bucket: two more failures are allowed again.
	wantStatus(t, good(), http.StatusOK)
	wantStatus(t, bad(), http.StatusUnauthorized)
	wantStatus(t, bad(), http.StatusUnauthorized)
	wantStatus(t, bad(), http.StatusTooManyRequests)
}

func TestLimiter_SweepsRefilledAndIdleBuckets(t *testing.T) {
	l := newLimiter(1, 2)
	now := t0
	l.fail("a", now)
	l.fail("b", now)
	l.fail("b", now)
	if l.size() != 2 {
		t.Fatalf("size %d", l.size())
	}
	// After a minute both buckets are full again, the same as no bucket.
	now = now.Add(time.Minute + time.Second)
	l.fail("c", now)
	if l.size() != 1 {
		t.Fatalf("after sweep size %d, want 1 (only c)", l.size())
	}
	if !l.ready("a", now) || l.ready("c", now) != true {
		t.Fatal("swept or fresh buckets must be ready")
	}
}

func TestClientIP(t *testing.T) {
	for _, tc := range []struct {
		name, remote, xff string
		hops              int
		want              string
	}{
		{"remote addr", "10.0.0.1:1", "203.0.113.1", 0, "10.0.0.1"},
		{"one trusted hop takes rightmost", "10.0.0.1:1", "1.1.1.1, 203.0.113.1", 1, "203.0.113.1"},
		{"two hops", "10.0.0.1:1", "1.1.1.1, 203.0.113.1, 10.0.0.2", 2, "203.0.113.1"},
		{"too few entries", "10.0.0.1:1", "", 1, "10.0.0.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tc.remote
			if tc.xff != "" {
				r.Header.Set("X-Forwarded-For", tc.xff)
			}
			if got := clientIP(r, tc.hops); got != tc.want {
				t.Fatalf("got %q want %q", got, tc.want)
			}
		})
	}
}
