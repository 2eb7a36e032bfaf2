package index

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// adviseHuge asks the kernel to back the 2 MiB pages wholly inside s with transparent huge
// pages (madvise MADV_HUGEPAGE; with THP set to "madvise", as on Debian, nothing else gets
// them). The graph search reads rows at random all over the vectors, links and codes; with
// 4 KiB pages nearly every row costs a TLB miss and a page walk, with 2 MiB pages the whole
// index of a million rows fits the TLB. A hint: errors are ignored. Call it before the memory
// is first written, when the pages are faulted in.
func adviseHuge[T any](s []T) {
	var z T
	size := uintptr(len(s)) * unsafe.Sizeof(z)
	const huge = 2 << 20
	if size < huge {
		return
	}
	p := uintptr(unsafe.Pointer(unsafe.SliceData(s)))
	lo := (p + huge - 1) &^ (huge - 1)
	hi := (p + size) &^ (huge - 1)
	if hi <= lo {
		return
	}
	b := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(s))), size)
	_ = unix.Madvise(b[lo-p:hi-p], unix.MADV_HUGEPAGE)
}
