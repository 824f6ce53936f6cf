package redact

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// stream writes in through a Writer in chunks of the given sizes (cycled;
// the rest in one write when sizes is empty) and closes it.
func stream(t testing.TB, r *Redactor, in []byte, sizes []int) string {
	t.Helper()
	var out bytes.Buffer
	w := NewWriter(&out, r)
	for i := 0; len(in) > 0; i++ {
		n := len(in)
		if len(sizes) > 0 {
			n = min(max(sizes[i%len(sizes)], 1), len(in))
		}
		if k, err := w.Write(in[:n]); k != n || err != nil {
			t.Fatalf("Write = %d, %v", k, err)
		}
		in = in[n:]
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

func TestWriterEqualsString(t *testing.T) {
	tests := map[string]struct {
		secrets []string
		in      string
	}{
		"none":                  {nil, "plain text"},
		"empty secrets only":    {[]string{"", ""}, "plain text"},
		"one":                   {[]string{"hunter2"}, "pw=hunter2;"},
		"at start and end":      {[]string{"hunter2"}, "hunter2 and hunter2"},
		"repeated":              {[]string{"ab"}, "abababa"},
		"longest wins":          {[]string{"abc", "abcdef"}, "abcdef abcde abc ab"},
		"prefix then secret":    {[]string{"abc"}, "ababcabc"},
		"overlapping":           {[]string{"abcd", "cdef"}, "abcdef cdefab"},
		"contained":             {[]string{"secret", "cre"}, "secret cre secre"},
		"self overlapping":      {[]string{"aaa"}, "aaaaaaaa"},
		"json form":             {[]string{`pa"ss`}, `{"p":"pa\"ss"} pa"ss`},
		"partial at the end":    {[]string{"hunter2"}, "pw=hunte"},
		"shorter inside tail":   {[]string{"abc", "abcdef"}, "x abcd"},
		"single byte secret":    {[]string{"x"}, "axbxc"},
		"empty among others":    {[]string{"", "tok"}, "a tok b"},
		"secret longer than in": {[]string{"a very long secret"}, "a very"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			r := New(tc.secrets...)
			want := r.String(tc.in)
			for _, sizes := range [][]int{nil, {1}, {2}, {3}, {1, 4}, {7}} {
				if got := stream(t, r, []byte(tc.in), sizes); got != want {
					t.Errorf("chunks %v: got %q, want %q", sizes, got, want)
				}
			}
			for cut := 0; cut <= len(tc.in); cut++ {
				if got := stream(t, r, []byte(tc.in), []int{cut, len(tc.in)}); got != want {
					t.Errorf("split at %d: got %q, want %q", cut, got, want)
				}
			}
		})
	}
}

// TestWriterNeverPassesSecretBytes writes secrets byte by byte at every
// offset in padding that shares no byte with them: after every single
// write, dst must hold a prefix of the final output, which has no part of a
// secret (the "XQ" in it is a decoy that only starts like the secrets).
func TestWriterNeverPassesSecretBytes(t *testing.T) {
	const secret = "XQZJWV"
	r := New(secret, "XQ-other")
	for off := 0; off < 12; off++ {
		pad := strings.Repeat(".", off)
		in := pad + secret + "...XQ.." + secret
		want := pad + "***...XQ..***"
		var out bytes.Buffer
		w := NewWriter(&out, r)
		for i := range len(in) {
			if _, err := w.Write([]byte{in[i]}); err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(want, out.String()) {
				t.Fatalf("offset %d, after %d bytes: dst has %q", off, i+1, out.String())
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if out.String() != want {
			t.Fatalf("offset %d: got %q, want %q", off, out.String(), want)
		}
	}
}

func TestWriterHoldsBackOnlyPossibleStarts(t *testing.T) {
	r := New("hunter2", "abc", "abcdef")
	tests := map[string]struct{ in, passed string }{
		"no prefix":                    {"hello", "hello"},
		"prefix of a secret":           {"pw=hunt", "pw="},
		"prefix broken":                {"pw=hunx", "pw=hunx"},
		"complete but longer possible": {"x abcd", "x "},
		"complete, no longer possible": {"x abcx", "x ***x"},
		"longest complete":             {"abcdef!", "***!"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var out bytes.Buffer
			w := NewWriter(&out, r)
			if _, err := w.Write([]byte(tc.in)); err != nil {
				t.Fatal(err)
			}
			if out.String() != tc.passed {
				t.Fatalf("passed on %q, want %q", out.String(), tc.passed)
			}
		})
	}
}

func TestWriterClose(t *testing.T) {
	r := New("hunter2", "abc", "abcdef")
	tests := map[string]struct{ in, closed, cut string }{
		"partial secret at the end": {"pw=hunt", "pw=hunt", "pw=***"},
		"shorter secret in tail":    {"x abcd", "x ***d", "x ***"},
		"nothing held":              {"done.", "done.", "done."},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var a, b bytes.Buffer
			wa, wb := NewWriter(&a, r), NewWriter(&b, r)
			_, _ = wa.Write([]byte(tc.in))
			_, _ = wb.Write([]byte(tc.in))
			if err := wa.Close(); err != nil || a.String() != tc.closed {
				t.Errorf("Close: %q %v, want %q", a.String(), err, tc.closed)
			}
			if err := wb.CloseCut(); err != nil || b.String() != tc.cut {
				t.Errorf("CloseCut: %q %v, want %q", b.String(), err, tc.cut)
			}
			if got := r.Head(tc.in); got != tc.cut {
				t.Errorf("Head = %q, want %q", got, tc.cut)
			}
			if err := wa.Close(); err != nil {
				t.Errorf("second Close: %v", err)
			}
			if _, err := wa.Write([]byte("x")); err == nil {
				t.Error("Write after Close succeeded")
			}
		})
	}
}

