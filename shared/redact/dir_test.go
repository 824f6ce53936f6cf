package redact

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// A mounted Secret: keys are symlinks into ..data; every value is found.
func TestDirValues(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "webhook", "..2026_12_04", "")
	if err := os.MkdirAll(data, 0o700); err != nil {
		t.Fatal(err)
	}
	write := func(p, v string) {
		if err := os.WriteFile(p, []byte(v), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(data, "token"), "tok-123456\n")
	write(filepath.Join(data, "x"), "ab") // too short to mask
	if err := os.Symlink("..2026_12_04", filepath.Join(dir, "webhook", "..data")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("..data/token", filepath.Join(dir, "webhook", "token")); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "other"), 0o700); err != nil {
		t.Fatal(err)
	}
	write(filepath.Join(dir, "other", "SECURE_DATA"), `{"k":"v-secret"}`)
	vals, err := DirValues(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"tok-123456", "tok-123456\n", `{"k":"v-secret"}`} {
		if !slices.Contains(vals, want) {
			t.Errorf("%q missing from %q", want, vals)
		}
	}
	if slices.Contains(vals, "ab") {
		t.Errorf("short value kept: %q", vals)
	}
	r := New(vals...).With("api-token-xyz")
	if got := r.String("a tok-123456 b api-token-xyz"); got != "a *** b ***" {
		t.Fatalf("redacted %q", got)
	}
	if v, err := DirValues(filepath.Join(dir, "missing"), 0); err != nil || len(v) != 0 {
		t.Fatalf("missing dir: %q %v", v, err)
	}
}
