package embedded_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slipwayhq/slipway/shared/store"
	"github.com/slipwayhq/slipway/shared/store/embedded"
)

// tmpfs mounts a small tmpfs for the test; it skips only where mounting is
// not permitted and CI is unset.
func tmpfs(t *testing.T, size string) string {
	t.Helper()
	dir := t.TempDir()
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput()
	if err != nil {
		msg := fmt.Sprintf("mount tmpfs: %v: %s", err, out)
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

// TestDiskFull fills a small filesystem until the store refuses writes:
// Health reports it, nothing acknowledged is lost, and once space is back
// Health recovers and writes succeed without a restart.
func TestDiskFull(t *testing.T) {
	fs := tmpfs(t, "8m")
	ballast := filepath.Join(fs, "ballast")
	if err := os.WriteFile(ballast, make([]byte, 3<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(fs, "store")
	s, err := embedded.OpenDriver(dir, embedded.Options{CacheSize: 1 << 20, MinFreeBytes: 512 << 10})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	health := store.New(s).Capabilities().Health
	ctx := t.Context()
	if err := health(ctx); err != nil {
		t.Fatalf("health of an empty store: %v", err)
	}
	body := []byte(strings.Repeat("b", 64<<10))
	put := func(i int) error {
		return s.Update(ctx, func(tx store.Tx) error {
			return tx.PutRun(&store.Run{ID: fmt.Sprintf("run-%04d", i), Project: "p", Body: body})
		})
	}
	acked := 0
	var werr error
	for ; acked < 1000; acked++ {
		if werr = put(acked); werr != nil {
			break
		}
	}
	if werr == nil {
		t.Fatalf("1000 writes of 64 KiB fit in an 8 MiB filesystem")
	}
	t.Logf("refused after %d writes: %v", acked, werr)
	if err := health(ctx); err == nil {
		t.Fatal("health is OK while the store refuses writes")
	}
	for i := range acked {
		if _, err := s.GetRun(ctx, fmt.Sprintf("run-%04d", i)); err != nil {
			t.Fatalf("acknowledged run %d unreadable on a full disk: %v", i, err)
		}
	}

	if err := os.Remove(ballast); err != nil {
		t.Fatal(err)
	}
	if err := health(ctx); err != nil {
		t.Fatalf("health after space came back: %v", err)
	}
	if err := put(acked); err != nil {
		t.Fatalf("write after space came back: %v", err)
	}
	acked++
	if err := s.Close(); err != nil {
		t.Logf("close: %v", err)
	}
	r, err := embedded.OpenDriver(dir, embedded.Options{})
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer r.Close()
	for i := range acked {
		if _, err := r.GetRun(ctx, fmt.Sprintf("run-%04d", i)); err != nil {
			t.Errorf("acknowledged run %d lost after the disk was full: %v", i, err)
		}
	}
}
