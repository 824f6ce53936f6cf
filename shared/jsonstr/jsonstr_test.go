package jsonstr

import (
	"bytes"
	"encoding/json"
	"testing"
)

// reference is encoding/json's own quoting of s.
func reference(t *testing.T, s string, html bool) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(html)
	if err := enc.Encode(s); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

func TestAppend(t *testing.T) {
	for _, s := range []string{"", "plain", `"\`, "<a href='x'>&</a>", "\x00\x01\x1f\b\f\n\r\t\x7f", "\xff\xfe", "é\u2028\u2029😀", "a\xc3"} {
		for _, html := range []bool{false, true} {
			got := Append([]byte("x"), s, html)
			if want := reference(t, s, html); string(got) != "x"+string(want) {
				t.Errorf("Append(%q, html=%v) = %s, want x%s", s, html, got, want)
			}
		}
	}
}

func FuzzAppend(f *testing.F) {
	f.Add("<é\u2028\xff\"\\\x01>", true)
	f.Fuzz(func(t *testing.T, s string, html bool) {
		if got, want := Append(nil, s, html), reference(t, s, html); !bytes.Equal(got, want) {
			t.Fatalf("Append(%q, %v) = %s, want %s", s, html, got, want)
		}
	})
}
