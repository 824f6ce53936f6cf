// Package safehttp is an HTTP client for requests whose URLs come from users
// (webhooks, .http files, httpRef downloads): it only speaks http and https,
// resolves a host once, refuses every address that is not plainly public
// (loopback, link-local, private, CGNAT, ULA, NAT64, 6to4, multicast, ...)
// unless the host is allow-listed, dials exactly the address it checked (no
// DNS rebinding), re-checks every redirect hop, and bounds time and body size.
package safehttp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Defaults applied by NewClient for zero Options fields.
const (
	DefaultTimeout      = 30 * time.Second
	DefaultMaxRedirects = 10
	DefaultMaxBody      = 1 << 20
)

// Options configures NewClient.
type Options struct {
	// AllowHosts lists destinations allowed even though they are private or
	// loopback: hostnames ("svc.internal"), host:port ("127.0.0.1:8080",
	// "[::1]:9000", "svc:80"), IPs ("10.1.2.3") or CIDRs ("10.0.0.0/8").
	// A hostname entry allows every address that name resolves to.
	AllowHosts []string
	// Timeout bounds a whole request including redirects and reading the
	// body (0: DefaultTimeout).
	Timeout time.Duration
	// MaxRedirects is the number of redirects followed (0: DefaultMaxRedirects,
	// negative: none; the 3xx response is returned as is).
	MaxRedirects int
	// MaxBody caps the response body: reading past it fails with
	// ErrBodyTooLarge (0: DefaultMaxBody, negative: no cap).
	MaxBody int64
}

// Errors returned (wrapped) by the client.
var (
	ErrDenied       = errors.New("destination denied")
	ErrScheme       = errors.New("only http and https URLs are allowed")
	ErrBodyTooLarge = errors.New("response body too large")
	ErrRedirects    = errors.New("too many redirects")
)

// NewClient returns a client enforcing o. It ignores proxy environment
// variables (a proxy would bypass the address checks).
func NewClient(o Options) *http.Client {
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	if o.MaxRedirects == 0 {
		o.MaxRedirects = DefaultMaxRedirects
	}
	if o.MaxBody == 0 {
		o.MaxBody = DefaultMaxBody
	}
	g := &guard{allow: parseAllow(o.AllowHosts), resolver: net.DefaultResolver}
	d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	tr := &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			ips, port, err := g.check(ctx, addr)
			if err != nil {
				return nil, err
			}
			var lastErr error
			for _, ip := range ips {
				c, err := d.DialContext(ctx, network, net.JoinHostPort(ip.String(), port))
				if err == nil {
					return c, nil
				}
				lastErr = err
			}
			return nil, lastErr
		},
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          10,
		IdleConnTimeout:       30 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: o.Timeout,
	}
	maxRedir := o.MaxRedirects
	return &http.Client{
		Timeout:   o.Timeout,
		Transport: &roundTripper{next: tr, maxBody: o.MaxBody},
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if maxRedir < 0 {
				return http.ErrUseLastResponse
			}
			if len(via) > maxRedir {
				return fmt.Errorf("%w (%d)", ErrRedirects, maxRedir)
			}
			if err := checkScheme(req.URL.Scheme); err != nil {
				return err
			}
			// The dialer checks the address of every hop; checking the
			// name here too gives an early, clear error.
			_, _, err := g.check(req.Context(), hostPort(req))
			return err
		},
	}
}

func hostPort(req *http.Request) string {
	host, port := req.URL.Hostname(), req.URL.Port()
	if port == "" {
		port = "80"
		if req.URL.Scheme == "https" {
			port = "443"
		}
	}
	return net.JoinHostPort(host, port)
}

func checkScheme(s string) error {
	if s != "http" && s != "https" {
		return fmt.Errorf("scheme %q: %w", s, ErrScheme)
	}
	return nil
}

type roundTripper struct {
	next    http.RoundTripper
	maxBody int64
}

func (rt *roundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := checkScheme(req.URL.Scheme); err != nil {
		return nil, err
	}
	resp, err := rt.next.RoundTrip(req)
	if err != nil || rt.maxBody < 0 {
		return resp, err
	}
	resp.Body = &cappedBody{rc: resp.Body, left: rt.maxBody}
	return resp, nil
}

type cappedBody struct {
	rc   io.ReadCloser
	left int64
}

