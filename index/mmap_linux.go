package index

import (
	"os"

	"golang.org/x/sys/unix"
)

// mapFile maps the size bytes of f read-only (shared: the pages are the page cache's), or
// returns an error.
func mapFile(f *os.File, size int64) ([]byte, error) {
	return unix.Mmap(int(f.Fd()), 0, int(size), unix.PROT_READ, unix.MAP_SHARED)
}

func unmapFile(b []byte) { _ = unix.Munmap(b) }
