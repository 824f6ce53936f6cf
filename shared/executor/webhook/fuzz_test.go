package webhook

import (
	"strings"
	"testing"
)

func FuzzParseCurl(f *testing.F) {
	for _, s := range []string{
		`curl -X POST -H 'A: b' -d '{"x":"{{.data.y}}"}' https://e.com`,
		`curl "https://e.com/{{ index .data "k" }}" -sSL`,
		`curl -u 'a:b' --url x -m 1.5`,
		`curl 'x`, `curl {{`, "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseCurl(s)
		if err != nil {
			return
		}
		if !methods[r.Method] || r.URL == "" {
			t.Fatalf("bad request %+v", r)
		}
		for _, h := range r.Headers {
			if strings.TrimSpace(h.Key) == "" {
				t.Fatalf("empty header name in %+v", r)
			}
		}
	})
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("apiVersion: " + V1Beta1 + "\nspec:\n  webhooks:\n    - type: x\n      requests:\n        - {url: 'https://e', method: GET}\n"))
	f.Add([]byte("apiVersion: " + V1Alpha1 + "\nspec:\n  webhooks:\n    - type: x\n      requests: ['curl https://e']\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := Parse(b)
		if err != nil {
			return
		}
		for _, w := range c.Webhooks {
			if w.Type == "" || len(w.Requests) == 0 {
				t.Fatalf("invalid webhook accepted: %+v", w)
			}
		}
	})
}
