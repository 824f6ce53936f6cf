// Package jsonstr writes JSON strings the way encoding/json does, for the
// hand-written encoders on hot paths (the engine's documents, CloudEvents in
// structured mode).
package jsonstr

import "unicode/utf8"

const hexDigits = "0123456789abcdef"

// plain[html] marks the bytes a string carries unescaped.
var plain = func() (t [2][256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		ok := c != '"' && c != '\\'
		t[0][c] = ok
		t[1][c] = ok && c != '<' && c != '>' && c != '&'
	}
	return t
}()

// Append appends s to dst quoted as encoding/json writes it: \b \f \n \r \t
// and other control bytes escaped, invalid UTF-8 replaced by U+FFFD,
// U+2028 and U+2029 escaped, and with escapeHTML also <, > and & (the
// default of json.Marshal; json.Encoder.SetEscapeHTML(false) turns it off).
func Append(dst []byte, s string, escapeHTML bool) []byte {
	ok := &plain[0]
	if escapeHTML {
		ok = &plain[1]
	}
	b := append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if ok[c] {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			start = i + size
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			start = i + size
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
