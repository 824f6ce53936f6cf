package knative_test

import (
	"strings"
	"testing"
	"unicode"

	"github.com/slipwayhq/slipway/shared/deployer/knative"
	"github.com/slipwayhq/slipway/shared/keptn"
)

func values(image, tag string) map[string]any {
	v := map[string]any{}
	if image != "" {
		v["image"] = image
	}
	if tag != "" {
		v["tag"] = tag
	}
	return map[string]any{"configurationChange": map[string]any{"values": v}}
}

func TestImage(t *testing.T) {
	cases := map[string]struct {
		image, tag, want, err string
	}{
		"image with tag":                    {image: "ghcr.io/podtato-head/podtato-server:v0.3.1", want: "ghcr.io/podtato-head/podtato-server:v0.3.1"},
		"image and tag (Keptn CLI)":         {image: "ghcr.io/podtato-head/podtato-server", tag: "v0.3.1", want: "ghcr.io/podtato-head/podtato-server:v0.3.1"},
		"registry port, no tag, tag given":  {image: "localhost:5000/app", tag: "1.2", want: "localhost:5000/app:1.2"},
		"same tag twice":                    {image: "app:1.2", tag: "1.2", want: "app:1.2"},
		"different tags":                    {image: "app:1.2", tag: "1.3", err: `has tag "1.2"`},
		"digest and tag":                    {image: "app@sha256:abc", tag: "1.3", err: "pinned by digest"},
		"digest alone":                      {image: "app@sha256:abc", want: "app@sha256:abc"},
		"missing":                           {err: "image is missing"},
		"whitespace inside":                 {image: "app 1.2", err: "not an image reference"},
		"surrounding whitespace is trimmed": {image: " app:1 ", want: "app:1"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := knative.Image(values(c.image, c.tag))
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("got %q, %v; want error containing %q", got, err, c.err)
				}
				return
			}
			if err != nil || got != c.want {
				t.Fatalf("got %q, %v; want %q", got, err, c.want)
			}
		})
	}
}

func FuzzImage(f *testing.F) {
	f.Add("ghcr.io/a/b", "v1")
	f.Add("localhost:5000/a:1", "1")
	f.Add("a@sha256:00", "")
	f.Fuzz(func(t *testing.T, image, tag string) {
		got, err := knative.Image(values(image, tag))
		if err != nil {
			return
		}
		if got == "" || strings.IndexFunc(got, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
			t.Fatalf("Image(%q, %q) = %q", image, tag, got)
		}
		if tag = strings.TrimSpace(tag); tag != "" && !strings.HasSuffix(got, ":"+tag) {
			t.Fatalf("Image(%q, %q) = %q: tag lost", image, tag, got)
		}
	})
}

func TestNamespaceAndRevision(t *testing.T) {
	cfg := knative.Config{Namespace: "{project}-{stage}"}
	cases := map[string]struct {
		scope keptn.Scope
		tmpl  string
		want  string
		bad   bool
	}{
		"default":         {scope: keptn.Scope{Project: "podtato", Stage: "dev", Service: "head"}, want: "podtato-dev"},
		"service in it":   {scope: keptn.Scope{Project: "p", Stage: "s", Service: "head"}, tmpl: "{service}-{stage}", want: "head-s"},
		"too long":        {scope: keptn.Scope{Project: strings.Repeat("p", 40), Stage: strings.Repeat("s", 30)}, bad: true},
		"fixed namespace": {scope: keptn.Scope{Project: "p", Stage: "s"}, tmpl: "apps", want: "apps"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			cc := cfg
			if c.tmpl != "" {
				cc.Namespace = c.tmpl
			}
			got, err := cc.NamespaceFor(c.scope)
			if (err != nil) != c.bad || got != c.want && !c.bad {
				t.Fatalf("got %q, %v", got, err)
			}
		})
	}
	a, _ := knative.RevisionName("head", "id-1")
	b, _ := knative.RevisionName("head", "id-1")
	c, _ := knative.RevisionName("head", "id-2")
	if a != b || a == c || !strings.HasPrefix(a, "head-") {
		t.Fatalf("revision names %q %q %q: want stable per id, distinct across ids, prefixed", a, b, c)
	}
	if _, err := knative.RevisionName(strings.Repeat("x", 60), "id"); err == nil {
		t.Fatal("a revision name over 63 characters must be refused")
	}
}
