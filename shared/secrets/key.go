package secrets

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// KeySize is the AES-256 key length.
const KeySize = 32

// KeyFile is the name of the key file LoadKey keeps in a data directory.
const KeyFile = "secrets.key"

// ParseKey decodes a base64 (standard or URL alphabet, padded or not)
// AES-256 key, as given in SLIPWAY_SECRETS_KEY or a key file.
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if k, err := enc.DecodeString(s); err == nil {
			if len(k) != KeySize {
				return nil, fmt.Errorf("secrets key: %d bytes, want %d", len(k), KeySize)
			}
			return k, nil
		}
	}
	return nil, errors.New("secrets key: not base64")
}

// LoadKey returns the key kept in dir/secrets.key, creating the file (mode
// 0600, a fresh random key) on first use. A key file readable by group or
// others is refused: the key decrypts every stored secret.
func LoadKey(dir string) ([]byte, error) {
	p := filepath.Join(dir, KeyFile)
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return createKey(p)
	}
	if err != nil {
		return nil, fmt.Errorf("secrets key: %w", err)
	}
	st, err := os.Stat(p)
	if err != nil {
		return nil, fmt.Errorf("secrets key: %w", err)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("secrets key %s: mode %v, want 0600", p, st.Mode().Perm())
	}
	return ParseKey(string(b))
}

func createKey(p string) ([]byte, error) {
	k := make([]byte, KeySize)
	if _, err := rand.Read(k); err != nil {
		return nil, fmt.Errorf("secrets key: %w", err)
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return LoadKey(filepath.Dir(p)) // created concurrently
	}
	if err != nil {
		return nil, fmt.Errorf("secrets key: %w", err)
	}
	_, werr := f.WriteString(base64.StdEncoding.EncodeToString(k) + "\n")
	if err := errors.Join(werr, f.Sync(), f.Close()); err != nil {
		_ = os.Remove(p)
		return nil, fmt.Errorf("secrets key: %w", err)
	}
	return k, nil
}
