package trigger

import (
	"fmt"
	"net/url"
	"sort"
	"strings"
)

// Resolve turns a Destination into an absolute http(s) URL. A ref is looked
// up by name in services (the local runtime's subscriber name → base URL);
// a URI alone must be absolute; with both, the URI is resolved against the
// ref's URL, as Knative does.
func (d Destination) Resolve(services map[string]string) (string, error) {
	var base *url.URL
	if d.Ref != nil {
		raw, ok := services[d.Ref.Name]
		if !ok {
			known := make([]string, 0, len(services))
			for k := range services {
				known = append(known, k)
			}
			sort.Strings(known)
			return "", fmt.Errorf("unknown subscriber %s %q: the local runtime serves no such name (known: %s)",
				d.Ref.Kind, d.Ref.Name, strings.Join(known, ", "))
		}
		u, err := parseAbsolute(raw)
		if err != nil {
			return "", fmt.Errorf("subscriber %q: runtime URL: %w", d.Ref.Name, err)
		}
		base = u
	}
	switch {
	case base != nil && d.URI != "":
		ref, err := url.Parse(d.URI)
		if err != nil {
			return "", fmt.Errorf("uri %q: %w", d.URI, err)
		}
		return base.ResolveReference(ref).String(), nil
	case base != nil:
		return base.String(), nil
	case d.URI != "":
		u, err := parseAbsolute(d.URI)
		if err != nil {
			return "", err
		}
		return u.String(), nil
	}
	return "", fmt.Errorf("destination has neither ref nor uri")
}

func parseAbsolute(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("uri %q: %w", raw, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("uri %q: want an absolute http(s) URL", raw)
	}
	return u, nil
}
