package safehttp

import (
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestDeniedDestinations(t *testing.T) {
	c := NewClient(Options{Timeout: 5 * time.Second})
	tests := map[string]string{
		"loopback v4":         "http://127.0.0.1/",
		"loopback v6":         "http://[::1]/",
		"metadata":            "http://169.254.169.254/latest/meta-data/",
		"rfc1918":             "http://10.0.0.1/",
		"rfc1918 172":         "http://172.16.5.4/",
		"rfc1918 192":         "http://192.168.1.1/",
		"cgnat":               "http://100.64.0.1/",
		"ula":                 "http://[fd00::1]/",
		"link-local v6":       "http://[fe80::1]/",
		"nat64":               "http://[64:ff9b::7f00:1]/",
		"6to4":                "http://[2002:7f00:1::]/",
		"unspecified":         "http://0.0.0.0/",
		"unspecified v6":      "http://[::]/",
		"decimal":             "http://2130706433/",
		"octal":               "http://0177.0.0.1/",
		"hex short":           "http://0x7f.1/",
		"hex full":            "http://0x7f000001/",
		"mapped v4":           "http://[::ffff:127.0.0.1]/",
		"mapped metadata":     "http://[::ffff:a9fe:a9fe]/",
		"multicast":           "http://224.0.0.1/",
		"broadcast":           "http://255.255.255.255/",
		"trailing dot":        "http://127.0.0.1./",
		"localhost name":      "http://localhost/",
		"with port":           "http://127.0.0.1:8080/",
		"ambiguous numeric":   "http://1.2.3.999999999/",
		"two-part private":    "http://10.1/",
		"https loopback":      "https://127.0.0.1/",
		"userinfo trick host": "http://example.com@127.0.0.1/",
	}
	for name, u := range tests {
		t.Run(name, func(t *testing.T) {
			resp, err := c.Get(u)
			if err == nil {
				resp.Body.Close()
				t.Fatalf("GET %s: want error", u)
			}
			if !errors.Is(err, ErrDenied) {
				t.Fatalf("GET %s: want ErrDenied, got %v", u, err)
			}
		})
	}
}

func TestSchemes(t *testing.T) {
	c := NewClient(Options{})
	for _, u := range []string{"file:///etc/passwd", "ftp://example.com/", "gopher://x/"} {
		resp, err := c.Get(u)
		if err == nil {
			resp.Body.Close()
			t.Fatalf("GET %s: want error", u)
		}
		if !errors.Is(err, ErrScheme) {
			t.Fatalf("GET %s: want ErrScheme, got %v", u, err)
		}
	}
}

func TestParseHostIP(t *testing.T) {
	tests := map[string]string{
		"2130706433":      "127.0.0.1",
		"0177.0.0.1":      "127.0.0.1",
		"0x7f.1":          "127.0.0.1",
		"0x7f.0.0.1":      "127.0.0.1",
		"127.1":           "127.0.0.1",
		"10.1":            "10.0.0.1",
		"169.254.43518":   "169.254.169.254",
		"0":               "0.0.0.0",
		"[::1]":           "::1",
		"::ffff:10.0.0.1": "10.0.0.1",
		"8.8.8.8":         "8.8.8.8",
	}
	for in, want := range tests {
		ip, ok := ParseHostIP(in)
		if !ok || ip.String() != want {
			t.Errorf("ParseHostIP(%q) = %v, %v; want %s", in, ip, ok, want)
		}
	}
	for _, in := range []string{"example.com", "1.2.3.256", "08.1.1.1", "1.2.3.4.5", "", "0x1g", "4294967296"} {
		if ip, ok := ParseHostIP(in); ok {
			t.Errorf("ParseHostIP(%q) = %v; want no IP", in, ip)
		}
	}
}

func TestDeniedPublic(t *testing.T) {
	for _, s := range []string{"8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "93.184.216.34"} {
		if why := Denied(netip.MustParseAddr(s)); why != "" {
			t.Errorf("Denied(%s) = %q; want public", s, why)
		}
	}
}

func newServer(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := httptest.NewUnstartedServer(h)
	s.Listener = l
	s.Start()
	t.Cleanup(s.Close)
	return s
}

func TestAllowListed(t *testing.T) {
	s := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	port := s.Listener.Addr().(*net.TCPAddr).Port
	for name, allow := range map[string][]string{
		"ip":        {"127.0.0.1"},
		"cidr":      {"127.0.0.0/8"},
		"host:port": {s.Listener.Addr().String()},
		"name":      {"localhost"},
	} {
		t.Run(name, func(t *testing.T) {
			c := NewClient(Options{AllowHosts: allow})
			u := s.URL
			if name == "name" {
				u = strings.Replace(u, "127.0.0.1", "localhost", 1)
			}
			resp, err := c.Get(u)
			if err != nil {
				t.Fatalf("GET %s with allow %v: %v", u, allow, err)
			}
			b, _, _ := ReadLimited(resp.Body, 10)
			resp.Body.Close()
			if string(b) != "ok" {
				t.Fatalf("body %q", b)
			}
		})
	}
	t.Run("other port refused", func(t *testing.T) {
		c := NewClient(Options{AllowHosts: []string{"127.0.0.1:1"}})
		_, err := c.Get(s.URL)
		if !errors.Is(err, ErrDenied) {
			t.Fatalf("port %d: want ErrDenied, got %v", port, err)
		}
	})
}

func TestRedirectToDeniedHost(t *testing.T) {
	s := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/meta":
			http.Redirect(w, r, "http://169.254.169.254/latest/meta-data/", http.StatusFound)
		case "/decimal":
			http.Redirect(w, r, "http://167772161/", http.StatusFound)
		case "/file":
			http.Redirect(w, r, "file:///etc/passwd", http.StatusFound)
		case "/ok":
			http.Redirect(w, r, "/final", http.StatusFound)
		case "/loop":
			http.Redirect(w, r, "/loop", http.StatusFound)
		default:
			io.WriteString(w, "final")
		}
	}))
	c := NewClient(Options{AllowHosts: []string{"127.0.0.1"}, MaxRedirects: 3})
	for _, p := range []string{"/meta", "/decimal"} {
		_, err := c.Get(s.URL + p)
		if !errors.Is(err, ErrDenied) {
			t.Errorf("redirect %s: want ErrDenied, got %v", p, err)
		}
	}
	if _, err := c.Get(s.URL + "/file"); !errors.Is(err, ErrScheme) {
		t.Errorf("redirect to file: want ErrScheme, got %v", err)
	}
	if _, err := c.Get(s.URL + "/loop"); !errors.Is(err, ErrRedirects) {
		t.Errorf("redirect loop: want ErrRedirects, got %v", err)
	}
	resp, err := c.Get(s.URL + "/ok")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	nc := NewClient(Options{AllowHosts: []string{"127.0.0.1"}, MaxRedirects: -1})
	resp, err = nc.Get(s.URL + "/meta")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("MaxRedirects<0: status %d, want 302", resp.StatusCode)
	}
}