func TestWriterWithoutSecrets(t *testing.T) {
	for _, r := range []*Redactor{nil, New(), New("", "")} {
		var out bytes.Buffer
		w := NewWriter(&out, r)
		_, _ = w.Write([]byte("hun"))
		if out.String() != "hun" {
			t.Fatalf("held back %q without secrets", "hun")
		}
		if err := w.Close(); err != nil || out.String() != "hun" {
			t.Fatalf("got %q %v", out.String(), err)
		}
		if r.Head("hun") != "hun" {
			t.Fatal("Head changed text without secrets")
		}
	}
}

type failing struct{}

func (failing) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestWriterDstError(t *testing.T) {
	w := NewWriter(failing{}, New("abc"))
	if _, err := w.Write([]byte("x abc y")); err == nil {
		t.Fatal("no error")
	}
	if _, err := w.Write([]byte("more")); err == nil {
		t.Fatal("error did not stick")
	}
	if err := w.Close(); err == nil {
		t.Fatal("Close hid the error")
	}
}

// FuzzRedactWriter: streaming with any chunking equals String of the whole
// text, and neither it nor Head leaves a secret (or, for Head, the start of
// one at the end). Secrets holding '*' are left out of the containment
// checks: Mask next to other text could spell them.
func FuzzRedactWriter(f *testing.F) {
	f.Add([]byte("pw=hunter2; hunter hunter2"), "hunter2", "hunt", []byte{1, 2, 3})
	f.Add([]byte("abcdef abcd abc"), "abc", "abcdef", []byte{1})
	f.Add([]byte("aaaaaaa"), "aaa", "aa", []byte{2, 5})
	f.Add([]byte(`"pa\"ss" pa"ss`), `pa"ss`, "", []byte{4})
	f.Add([]byte("abcdef"), "abcd", "cdef", []byte{0, 3})
	f.Fuzz(func(t *testing.T, in []byte, s1, s2 string, chunks []byte) {
		r := New(s1, s2)
		sizes := make([]int, len(chunks))
		for i, c := range chunks {
			sizes[i] = int(c)
		}
		want := r.String(string(in))
		got := stream(t, r, in, sizes)
		if got != want {
			t.Fatalf("streamed %q, String %q", got, want)
		}
		head := r.Head(string(in))
		for _, k := range r.keys {
			if bytes.ContainsRune(k, '*') {
				continue
			}
			if bytes.Contains([]byte(got), k) || bytes.Contains([]byte(head), k) {
				t.Fatalf("secret %q left in %q / head %q", k, got, head)
			}
			for n := 1; n < len(k); n++ {
				if strings.HasSuffix(head, string(k[:n])) {
					t.Fatalf("head %q ends with %q, the start of secret %q", head, k[:n], k)
				}
			}
		}
	})
}
