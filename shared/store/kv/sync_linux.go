package kv

import (
	"os"
	"syscall"
)

// fdatasync flushes the file's data without its metadata timestamps: the
// log's size change is still flushed (Linux semantics), which is what a
// reader after a crash needs.
func fdatasync(f *os.File) error {
	for {
		err := syscall.Fdatasync(int(f.Fd()))
		if err != syscall.EINTR {
			return err
		}
	}
}
