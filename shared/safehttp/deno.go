package safehttp

import (
	"net/netip"
	"slices"
	"strings"
)

// deniedNames are hosts deno must not reach by name: loopback and the
// cloud and cluster metadata/control endpoints. deno checks its flags
// against the host as written, so these are listed besides the ranges.
var deniedNames = []string{"localhost", "metadata", "metadata.google.internal",
	"kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"}

// DenoNetFlags returns deno's network permission flags carrying this
// package's policy: every denied IPv4 range, IPv6 loopback and
// unspecified, and deniedNames go to --deny-net, except what allow
// (Options.AllowHosts entries) re-opens; with only set, --allow-net names
// just those hosts (plus allow), otherwise every other host.
//
// Limits of deno's flags, which docs/security.md repeats: deno matches the
// host as written, so a DNS name that resolves to a private address is not
// caught (the cluster's NetworkPolicy is the fence for that), IPv6 ranges
// cannot be expressed (deno takes no IPv6 CIDR), and an allowed IP is
// allowed on every port.
func DenoNetFlags(allow, only []string) []string {
	var allowIPs []netip.Prefix
	allowNames := map[string]bool{}
	for _, e := range allow {
		e = strings.TrimSpace(e)
		if e == "" {
			continue
		}
		if p, err := netip.ParsePrefix(e); err == nil {
			allowIPs = append(allowIPs, p.Masked())
			continue
		}
		host := e
		if h, _, ok := splitHostPort(e); ok {
			host = h
		}
		if ip, ok := ParseHostIP(host); ok {
			allowIPs = append(allowIPs, netip.PrefixFrom(ip.Unmap(), ip.Unmap().BitLen()))
			continue
		}
		allowNames[normHost(host)] = true
	}
	var deny []string
	for _, b := range blocks {
		if !b.p.Addr().Is4() {
			continue
		}
		for _, p := range subtract(b.p, allowIPs) {
			deny = append(deny, p.String())
		}
	}
	for _, ip := range []string{"::1", "::"} {
		a := netip.MustParseAddr(ip)
		if !slices.ContainsFunc(allowIPs, func(p netip.Prefix) bool { return p.Contains(a) }) {
			deny = append(deny, "["+ip+"]")
		}
	}
	for _, n := range deniedNames {
		if !allowNames[n] {
			deny = append(deny, n)
		}
	}
	flags := []string{"--allow-net"}
	if len(only) > 0 {
		hosts := []string{}
		for _, h := range append(append([]string(nil), only...), allow...) {
			if h = strings.TrimSpace(h); h != "" && !strings.Contains(h, "/") {
				hosts = append(hosts, h)
			}
		}
		flags[0] = "--allow-net=" + strings.Join(hosts, ",")
	}
	return append(flags, "--deny-net="+strings.Join(deny, ","))
}

// subtract returns p without the addresses in holes, as prefixes.
func subtract(p netip.Prefix, holes []netip.Prefix) []netip.Prefix {
	for _, h := range holes {
		if !h.Overlaps(p) {
			continue
		}
		if h.Bits() <= p.Bits() {
			return nil // p lies inside the hole
		}
		lo := netip.PrefixFrom(p.Addr(), p.Bits()+1)
		hi := netip.PrefixFrom(lastHalf(p), p.Bits()+1)
		return append(subtract(lo, holes), subtract(hi, holes)...)
	}
	return []netip.Prefix{p}
}

// lastHalf is the first address of p's upper half.
func lastHalf(p netip.Prefix) netip.Addr {
	b := p.Addr().AsSlice()
	bit := p.Bits()
	b[bit/8] |= 0x80 >> (bit % 8)
	a, _ := netip.AddrFromSlice(b)
	return a
}

// splitHostPort splits "host:port" and "[v6]:port"; ok is false without a port.
func splitHostPort(s string) (host, port string, ok bool) {
	if strings.HasPrefix(s, "[") {
		i := strings.Index(s, "]:")
		if i < 0 {
			return "", "", false
		}
		return s[1:i], s[i+2:], true
	}
	if strings.Count(s, ":") != 1 {
		return "", "", false
	}
	h, p, _ := strings.Cut(s, ":")
	return h, p, true
}
