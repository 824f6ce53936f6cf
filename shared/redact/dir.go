package redact

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// MinDirValue is the shortest secret file value DirValues keeps: masking
// every "a" or "1" in a script's output would make it unreadable and hides
// nothing worth hiding.
const MinDirValue = 4

// DirValues returns the values of every regular file under dir (mounted
// Kubernetes Secrets: <dir>/<secret>/<key>, symlinks into ..data included),
// each as written and without surrounding whitespace, so an executor can
// redact every secret it holds, not only those a run asked for. Files over
// maxBytes are skipped (a secret is small; 0 means 64 KiB). A missing dir
// holds nothing.
func DirValues(dir string, maxBytes int64) ([]string, error) {
	if maxBytes <= 0 {
		maxBytes = 64 << 10
	}
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) && p == dir {
				return fs.SkipAll
			}
			return err
		}
		if d.IsDir() {
			return nil
		}
		fi, err := os.Stat(p) // follows the ..data symlinks of a mounted Secret
		if err != nil || !fi.Mode().IsRegular() || fi.Size() > maxBytes {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, v := range []string{string(b), strings.TrimSpace(string(b))} {
			if len(v) >= MinDirValue {
				out = append(out, v)
			}
		}
		return nil
	})
	return out, err
}

// With returns a Redactor masking r's values and more.
func (r *Redactor) With(more ...string) *Redactor {
	return New(append(r.values(), more...)...)
}

// values are the raw values r was built from (with their JSON forms).
func (r *Redactor) values() []string {
	if r == nil {
		return nil
	}
	out := make([]string, len(r.keys))
	for i, k := range r.keys {
		out[i] = string(k)
	}
	return out
}
