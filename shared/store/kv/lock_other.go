//go:build !unix

package kv

import (
	"fmt"
	"os"
	"path/filepath"
)

// lockDir on platforms without flock only keeps the file open: two
// processes on one store are not detected there.
func lockDir(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, "LOCK"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock: %w", err)
	}
	return f, nil
}
