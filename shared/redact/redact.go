// Package redact hides secret values in text before it leaves the process
// (event messages, stored responses, logs).
package redact

import (
	"encoding/json"
	"sort"
	"strings"
)

// Mask replaces every secret occurrence.
const Mask = "***"

// Redactor replaces known secret values with Mask. The zero value and nil
// redact nothing. A Redactor is immutable and safe for concurrent use.
type Redactor struct {
	r *strings.Replacer
	// keys are the values to mask, longest first, for Writer; first marks
	// the bytes a key starts with, so most bytes are passed over at once.
	keys  [][]byte
	first [256]bool
}

// New builds a Redactor for values. Empty values are ignored. Besides each
// value, its JSON-escaped form is redacted too (for secrets containing
// quotes, backslashes or control characters echoed in JSON). Longer values
// are replaced first, so a secret that contains another is masked whole.
func New(values ...string) *Redactor {
	seen := map[string]bool{}
	var all []string
	add := func(s string) {
		if s != "" && !seen[s] {
			seen[s] = true
			all = append(all, s)
		}
	}
	for _, v := range values {
		add(v)
		if b, err := json.Marshal(v); err == nil {
			add(string(b[1 : len(b)-1]))
		}
	}
	if len(all) == 0 {
		return &Redactor{}
	}
	sort.SliceStable(all, func(i, j int) bool { return len(all[i]) > len(all[j]) })
	red := &Redactor{keys: make([][]byte, len(all))}
	pairs := make([]string, 0, 2*len(all))
	for i, s := range all {
		pairs = append(pairs, s, Mask)
		red.keys[i] = []byte(s)
		red.first[s[0]] = true
	}
	red.r = strings.NewReplacer(pairs...)
	return red
}

// String returns s with every secret replaced by Mask.
func (r *Redactor) String(s string) string {
	if r == nil || r.r == nil {
		return s
	}
	return r.r.Replace(s)
}

// Bytes returns b with every secret replaced by Mask (a new slice when
// anything was replaced).
func (r *Redactor) Bytes(b []byte) []byte {
	if r == nil || r.r == nil {
		return b
	}
	return []byte(r.r.Replace(string(b)))
}

// Head redacts s, the beginning of a longer text that was cut off after s
// (a response read up to a limit). Besides every complete secret, a tail of
// s that may be the start of a secret is masked: String would let such a
// partial secret through, because it does not match in full.
func (r *Redactor) Head(s string) string {
	if r == nil || r.r == nil {
		return s
	}
	var b strings.Builder
	w := NewWriter(&b, r)
	_, _ = w.Write([]byte(s))
	_ = w.CloseCut()
	return b.String()
}

// Any redacts every string inside a decoded JSON value (maps, slices,
// strings), returning a new value; other values are returned unchanged.
func (r *Redactor) Any(v any) any {
	if r == nil || r.r == nil {
		return v
	}
	switch t := v.(type) {
	case string:
		return r.String(t)
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, x := range t {
			out[r.String(k)] = r.Any(x)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, x := range t {
			out[i] = r.Any(x)
		}
		return out
	default:
		return v
	}
}
