package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// filterTerm is one "key:v1,v2" term of a datastore filter; an event
// matches when the field equals any of the values.
type filterTerm struct {
	Key    string
	Values []string
}

// maxFilterTerms bounds the work a filter can ask for.
const maxFilterTerms = 32

// parseFilter parses Keptn's datastore filter syntax,
// "data.project:p AND data.stage:dev AND data.service:a,b".
func parseFilter(s string) ([]filterTerm, error) {
	if strings.TrimSpace(s) == "" {
		return nil, errors.New("filter must not be empty")
	}
	parts := strings.Split(s, " AND ")
	if len(parts) > maxFilterTerms {
		return nil, fmt.Errorf("filter has more than %d terms", maxFilterTerms)
	}
	var out []filterTerm
	for _, p := range parts {
		k, v, ok := strings.Cut(strings.TrimSpace(p), ":")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || k == "" || v == "" {
			return nil, fmt.Errorf("filter term %q: want key:value", strings.TrimSpace(p))
		}
		for _, seg := range strings.Split(k, ".") {
			if seg == "" || strings.ContainsAny(seg, " $") {
				return nil, fmt.Errorf("filter term %q: invalid key", k)
			}
		}
		t := filterTerm{Key: k}
		for _, x := range strings.Split(v, ",") {
			if x = strings.TrimSpace(x); x != "" {
				t.Values = append(t.Values, x)
			}
		}
		if len(t.Values) == 0 {
			return nil, fmt.Errorf("filter term %q: no value", k)
		}
		out = append(out, t)
	}
	return out, nil
}

// matches reports whether the structured event JSON body satisfies t.
// Non-string fields compare by their JSON text (true, 100).
func (t filterTerm) matches(ev map[string]any) bool {
	var cur any = ev
	for _, seg := range strings.Split(t.Key, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return false
		}
		if cur, ok = m[seg]; !ok {
			return false
		}
	}
	var s string
	switch v := cur.(type) {
	case string:
		s = v
	case nil, map[string]any, []any:
		return false
	default:
		b, _ := json.Marshal(v)
		s = string(b)
	}
	for _, want := range t.Values {
		if s == want {
			return true
		}
	}
	return false
}
