package api

import (
	"crypto/sha256"
	"crypto/subtle"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/slipwayhq/slipway/shared/faillimit"
)

// Auth answers, as Keptn's gateway words them.
const (
	msgUnauthenticated = "unauthenticated or invalid credentials"
	msgTooManyRequests = "too many requests"
)

// authenticator checks x-token against the configured tokens and limits
// failed attempts per client address.
type authenticator struct {
	tokens  tokenSet
	limiter *faillimit.Limiter
	hops    int
	trusted []netip.Prefix
	now     func() time.Time
}

func newAuthenticator(cfg Config, now func() time.Time) *authenticator {
	return &authenticator{hops: cfg.ForwardedHops, trusted: cfg.trustedProxies(), now: now,
		limiter: faillimit.New(cfg.AuthRatePerSecond, cfg.AuthBurst), tokens: newTokenSet(cfg.tokens())}
}

// check returns ok, or the status and message to answer with. A valid
// token is never refused: the limiter counts failures per client, and
// behind proxies a client may share its key with others (or forge it), so
// a bucket emptied by bad tokens must not lock out anyone who holds a good
// one (executors included). Tokens are long random strings; the limiter
// bounds the cost of failures, not the odds of a guess.
func (a *authenticator) check(r *http.Request) (status int, msg string, ok bool) {
	if a.tokens.valid(r.Header.Get("x-token")) {
		return 0, "", true
	}
	ip := clientKey(r, a.trusted, a.hops)
	now := a.now()
	if !a.limiter.Ready(ip, now) {
		return http.StatusTooManyRequests, msgTooManyRequests, false
	}
	a.limiter.Fail(ip, now)
	return http.StatusUnauthorized, msgUnauthenticated, false
}

// tokenSet holds hashes of accepted tokens.
type tokenSet [][sha256.Size]byte

func newTokenSet(tokens []string) tokenSet {
	var s tokenSet
	for _, t := range tokens {
		s = append(s, sha256.Sum256([]byte(t)))
	}
	return s
}

// valid compares token with every configured token in constant time: the
// hashes have one length, and the loop never stops early.
func (s tokenSet) valid(token string) bool {
	if token == "" {
		return false
	}
	h := sha256.Sum256([]byte(token))
	match := 0
	for i := range s {
		match |= subtle.ConstantTimeCompare(h[:], s[i][:])
	}
	return match == 1
}

// clientKey is the address the limiter keys on.
//
// With trusted proxies (API_TRUSTED_PROXIES, CIDRs), it walks the chain
// X-Forwarded-For + the connection's address from the right, past every
// trusted address, and takes the first one that is not: the client as the
// outermost trusted proxy saw it. This holds behind Knative whatever the
// number of hops, which varies (ingress gateway → activator, when it is in
// the path → queue-proxy, each appending its peer). When every entry is
// trusted (a client inside the cluster), the leftmost entry is used.
//
// Otherwise, with hops > 0, the hops-th entry from the right (a fixed
// chain); with neither, the connection's address.
func clientKey(r *http.Request, trusted []netip.Prefix, hops int) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	if len(trusted) == 0 && hops <= 0 {
		return host
	}
	var all []string
	for _, h := range r.Header.Values("X-Forwarded-For") {
		for _, p := range strings.Split(h, ",") {
			if p = strings.TrimSpace(p); p != "" {
				all = append(all, p)
			}
		}
	}
	if len(trusted) == 0 {
		if len(all) >= hops {
			return all[len(all)-hops]
		}
		return host
	}
	all = append(all, host)
	for i := len(all) - 1; i >= 0; i-- {
		if !isTrusted(all[i], trusted) {
			return all[i]
		}
	}
	return all[0]
}

func isTrusted(entry string, trusted []netip.Prefix) bool {
	// Envoy may write "ip:port" or "[v6]:port"; Go's proxies write the IP.
	if h, _, err := net.SplitHostPort(entry); err == nil {
		entry = h
	}
	ip, err := netip.ParseAddr(strings.Trim(entry, "[]"))
	if err != nil {
		return false
	}
	ip = ip.Unmap()
	for _, p := range trusted {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// HistoryTokenHeader carries the history-ingest token (API_HISTORY_TOKENS):
// the local broker sends it. A Knative Trigger cannot send headers, so the
// token may come as the query parameter "token" of the Trigger's URI
// instead (docs/deploy.md).
const HistoryTokenHeader = "X-Slipway-History-Token"

// historyAuth guards POST /internal/history with its own tokens, separate
// from the API's: whoever can reach the api Service could otherwise write
// any event into any project's history. No token configured refuses all.
func (a *api) historyAuth(h handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		t := r.Header.Get(HistoryTokenHeader)
		if t == "" {
			t = r.URL.Query().Get("token")
		}
		if !a.historyTokens.valid(t) {
			return errorf(http.StatusUnauthorized, msgUnauthenticated)
		}
		return h(w, r)
	}
}

func (a *api) authOK(w http.ResponseWriter, _ *http.Request) error {
	w.WriteHeader(http.StatusOK)
	return nil
}
