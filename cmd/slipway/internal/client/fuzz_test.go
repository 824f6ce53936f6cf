package client

import (
	"net/url"
	"strings"
	"testing"
)

// FuzzNormalizeEndpoint holds the endpoint parser to its promises: an
// accepted endpoint is an http(s) URL with a host, a path, no trailing
// slash, no query, and normalizing it again changes nothing.
func FuzzNormalizeEndpoint(f *testing.F) {
	for _, s := range []string{"127.0.0.1:8080", "http://h/", "https://keptn.example.com/api", "http://h/api?x=1#f",
		"h:1/a/b/", "ftp://x", "http://[::1]:8080", "http://u:p@h/api", " http://h ", "http://h/%2e%2e/api"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, err := NormalizeEndpoint(in)
		if err != nil {
			return
		}
		u, perr := url.Parse(got)
		if perr != nil {
			t.Fatalf("NormalizeEndpoint(%q) = %q, which does not parse: %v", in, got, perr)
		}
		if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			t.Fatalf("NormalizeEndpoint(%q) = %q", in, got)
		}
		if u.Path == "" || strings.HasSuffix(got, "/") {
			t.Fatalf("NormalizeEndpoint(%q) = %q: empty path or trailing slash", in, got)
		}
		again, err := NormalizeEndpoint(got)
		if err != nil || again != got {
			t.Fatalf("NormalizeEndpoint(%q) = %q, again %q, %v", in, got, again, err)
		}
	})
}
