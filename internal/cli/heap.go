package cli

import (
	"os"
	"runtime"
	"strconv"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The heap reading an index and solving touch is reserved in huge pages
// (see reserveHugeHeap) for an index of hugeHeapRecords records or more:
// heapPerRecord bytes for each, up to maxHugeHeap. Reading Alpine's index
// of 5,000 packages and solving touch about 3 KiB per record. The
// reservation costs a collection, about what the faults of 1,000 records
// cost.
const (
	hugeHeapRecords = 1000
	heapPerRecord   = 4 << 10
	maxHugeHeap     = 128 << 20
)

// reserveForIndex is an install.Solver's BeforeIndex: it reserves huge
// pages for the heap reading an index of records records takes, when it
// is large.
func reserveForIndex(records int) {
	if records >= hugeHeapRecords {
		reserveHugeHeap(min(records*heapPerRecord, maxHugeHeap))
	}
}

// reserveHugeHeap makes the first n bytes the heap grows by next come in
// huge pages wherever the kernel gives transparent huge pages on request
// (transparent_hugepage/enabled set to "madvise", as Debian and Ubuntu
// ship it; with "always" they are huge already); elsewhere it changes
// nothing but costs one collection.
//
// Reading an index and building the solver's database touch about 15 MB
// of fresh memory for a repository of 5,000 packages, nearly all of it
// kept. Each 4 KiB page of it costs a page fault the first time it is
// written, and under virtual machines such a fault costs more than what
// is then written to the page: `apkit add --simulate` spent over a third
// of its time in them. A huge page comes with one fault per 2 MiB.
//
// The Go runtime asks for no huge pages for the heap. So the heap is grown
// here by one allocation of n bytes, whose pages are advised as huge
// (untouched, they cost nothing), and the allocation is collected at
// once: the runtime then makes the next objects in that memory, lowest
// addresses first.
func reserveHugeHeap(n int) {
	if strconv.IntSize == 32 {
		// One allocation this large would crowd a 32-bit address space.
		n = min(n, 16<<20)
	}
	b := make([]byte, n)
	adviseHuge(b)
	runtime.KeepAlive(b)
	runtime.GC()
}

// adviseHuge advises the whole pages of b for huge pages. An error (no
// transparent huge pages in this kernel) leaves them as they are.
func adviseHuge(b []byte) {
	start := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	page := uintptr(os.Getpagesize())
	off := (start+page-1)&^(page-1) - start
	if end := (start+uintptr(len(b)))&^(page-1) - start; off < end {
		_ = unix.Madvise(b[off:end], unix.MADV_HUGEPAGE)
	}
}
