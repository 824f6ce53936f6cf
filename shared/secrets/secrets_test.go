package secrets

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestGet(t *testing.T) {
	root := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(root, "s", "..2024_data"), 0o700))
	must(os.WriteFile(filepath.Join(root, "s", "..2024_data", "token"), []byte("abc"), 0o600))
	must(os.Symlink("..2024_data", filepath.Join(root, "s", "..data")))
	must(os.Symlink("..data/token", filepath.Join(root, "s", "token"))) // kubelet layout
	must(os.WriteFile(filepath.Join(root, "s", "empty"), nil, 0o600))
	must(os.WriteFile(filepath.Join(root, "outside"), []byte("nope"), 0o600))
	d := Dir(filepath.Join(root))

	if v, err := d.Get("s", "token"); err != nil || v != "abc" {
		t.Fatalf("Get = %q, %v", v, err)
	}
	if v, err := d.Get("s", "empty"); err != nil || v != "" {
		t.Fatalf("Get empty = %q, %v", v, err)
	}
	for name, tc := range map[string]struct {
		name, key string
		want      error
	}{
		"missing key":     {"s", "nokey", ErrNotFound},
		"missing secret":  {"other", "token", ErrNotFound},
		"dotdot key":      {"s", "..", ErrInvalidName},
		"dotdot name":     {"..", "outside", ErrInvalidName},
		"slash key":       {"s", "../outside", ErrInvalidName},
		"data dir":        {"s", "..data", ErrInvalidName},
		"absolute":        {"/etc", "passwd", ErrInvalidName},
		"empty name":      {"", "token", ErrInvalidName},
		"empty key":       {"s", "", ErrInvalidName},
		"upper name":      {"S", "token", ErrInvalidName},
		"name with slash": {"s/..", "token", ErrInvalidName},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := d.Get(tc.name, tc.key); !errors.Is(err, tc.want) {
				t.Fatalf("Get(%q,%q) err = %v, want %v", tc.name, tc.key, err, tc.want)
			}
		})
	}
	if _, err := Dir("").Get("s", "token"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("empty Dir: %v", err)
	}
}
