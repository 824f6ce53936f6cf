package keptn

import (
	"encoding/json"
	"strings"
)

// scanScope reads the top-level project, stage and service of the JSON
// object raw in one pass, validating the rest as it skips it. ok is false
// when raw is anything it does not settle the way json.Unmarshal into Scope
// would (not an object, invalid JSON, an escape or a non-ASCII byte in a
// key or a scope value, a key equal to a scope field only ignoring case, a
// scope value that is not a string or null, deep nesting): the caller then
// decodes with encoding/json, so the result is always json.Unmarshal's.
//
// The history and the control plane read the scope of every event; with
// encoding/json that was two passes over the whole payload (validate, then
// decode), and the largest cost of the history's handler.
func scanScope(raw []byte) (s Scope, ok bool) {
	p := scopeScanner{b: raw}
	p.space()
	if !p.byte('{') {
		return s, false
	}
	p.space()
	if p.byte('}') {
		return s, p.end()
	}
	for {
		key, plain := p.str()
		if !plain || !p.ok {
			return s, false
		}
		p.space()
		if !p.byte(':') {
			return s, false
		}
		p.space()
		var dst *string
		switch string(key) { // no allocation: the compiler compares the bytes
		case "project":
			dst = &s.Project
		case "stage":
			dst = &s.Stage
		case "service":
			dst = &s.Service
		default:
			if foldsToScope(string(key)) {
				return s, false // encoding/json matches keys ignoring case
			}
		}
		if dst != nil {
			switch {
			case p.peek('"'):
				v, plain := p.str()
				if !plain || !p.ok {
					return s, false
				}
				*dst = string(v)
			case p.literal("null"): // leaves the field as it was
			default:
				return s, false
			}
		} else if !p.value(0) {
			return s, false
		}
		p.space()
		if p.byte('}') {
			return s, p.end()
		}
		if !p.byte(',') {
			return s, false
		}
		p.space()
	}
}

// foldsToScope reports whether key matches a scope field ignoring ASCII
// case. (Keys with other bytes never get here: str does not call them plain,
// and encoding/json's folding of some non-ASCII letters, the Kelvin sign to
// k, is left to it.)
func foldsToScope(key string) bool {
	return strings.EqualFold(key, "project") || strings.EqualFold(key, "stage") || strings.EqualFold(key, "service")
}

// maxScanDepth: deeper nesting goes to encoding/json (whose own limit is
// 10000) rather than recursing here.
const maxScanDepth = 64

type scopeScanner struct {
	b  []byte
	i  int
	ok bool // the last str call read a whole string
}

func (p *scopeScanner) space() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *scopeScanner) end() bool {
	p.space()
	return p.i == len(p.b)
}

func (p *scopeScanner) peek(c byte) bool { return p.i < len(p.b) && p.b[p.i] == c }

func (p *scopeScanner) byte(c byte) bool {
	if p.peek(c) {
		p.i++
		return true
	}
	return false
}

func (p *scopeScanner) literal(s string) bool {
	if len(p.b)-p.i >= len(s) && string(p.b[p.i:p.i+len(s)]) == s {
		p.i += len(s)
		return true
	}
	return false
}

// str reads a string. It returns its bytes when the string is plain
// (printable ASCII, no escapes), plain=false otherwise; p.ok reports
// whether a valid string was read at all.
func (p *scopeScanner) str() (v []byte, plain bool) {
	p.ok = false
	if !p.byte('"') {
		return nil, false
	}
	start, plain := p.i, true
	for {
		// The common run of printable ASCII, with locals the compiler
		// keeps in registers.
		i, b := p.i, p.b
		for i < len(b) && b[i] >= 0x20 && b[i] < 0x80 && b[i] != '"' && b[i] != '\\' {
			i++
		}
		p.i = i
		if i >= len(b) {
			return nil, false
		}
		switch c := b[i]; {
		case c == '"':
			v = b[start:i]
			p.i++
			p.ok = true
			return v, plain
		case c == '\\':
			plain = false
			if !p.escape() {
				return nil, false
			}
		case c < 0x20:
			return nil, false
		default: // UTF-8, valid or not: encoding/json decodes it
			plain = false
			p.i++
		}
	}
}

// escape skips one escape sequence at p.i.
func (p *scopeScanner) escape() bool {
	p.i++ // the backslash
	if p.i >= len(p.b) {
		return false
	}
	switch p.b[p.i] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		p.i++
		return true
	case 'u':
		if len(p.b)-p.i < 5 {
			return false
		}
		for _, h := range p.b[p.i+1 : p.i+5] {
			if !('0' <= h && h <= '9' || 'a' <= h && h <= 'f' || 'A' <= h && h <= 'F') {
				return false
			}
		}
		p.i += 5
		return true
	}
	return false
}

// value skips one JSON value, validating it.
func (p *scopeScanner) value(depth int) bool {
	if p.i >= len(p.b) || depth > maxScanDepth {
		return false
	}
	switch c := p.b[p.i]; {
	case c == '"':
		p.str()
		return p.ok
	case c == '{':
		p.i++
		p.space()
		if p.byte('}') {
			return true
		}
		for {
			p.str()
			if !p.ok {
				return false
			}
			p.space()
			if !p.byte(':') {
				return false
			}
			p.space()
			if !p.value(depth + 1) {
				return false
			}
			p.space()
			if p.byte('}') {
				return true
			}
			if !p.byte(',') {
				return false
			}
			p.space()
		}
	case c == '[':
		p.i++
		p.space()
		if p.byte(']') {
			return true
		}
		for {
			if !p.value(depth + 1) {
				return false
			}
			p.space()
			if p.byte(']') {
				return true
			}
			if !p.byte(',') {
				return false
			}
			p.space()
		}
	case c == 't':
		return p.literal("true")
	case c == 'f':
		return p.literal("false")
	case c == 'n':
		return p.literal("null")
	case c == '-' || '0' <= c && c <= '9':
		return p.number()
	}
	return false
}

// number skips -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (p *scopeScanner) number() bool {
	p.byte('-')
	switch {
	case p.byte('0'):
	case p.i < len(p.b) && '1' <= p.b[p.i] && p.b[p.i] <= '9':
		p.digits()
	default:
		return false
	}
	if p.byte('.') && !p.digits() {
		return false
	}
	if p.byte('e') || p.byte('E') {
		if !p.byte('+') {
			p.byte('-')
		}
		if !p.digits() {
			return false
		}
	}
	return true
}

func (p *scopeScanner) digits() bool {
	start := p.i
	for p.i < len(p.b) && '0' <= p.b[p.i] && p.b[p.i] <= '9' {
		p.i++
	}
	return p.i > start
}

// decodeScopeJSON is the reference: encoding/json into Scope.
func decodeScopeJSON(raw []byte) (Scope, error) {
	var s Scope
	err := json.Unmarshal(raw, &s)
	return s, err
}