func (c *cappedBody) Read(p []byte) (int, error) {
	if c.left <= 0 {
		// Find out whether there is more; a body of exactly the cap is fine.
		var one [1]byte
		n, err := c.rc.Read(one[:])
		if n > 0 {
			return 0, ErrBodyTooLarge
		}
		return 0, err
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.rc.Read(p)
	c.left -= int64(n)
	return n, err
}

func (c *cappedBody) Close() error { return c.rc.Close() }

// ReadLimited reads r to its end or to max bytes, whichever is first. If r
// had more than max bytes (or is a client body that hit its cap),
// truncated is true and b holds the first bytes read.
func ReadLimited(r io.Reader, max int64) (b []byte, truncated bool, err error) {
	if max < 0 {
		max = 0
	}
	b, err = io.ReadAll(io.LimitReader(r, max+1))
	if errors.Is(err, ErrBodyTooLarge) {
		if int64(len(b)) > max {
			b = b[:max]
		}
		return b, true, nil
	}
	if err != nil {
		return b, false, err
	}
	if int64(len(b)) > max {
		return b[:max], true, nil
	}
	return b, false, nil
}

type allowList struct {
	names     map[string]bool // lower-case hostnames
	hostPorts map[string]bool // "host:port", host lower-case, IPs normalised
	prefixes  []netip.Prefix  // IPs as /32 or /128
}

func parseAllow(entries []string) allowList {
	a := allowList{names: map[string]bool{}, hostPorts: map[string]bool{}}
	for _, e := range entries {
		e = strings.TrimSpace(e)
		if e == "" {
			continue
		}
		if p, err := netip.ParsePrefix(e); err == nil {
			a.prefixes = append(a.prefixes, p.Masked())
			continue
		}
		if ip, err := netip.ParseAddr(strings.Trim(e, "[]")); err == nil {
			ip = ip.Unmap()
			a.prefixes = append(a.prefixes, netip.PrefixFrom(ip, ip.BitLen()))
			continue
		}
		if h, p, err := net.SplitHostPort(e); err == nil {
			a.hostPorts[normHost(h)+":"+p] = true
			continue
		}
		a.names[normHost(e)] = true
	}
	return a
}

func normHost(h string) string {
	h = strings.TrimSuffix(strings.ToLower(strings.Trim(h, "[]")), ".")
	if ip, ok := ParseHostIP(h); ok {
		return ip.String()
	}
	return h
}

type guard struct {
	allow    allowList
	resolver *net.Resolver
}

// check resolves addr (host:port) once and returns the addresses to dial,
// all of which passed the policy.
func (g *guard) check(ctx context.Context, addr string) ([]netip.Addr, string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, "", fmt.Errorf("address %q: %w", addr, err)
	}
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if host == "" {
		return nil, "", fmt.Errorf("empty host: %w", ErrDenied)
	}
	var ips []netip.Addr
	if ip, ok := ParseHostIP(host); ok {
		ips = []netip.Addr{ip}
		host = ip.String()
	} else if looksNumeric(host) {
		return nil, "", fmt.Errorf("host %q: ambiguous numeric address: %w", host, ErrDenied)
	} else {
		res, err := g.resolver.LookupNetIP(ctx, "ip", host)
		if err != nil {
			return nil, "", fmt.Errorf("resolve %q: %w", host, err)
		}
		if len(res) == 0 {
			return nil, "", fmt.Errorf("resolve %q: no addresses", host)
		}
		for _, ip := range res {
			ips = append(ips, ip.Unmap().WithZone(""))
		}
	}
	if g.allow.names[host] || g.allow.hostPorts[host+":"+port] {
		return ips, port, nil
	}
	for _, ip := range ips {
		if g.allow.hasIP(ip) {
			continue
		}
		if why := Denied(ip); why != "" {
			return nil, "", fmt.Errorf("host %q address %s is %s: %w", host, ip, why, ErrDenied)
		}
	}
	return ips, port, nil
}

