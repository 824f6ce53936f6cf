// Package config keeps the CLI's endpoint and API token in the user's
// config directory (os.UserConfigDir()/slipway/config.yaml), readable only by
// the user, as Keptn's CLI kept them in a password store or ~/.keptn/.keptn.
package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"gopkg.in/yaml.v3"
)

// Config is what `slipway auth` stores.
type Config struct {
	Endpoint string `yaml:"endpoint"`
	APIToken string `yaml:"apiToken"`
}

// Path is the config file: dir/slipway/config.yaml, dir "" meaning
// os.UserConfigDir().
func Path(dir string) (string, error) {
	if dir == "" {
		d, err := os.UserConfigDir()
		if err != nil {
			return "", fmt.Errorf("find the user config directory: %w", err)
		}
		dir = d
	}
	return filepath.Join(dir, "slipway", "config.yaml"), nil
}

// ErrNotConfigured means no config file exists yet.
var ErrNotConfigured = errors.New("not authenticated: run `slipway auth --endpoint=<url> --api-token=<token>` first")

// Load reads the config file at path.
func Load(path string) (Config, error) {
	raw, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return Config{}, ErrNotConfigured
	}
	if err != nil {
		return Config{}, fmt.Errorf("read %s: %w", path, err)
	}
	var c Config
	if err := yaml.Unmarshal(raw, &c); err != nil {
		return Config{}, fmt.Errorf("parse %s: %w", path, err)
	}
	return c, nil
}

// Save writes c to path with mode 0600 (the directory 0700). It writes a
// temporary file and renames it, so a crash never leaves half a token, and
// the token is never readable by others, not even for a moment.
func Save(path string, c Config) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	raw, err := yaml.Marshal(c)
	if err != nil {
		return fmt.Errorf("encode config: %w", err)
	}
	f, err := os.CreateTemp(dir, ".config-*.yaml")
	if err != nil {
		return fmt.Errorf("write config: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op after the rename
	// CreateTemp makes the file 0600 already; Chmod states it.
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return fmt.Errorf("write config: %w", err)
	}
	if _, err := f.Write(raw); err != nil {
		f.Close()
		return fmt.Errorf("write config: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write config: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write config: %w", err)
	}
	return nil
}
