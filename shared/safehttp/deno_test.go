package safehttp

import (
	"net/netip"
	"strings"
	"testing"
)

func denyList(t *testing.T, flags []string) []string {
	t.Helper()
	for _, f := range flags {
		if v, ok := strings.CutPrefix(f, "--deny-net="); ok {
			return strings.Split(v, ",")
		}
	}
	t.Fatalf("no --deny-net in %q", flags)
	return nil
}

// denies reports whether a --deny-net list covers ip.
func denies(list []string, ip string) bool {
	a := netip.MustParseAddr(ip)
	for _, e := range list {
		if p, err := netip.ParsePrefix(e); err == nil && p.Contains(a) {
			return true
		}
		if strings.Trim(e, "[]") == ip {
			return true
		}
	}
	return false
}

func TestDenoNetFlags(t *testing.T) {
	for name, tc := range map[string]struct {
		allow, only       []string
		wantAllow         string
		denied, notDenied []string
		deniedNames       []string
	}{
		"default": {
			wantAllow:   "--allow-net",
			denied:      []string{"169.254.169.254", "127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "100.64.0.1", "0.0.0.0", "::1"},
			notDenied:   []string{"8.8.8.8", "1.1.1.1"},
			deniedNames: []string{"localhost", "metadata.google.internal", "kubernetes.default.svc"},
		},
		"an allowed private host:port re-opens only its address": {
			allow:     []string{"127.0.0.1:8080"},
			wantAllow: "--allow-net",
			denied:    []string{"127.0.0.2", "127.255.255.255", "127.0.0.0", "169.254.169.254"},
			notDenied: []string{"127.0.0.1"},
		},
		"an allowed CIDR and name": {
			allow:       []string{"10.0.0.0/16", "localhost"},
			wantAllow:   "--allow-net",
			denied:      []string{"10.1.0.1", "169.254.169.254"},
			notDenied:   []string{"10.0.200.1"},
			deniedNames: []string{"metadata.google.internal"},
		},
		"only lists hosts": {
			only:      []string{"api.example.com", "registry.example.com:443"},
			allow:     []string{"10.2.3.4"},
			wantAllow: "--allow-net=api.example.com,registry.example.com:443,10.2.3.4",
			denied:    []string{"169.254.169.254", "127.0.0.1"},
			notDenied: []string{"10.2.3.4"},
		},
	} {
		t.Run(name, func(t *testing.T) {
			flags := DenoNetFlags(tc.allow, tc.only)
			if flags[0] != tc.wantAllow {
				t.Fatalf("allow flag %q, want %q", flags[0], tc.wantAllow)
			}
			deny := denyList(t, flags)
			for _, ip := range tc.denied {
				if !denies(deny, ip) {
					t.Errorf("%s not denied by %v", ip, deny)
				}
			}
			for _, ip := range tc.notDenied {
				if denies(deny, ip) {
					t.Errorf("%s denied by %v", ip, deny)
				}
			}
			for _, n := range tc.deniedNames {
				if !strings.Contains(","+strings.Join(deny, ",")+",", ","+n+",") {
					t.Errorf("%s not denied", n)
				}
			}
			for _, e := range deny {
				if strings.Contains(e, ":") && !strings.HasPrefix(e, "[") {
					t.Errorf("deno refuses an unbracketed IPv6 entry %q", e)
				}
			}
		})
	}
}
