// Package secrets reads secrets from a directory laid out like mounted
// Kubernetes Secrets: <dir>/<secretName>/<key>, one file per key.
package secrets

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// ErrNotFound is returned (wrapped) when the secret or key does not exist.
var ErrNotFound = errors.New("secret not found")

// ErrInvalidName is returned (wrapped) for names that are not plain
// Kubernetes secret names or keys (path traversal, separators, ...).
var ErrInvalidName = errors.New("invalid secret name or key")

// MaxSize is the largest secret value read (Kubernetes caps Secrets at 1 MiB).
const MaxSize = 1 << 20

// Dir is the directory holding one sub-directory per secret.
type Dir string

var (
	nameRE = regexp.MustCompile(`^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$`)
	keyRE  = regexp.MustCompile(`^[-._a-zA-Z0-9]{1,253}$`)
)

// ValidName reports whether name is a valid secret name (DNS subdomain).
func ValidName(name string) bool { return nameRE.MatchString(name) && !strings.Contains(name, "..") }

// ValidKey reports whether key is a valid secret key. Keys starting with ".."
// (the kubelet's ..data links) are refused.
func ValidKey(key string) bool {
	return keyRE.MatchString(key) && key != "." && !strings.HasPrefix(key, "..")
}

// Get returns the value of key in secret name.
func (d Dir) Get(name, key string) (string, error) {
	if !ValidName(name) || !ValidKey(key) {
		return "", fmt.Errorf("secret %q key %q: %w", name, key, ErrInvalidName)
	}
	if d == "" {
		return "", fmt.Errorf("secret %q key %q: no secrets directory: %w", name, key, ErrNotFound)
	}
	p := filepath.Join(string(d), name, key)
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("secret %q key %q: %w", name, key, ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("secret %q key %q: %w", name, key, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return "", fmt.Errorf("secret %q key %q: %w", name, key, err)
	}
	if !st.Mode().IsRegular() {
		return "", fmt.Errorf("secret %q key %q: not a file: %w", name, key, ErrNotFound)
	}
	if st.Size() > MaxSize {
		return "", fmt.Errorf("secret %q key %q: larger than %d bytes", name, key, MaxSize)
	}
	b := make([]byte, st.Size())
	if _, err := f.ReadAt(b, 0); err != nil && st.Size() > 0 {
		return "", fmt.Errorf("secret %q key %q: %w", name, key, err)
	}
	return string(b), nil
}
