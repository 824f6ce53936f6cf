//go:build linux || darwin || freebsd

package embedded

import "syscall"

// freeBytes returns the bytes an unprivileged writer may still use on the
// filesystem holding dir (ok false when it cannot tell).
func freeBytes(dir string) (n uint64, ok bool) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, false
	}
	return uint64(st.Bavail) * uint64(st.Bsize), true
}
