package cli

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"testing"
	"unsafe"
)

// adviseHuge, which reserveHugeHeap uses, advises a piece of the heap for
// huge pages (VmFlags "hg" in /proc/self/smaps), where the kernel has
// transparent huge pages.
func TestAdviseHuge(t *testing.T) {
	if data, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled"); err != nil || strings.Contains(string(data), "[never]") {
		t.Skip("no transparent huge pages on request in this kernel")
	}
	b := make([]byte, 8<<20)
	page := uintptr(os.Getpagesize())
	start := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	// The whole pages inside b.
	first, last := (start+page-1)&^(page-1), (start+uintptr(len(b)))&^(page-1)-1
	if advised(t, first) && advised(t, last) {
		t.Skip("the heap is already advised for huge pages here")
	}
	adviseHuge(b)
	if !advised(t, first) || !advised(t, last) {
		t.Errorf("%#x-%#x: not advised for huge pages", first, last)
	}
	reserveHugeHeap(1 << 20) // and it runs
}

// advised reports whether the mapping holding addr is advised for huge
// pages.
func advised(t *testing.T, addr uintptr) bool {
	t.Helper()
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Skip(err)
	}
	defer f.Close()
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 {
			continue
		}
		if lo, hi, ok := strings.Cut(fields[0], "-"); ok && len(fields) >= 5 {
			l, err1 := strconv.ParseUint(lo, 16, 64)
			h, err2 := strconv.ParseUint(hi, 16, 64)
			in = err1 == nil && err2 == nil && uint64(addr) >= l && uint64(addr) < h
			continue
		}
		if fields[0] == "VmFlags:" && in {
			for _, fl := range fields[1:] {
				if fl == "hg" {
					return true
				}
			}
			return false
		}
	}
	return false
}