func (a allowList) hasIP(ip netip.Addr) bool {
	for _, p := range a.prefixes {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

type block struct {
	p   netip.Prefix
	why string
}

var blocks = func() []block {
	raw := []struct{ cidr, why string }{
		{"0.0.0.0/8", "unspecified/this-network"},
		{"10.0.0.0/8", "private (RFC1918)"},
		{"100.64.0.0/10", "shared address space (CGNAT)"},
		{"127.0.0.0/8", "loopback"},
		{"169.254.0.0/16", "link-local"},
		{"172.16.0.0/12", "private (RFC1918)"},
		{"192.0.0.0/24", "IETF protocol assignments"},
		{"192.0.2.0/24", "documentation"},
		{"192.88.99.0/24", "6to4 relay anycast"},
		{"192.168.0.0/16", "private (RFC1918)"},
		{"198.18.0.0/15", "benchmarking"},
		{"198.51.100.0/24", "documentation"},
		{"203.0.113.0/24", "documentation"},
		{"224.0.0.0/4", "multicast"},
		{"240.0.0.0/4", "reserved/broadcast"},
		{"::/128", "unspecified"},
		{"::1/128", "loopback"},
		{"::/96", "IPv4-compatible"},
		{"64:ff9b::/96", "NAT64"},
		{"64:ff9b:1::/48", "NAT64 (local use)"},
		{"100::/64", "discard-only"},
		{"2001::/32", "Teredo"},
		{"2001:db8::/32", "documentation"},
		{"2002::/16", "6to4"},
		{"fc00::/7", "unique local (ULA)"},
		{"fe80::/10", "link-local"},
		{"fec0::/10", "site-local"},
		{"ff00::/8", "multicast"},
	}
	out := make([]block, len(raw))
	for i, r := range raw {
		out[i] = block{netip.MustParsePrefix(r.cidr), r.why}
	}
	return out
}()

// Denied returns why ip may not be dialled without an allow-list entry, or
// "" for a public address. IPv4-mapped IPv6 addresses are judged as IPv4.
func Denied(ip netip.Addr) string {
	if !ip.IsValid() {
		return "invalid"
	}
	ip = ip.Unmap().WithZone("")
	for _, b := range blocks {
		if b.p.Contains(ip) {
			return b.why
		}
	}
	return ""
}

// ParseHostIP parses a URL host as an IP address the way the operating
// system's resolver would (inet_aton): besides dotted quads and IPv6 it
// accepts 1 to 4 parts, each decimal, octal (leading 0) or hex (0x), e.g.
// "2130706433", "0177.0.0.1", "0x7f.1". Brackets and a trailing dot are
// ignored.
func ParseHostIP(host string) (netip.Addr, bool) {
	host = strings.TrimSuffix(strings.Trim(host, "[]"), ".")
	if strings.Contains(host, ":") {
		ip, err := netip.ParseAddr(host)
		if err != nil {
			return netip.Addr{}, false
		}
		return ip.Unmap().WithZone(""), true
	}
	parts := strings.Split(host, ".")
	if len(parts) == 0 || len(parts) > 4 {
		return netip.Addr{}, false
	}
	vals := make([]uint64, len(parts))
	for i, p := range parts {
		v, ok := parseCNumber(p)
		if !ok {
			return netip.Addr{}, false
		}
		vals[i] = v
	}
	var n uint64
	last := len(vals) - 1
	for i := 0; i < last; i++ {
		if vals[i] > 255 {
			return netip.Addr{}, false
		}
		n |= vals[i] << (8 * (3 - i))
	}
	if vals[last] >= 1<<(8*(4-last)) {
		return netip.Addr{}, false
	}
	n |= vals[last]
	return netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}), true
}

func parseCNumber(s string) (uint64, bool) {
	if s == "" {
		return 0, false
	}
	base := 10
	switch {
	case len(s) > 1 && (s[:2] == "0x" || s[:2] == "0X"):
		base, s = 16, s[2:]
		if s == "" { // "0x" alone is 0 for inet_aton
			return 0, true
		}
	case len(s) > 1 && s[0] == '0':
		base, s = 8, s[1:]
	}
	v, err := strconv.ParseUint(s, base, 32)
	if err != nil {
		return 0, false
	}
	return v, true
}

// looksNumeric reports whether a host that did not parse as an IP ends in a
// numeric label (WHATWG "ends in a number"): such hosts are never resolved.
func looksNumeric(host string) bool {
	parts := strings.Split(host, ".")
	last := parts[len(parts)-1]
	if last == "" {
		return false
	}
	if strings.HasPrefix(last, "0x") || strings.HasPrefix(last, "0X") {
		return true
	}
	for _, c := range last {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
