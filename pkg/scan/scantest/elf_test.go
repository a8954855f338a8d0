package scantest_test

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/apkit-dev/apkit/pkg/scan"
	"github.com/apkit-dev/apkit/pkg/scan/scantest"
)

var cases = map[string]scantest.ELF{
	"shared object": {Soname: "libgreet.so.1", Needed: []string{"libc.musl-x86_64.so.1"}},
	"program":       {Type: elf.ET_EXEC, Interp: "/lib/ld-musl-x86_64.so.1", Needed: []string{"libgreet.so.1", "libc.musl-x86_64.so.1"}, Runpath: []string{"/usr/lib/greet", "$ORIGIN"}},
	"pie":           {Machine: elf.EM_AARCH64, Interp: "/lib/ld-musl-aarch64.so.1", Needed: []string{"libc.musl-aarch64.so.1"}},
	"big endian":    {Machine: elf.EM_S390, BigEndian: true, Soname: "libx.so.2", Needed: []string{"libc.musl-s390x.so.1"}},
	"nothing":       {},
}

// TestELFSections reads the files as debug/elf (and so scan) does,
// through the section headers.
func TestELFSections(t *testing.T) {
	for name, e := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "f")
			if err := os.WriteFile(path, e.Bytes(), 0o755); err != nil {
				t.Fatal(err)
			}
			got, err := scan.ReadELF(path, "f")
			if err != nil {
				t.Fatal(err)
			}
			want := &scan.ELF{Path: "f", Type: e.Type, Soname: e.Soname, Needed: e.Needed, Rpaths: e.Runpath, Interp: e.Interp}
			if want.Type == elf.ET_NONE {
				want.Type = elf.ET_DYN
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("scan.ReadELF (-want +got):\n%s", diff)
			}
			f, err := elf.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			machine := e.Machine
			if machine == elf.EM_NONE {
				machine = elf.EM_X86_64
			}
			if f.Machine != machine || f.Class != elf.ELFCLASS64 || (f.ByteOrder == binary.ByteOrder(binary.BigEndian)) != e.BigEndian {
				t.Errorf("header: %v %v %v", f.Machine, f.Class, f.ByteOrder)
			}
		})
	}
}

// TestELFProgramHeaders reads the files as scanelf and the dynamic linker
// do, with no section headers: PT_DYNAMIC, and DT_STRTAB's address mapped
// to the file through PT_LOAD.
func TestELFProgramHeaders(t *testing.T) {
	for name, e := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			data := e.Bytes()
			var bo binary.ByteOrder = binary.LittleEndian
			if e.BigEndian {
				bo = binary.BigEndian
			}
			phoff, phnum := bo.Uint64(data[32:]), int(bo.Uint16(data[56:]))
			type prog struct{ typ, off, vaddr, size uint64 }
			var progs []prog
			for i := range phnum {
				p := data[phoff+uint64(i)*56:]
				progs = append(progs, prog{uint64(bo.Uint32(p)), bo.Uint64(p[8:]), bo.Uint64(p[16:]), bo.Uint64(p[32:])})
			}
			toOff := func(vaddr uint64) uint64 {
				for _, p := range progs {
					if p.typ == uint64(elf.PT_LOAD) && vaddr >= p.vaddr && vaddr < p.vaddr+p.size {
						return vaddr - p.vaddr + p.off
					}
				}
				t.Fatalf("address %#x is not loaded", vaddr)
				return 0
			}
			var interp string
			var dyn []byte
			for _, p := range progs {
				switch elf.ProgType(p.typ) {
				case elf.PT_INTERP:
					interp = string(bytes.TrimRight(data[p.off:p.off+p.size], "\x00"))
				case elf.PT_DYNAMIC:
					dyn = data[toOff(p.vaddr):][:p.size]
				}
			}
			if interp != e.Interp {
				t.Errorf("PT_INTERP: %q, want %q", interp, e.Interp)
			}
			var strtab uint64
			var needed []uint64
			var soname []uint64
			for ; len(dyn) >= 16; dyn = dyn[16:] {
				switch elf.DynTag(bo.Uint64(dyn)) {
				case elf.DT_STRTAB:
					strtab = bo.Uint64(dyn[8:])
				case elf.DT_NEEDED:
					needed = append(needed, bo.Uint64(dyn[8:]))
				case elf.DT_SONAME:
					soname = append(soname, bo.Uint64(dyn[8:]))
				}
			}
			str := func(off uint64) string {
				s := data[toOff(strtab)+off:]
				return string(s[:bytes.IndexByte(s, 0)])
			}
			var gotNeeded []string
			for _, n := range needed {
				gotNeeded = append(gotNeeded, str(n))
			}
			if diff := cmp.Diff(e.Needed, gotNeeded); diff != "" {
				t.Errorf("DT_NEEDED (-want +got):\n%s", diff)
			}
			var gotSoname string
			if len(soname) == 1 {
				gotSoname = str(soname[0])
			}
			if gotSoname != e.Soname || len(soname) > 1 {
				t.Errorf("DT_SONAME: %q (%d entries), want %q", gotSoname, len(soname), e.Soname)
			}
		})
	}
}

func TestMuslLibc(t *testing.T) {
	for arch, want := range map[string]string{"x86_64": "libc.musl-x86_64.so.1", "aarch64": "libc.musl-aarch64.so.1", "armv7": "libc.musl-armhf.so.1", "x86": "libc.musl-i386.so.1", "ppc64le": "libc.musl-powerpc64le.so.1"} {
		if got := scantest.MuslLibc(arch); got != want {
			t.Errorf("MuslLibc(%q) = %q, want %q", arch, got, want)
		}
	}
}