func TestMaxBody(t *testing.T) {
	s := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, strings.Repeat("x", 100))
	}))
	c := NewClient(Options{AllowHosts: []string{"127.0.0.1"}, MaxBody: 10})
	resp, err := c.Get(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if _, err := io.ReadAll(resp.Body); !errors.Is(err, ErrBodyTooLarge) {
		t.Fatalf("ReadAll: want ErrBodyTooLarge, got %v", err)
	}
	resp2, err := c.Get(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp2.Body.Close()
	b, trunc, err := ReadLimited(resp2.Body, 10)
	if err != nil || !trunc || len(b) != 10 {
		t.Fatalf("ReadLimited = %q, %v, %v", b, trunc, err)
	}
	c = NewClient(Options{AllowHosts: []string{"127.0.0.1"}, MaxBody: 100})
	resp3, err := c.Get(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp3.Body.Close()
	if b, err := io.ReadAll(resp3.Body); err != nil || len(b) != 100 {
		t.Fatalf("body exactly at cap: %d bytes, %v", len(b), err)
	}
}

func TestReadLimited(t *testing.T) {
	tests := map[string]struct {
		in    string
		max   int64
		want  string
		trunc bool
	}{
		"under": {"abc", 5, "abc", false},
		"equal": {"abcde", 5, "abcde", false},
		"over":  {"abcdef", 5, "abcde", true},
		"zero":  {"a", 0, "", true},
		"empty": {"", 0, "", false},
	}
	for name, tc := range tests {
		b, trunc, err := ReadLimited(strings.NewReader(tc.in), tc.max)
		if err != nil || string(b) != tc.want || trunc != tc.trunc {
			t.Errorf("%s: got %q %v %v", name, b, trunc, err)
		}
	}
}

func FuzzParseHostIP(f *testing.F) {
	for _, s := range []string{"127.0.0.1", "0x7f.1", "2130706433", "::1", "0177.0.0.1", "a.b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ip, ok := ParseHostIP(s)
		if ok && !ip.IsValid() {
			t.Fatalf("%q: ok but invalid", s)
		}
	})
}
