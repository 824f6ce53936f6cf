package redact

import (
	"reflect"
	"testing"
)

func TestRedact(t *testing.T) {
	r := New("abc", "abcdef", "", `pa"ss`)
	tests := map[string]struct{ in, want string }{
		"plain":          {"token=abc!", "token=***!"},
		"longest first":  {"x abcdef y", "x *** y"},
		"several":        {"abc abc", "*** ***"},
		"json escaped":   {`{"p":"pa\"ss"}`, `{"p":"***"}`},
		"raw quote form": {`pa"ss`, "***"},
		"nothing":        {"hello", "hello"},
	}
	for name, tc := range tests {
		if got := r.String(tc.in); got != tc.want {
			t.Errorf("%s: String(%q) = %q, want %q", name, tc.in, got, tc.want)
		}
		if got := string(r.Bytes([]byte(tc.in))); got != tc.want {
			t.Errorf("%s: Bytes(%q) = %q, want %q", name, tc.in, got, tc.want)
		}
	}
	var nilR *Redactor
	if nilR.String("abc") != "abc" || New().String("abc") != "abc" {
		t.Error("nil/empty redactor must not change text")
	}
	got := r.Any(map[string]any{"a": []any{"abc", 1.0}, "abc": "x"})
	want := map[string]any{"a": []any{"***", 1.0}, "***": "x"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Any = %v", got)
	}
}
