package api

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
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
	// Burst of 2 used up: further bad tokens are refused before they are
	// looked at; a valid token is never refused.
	wantError(t, bad(), http.StatusTooManyRequests, "too many requests")
	wantStatus(t, good(), http.StatusOK)
	wantError(t, bad(), http.StatusTooManyRequests, "too many requests")

	// X-Forwarded-For is not trusted without configured proxies or hops.
	wantStatus(t, e.do(t, "POST", "/api/v1/auth", nil, "X-Forwarded-For", "198.51.100.7", "x-token", "wrong"), http.StatusTooManyRequests)
	// Another client is not affected.
	other := httptest.NewRequest("POST", "/api/v1/auth", nil)
	other.RemoteAddr = "198.51.100.9:5555"
	other.Header.Set("x-token", "wrong")
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, other)
	wantStatus(t, rec, http.StatusUnauthorized)

	// One token refills per second.
	e.clock.Add(time.Second)
	wantStatus(t, bad(), http.StatusUnauthorized)
	wantStatus(t, bad(), http.StatusTooManyRequests)
}

// Behind Knative every request reaches the API from the queue-proxy on
// loopback, with X-Forwarded-For written by the ingress (Kourier, Istio's
// or Contour's Envoy appends the client), the activator when it is in the
// path and the queue-proxy (each appends its peer). Keyed on the rightmost
// untrusted entry, one client's bad tokens never lock out another, and a
// valid token always passes.
func TestAuth_LimiterBehindKnative(t *testing.T) {
	cluster := []string{"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "127.0.0.0/8", "::1"}
	for name, tc := range map[string]struct {
		trusted  []string
		attacker string // X-Forwarded-For of the attacker's requests
		victim   string
	}{
		"kourier, activator in the path": {cluster,
			"203.0.113.7, 10.8.0.12, 10.8.1.5", "198.51.100.20, 10.8.0.12, 10.8.1.5"},
		"kourier, activator not in the path": {cluster,
			"203.0.113.7, 10.8.0.12", "198.51.100.20, 10.8.0.12"},
		"contour envoy writes ip:port": {cluster,
			"203.0.113.7, 10.8.0.40:8080, 10.8.1.5", "198.51.100.20, 10.8.0.40:8080, 10.8.1.5"},
		"istio gateway and sidecars": {cluster,
			"203.0.113.7, 10.8.2.3, 10.8.1.5", "198.51.100.20, 10.8.2.3, 10.8.1.5"},
		"attacker forges X-Forwarded-For": {cluster,
			"198.51.100.20, 203.0.113.7, 10.8.0.12, 10.8.1.5", "198.51.100.20, 10.8.0.12, 10.8.1.5"},
		"cloud load balancer in front": {append([]string{"35.191.0.0/16", "130.211.0.0/22"}, cluster...),
			"203.0.113.7, 35.191.4.4, 10.8.0.12, 10.8.1.5", "198.51.100.20, 35.191.4.4, 10.8.0.12, 10.8.1.5"},
		"in-cluster clients": {cluster,
			"10.8.3.3, 10.8.1.5", "10.8.3.4, 10.8.1.5"},
	} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, Config{TrustedProxies: tc.trusted})
			req := func(xff, token string) *httptest.ResponseRecorder {
				r := httptest.NewRequest("POST", "/api/v1/auth", nil)
				r.RemoteAddr = "127.0.0.1:40000" // the queue-proxy
				r.Header.Set("X-Forwarded-For", xff)
				r.Header.Set("x-token", token)
				rec := httptest.NewRecorder()
				e.h.ServeHTTP(rec, r)
				return rec
			}
			for range 5 {
				req(tc.attacker, "guess")
			}
			wantStatus(t, req(tc.attacker, "guess"), http.StatusTooManyRequests)
			wantStatus(t, req(tc.victim, "typo"), http.StatusUnauthorized)
			wantStatus(t, req(tc.victim, testToken), http.StatusOK)
			wantStatus(t, req(tc.attacker, testToken), http.StatusOK)
		})
	}
}

func TestClientKey(t *testing.T) {
	trusted := (Config{TrustedProxies: []string{"10.0.0.0/8", "127.0.0.1"}}).trustedProxies()
	for name, tc := range map[string]struct {
		remote, xff string
		trusted     []netip.Prefix
		hops        int
		want        string
	}{
		"remote addr":                     {"10.0.0.1:1", "203.0.113.1", nil, 0, "10.0.0.1"},
		"one trusted hop takes rightmost": {"10.0.0.1:1", "1.1.1.1, 203.0.113.1", nil, 1, "203.0.113.1"},
		"two hops":                        {"10.0.0.1:1", "1.1.1.1, 203.0.113.1, 10.0.0.2", nil, 2, "203.0.113.1"},
		"too few entries":                 {"10.0.0.1:1", "", nil, 1, "10.0.0.1"},
		"trusted skips proxies":           {"127.0.0.1:1", "1.1.1.1, 203.0.113.1, 10.0.0.2, 10.0.0.3", trusted, 0, "203.0.113.1"},
		"trusted beats hops":              {"127.0.0.1:1", "203.0.113.1, 10.0.0.2", trusted, 3, "203.0.113.1"},
		"untrusted connection":            {"198.51.100.1:1", "203.0.113.1", trusted, 0, "198.51.100.1"},
		"all trusted takes leftmost":      {"127.0.0.1:1", "10.1.1.1, 10.0.0.2", trusted, 0, "10.1.1.1"},
		"garbage entry is untrusted":      {"127.0.0.1:1", "1.1.1.1, nonsense, 10.0.0.2", trusted, 0, "nonsense"},
		"mapped IPv6 proxy is trusted":    {"127.0.0.1:1", "203.0.113.1, ::ffff:10.0.0.2", trusted, 0, "203.0.113.1"},
	} {
		t.Run(name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tc.remote
			if tc.xff != "" {
				r.Header.Set("X-Forwarded-For", tc.xff)
			}
			if got := clientKey(r, tc.trusted, tc.hops); got != tc.want {
				t.Fatalf("got %q want %q", got, tc.want)
			}
		})
	}
	if err := (Config{SecretToken: "x", TrustedProxies: []string{"10.0.0.0/8", "bogus"}}).Validate(); err == nil {
		t.Fatal("Validate accepted a bogus trusted proxy")
	}
}
