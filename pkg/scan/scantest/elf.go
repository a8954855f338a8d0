package scantest

import (
	"debug/elf"
	"encoding/binary"
	"strings"
)

// ELF describes a 64-bit ELF file with a dynamic section. The zero value
// is a little-endian x86-64 shared object that needs nothing.
type ELF struct {
	// Machine is the target architecture (EM_X86_64 when zero).
	Machine elf.Machine
	// BigEndian lays the file out in big-endian byte order (s390x).
	BigEndian bool
	// Type is ET_DYN (a shared object or a position-independent program,
	// when zero) or ET_EXEC.
	Type elf.Type
	// Interp is the program interpreter (PT_INTERP), "" for none.
	Interp string
	// Soname is DT_SONAME, "" for none.
	Soname string
	// Needed lists the DT_NEEDED entries, in order.
	Needed []string
	// Runpath lists DT_RUNPATH directories, joined with ':' into one entry.
	Runpath []string
}

// ForArch returns an [ELF] for the Alpine architecture arch, and false
// for an architecture whose ELF files are not 64-bit (x86, armv7, ...).
func ForArch(arch string) (ELF, bool) {
	switch arch {
	case "x86_64":
		return ELF{Machine: elf.EM_X86_64}, true
	case "aarch64":
		return ELF{Machine: elf.EM_AARCH64}, true
	case "riscv64":
		return ELF{Machine: elf.EM_RISCV}, true
	case "ppc64le":
		return ELF{Machine: elf.EM_PPC64}, true
	case "loongarch64":
		return ELF{Machine: elf.EM_LOONGARCH}, true
	case "s390x":
		return ELF{Machine: elf.EM_S390, BigEndian: true}, true
	}
	return ELF{}, false
}

// MuslArch returns musl's name for the Alpine architecture arch, the
// <arch> of its C library libc.musl-<arch>.so.1 and its dynamic linker
// ld-musl-<arch>.so.1: "i386" for x86, "armhf" for armv7, "powerpc64le"
// for ppc64le, the Alpine name for the others.
func MuslArch(arch string) string {
	switch arch {
	case "x86":
		return "i386"
	case "armv7", "armhf":
		return "armhf"
	case "ppc64le":
		return "powerpc64le"
	}
	return arch
}

// MuslLibc returns the soname of musl's C library on the Alpine
// architecture arch, "libc.musl-x86_64.so.1" for x86_64: the name Alpine's
// musl package provides as so:libc.musl-<arch>.so.1.
func MuslLibc(arch string) string {
	return "libc.musl-" + MuslArch(arch) + ".so.1"
}

// Sizes of the ELF64 structures.
const (
	ehdrSize = 64
	phdrSize = 56
	shdrSize = 64
	dynSize  = 16
)

// Bytes returns the file: the ELF header, the program headers (PT_PHDR,
// PT_INTERP when there is an interpreter, one PT_LOAD mapping the whole
// file, PT_DYNAMIC), the interpreter, .dynstr, .dynamic (with DT_STRTAB
// and DT_STRSZ pointing at .dynstr), .shstrtab and the section headers.
// ET_DYN files load at address 0, ET_EXEC files at 0x400000.
func (e ELF) Bytes() []byte {
	var bo binary.ByteOrder = binary.LittleEndian
	data := elf.ELFDATA2LSB
	if e.BigEndian {
		bo, data = binary.BigEndian, elf.ELFDATA2MSB
	}
	machine := e.Machine
	if machine == elf.EM_NONE {
		machine = elf.EM_X86_64
	}
	typ := e.Type
	if typ == elf.ET_NONE {
		typ = elf.ET_DYN
	}
	var base uint64
	if typ == elf.ET_EXEC {
		base = 0x400000
	}

	// .dynstr and the dynamic entries that point into it.
	dynstr := []byte{0}
	str := func(s string) uint64 {
		off := uint64(len(dynstr))
		dynstr = append(dynstr, s...)
		dynstr = append(dynstr, 0)
		return off
	}
	type dyn struct {
		tag elf.DynTag
		val uint64
	}
	var dyns []dyn
	for _, n := range e.Needed {
		dyns = append(dyns, dyn{elf.DT_NEEDED, str(n)})
	}
	if e.Soname != "" {
		dyns = append(dyns, dyn{elf.DT_SONAME, str(e.Soname)})
	}
	if len(e.Runpath) > 0 {
		dyns = append(dyns, dyn{elf.DT_RUNPATH, str(strings.Join(e.Runpath, ":"))})
	}
	// DT_STRTAB's address is known once the layout is.
	dyns = append(dyns, dyn{elf.DT_STRTAB, 0}, dyn{elf.DT_STRSZ, uint64(len(dynstr))}, dyn{elf.DT_NULL, 0})

	shstrtab := []byte("\x00.interp\x00.dynstr\x00.dynamic\x00.shstrtab\x00")
	const (
		nameInterp   = 1
		nameDynstr   = 9
		nameDynamic  = 17
		nameShstrtab = 26
	)

	// Layout.
	nph := 3
	if e.Interp != "" {
		nph++
	}
	align := func(n, a uint64) uint64 { return (n + a - 1) &^ (a - 1) }
	phoff := uint64(ehdrSize)
	interpOff := phoff + uint64(nph*phdrSize)
	interp := []byte{}
	if e.Interp != "" {
		interp = append([]byte(e.Interp), 0)
	}
	dynstrOff := interpOff + uint64(len(interp))
	dynamicOff := align(dynstrOff+uint64(len(dynstr)), 8)
	dynamicSize := uint64(len(dyns) * dynSize)
	loadEnd := dynamicOff + dynamicSize
	shstrOff := loadEnd
	shoff := align(shstrOff+uint64(len(shstrtab)), 8)
	nsh := 4
	if e.Interp != "" {
		nsh++
	}
	buf := make([]byte, shoff+uint64(nsh*shdrSize))

	// ELF header.
	copy(buf, elf.ELFMAG)
	buf[elf.EI_CLASS] = byte(elf.ELFCLASS64)
	buf[elf.EI_DATA] = byte(data)
	buf[elf.EI_VERSION] = byte(elf.EV_CURRENT)
	buf[elf.EI_OSABI] = byte(elf.ELFOSABI_NONE)
	bo.PutUint16(buf[16:], uint16(typ))
	bo.PutUint16(buf[18:], uint16(machine))
	bo.PutUint32(buf[20:], uint32(elf.EV_CURRENT))
	bo.PutUint64(buf[24:], 0) // e_entry: no code
	bo.PutUint64(buf[32:], phoff)
	bo.PutUint64(buf[40:], shoff)
	bo.PutUint32(buf[48:], 0) // e_flags
	bo.PutUint16(buf[52:], ehdrSize)
	bo.PutUint16(buf[54:], phdrSize)
	bo.PutUint16(buf[56:], uint16(nph))
	bo.PutUint16(buf[58:], shdrSize)
	bo.PutUint16(buf[60:], uint16(nsh))
	bo.PutUint16(buf[62:], uint16(nsh-1)) // .shstrtab is last

	// Program headers.
	ph := buf[phoff:]
	putPhdr := func(typ elf.ProgType, flags elf.ProgFlag, off, size, align uint64) {
		bo.PutUint32(ph[0:], uint32(typ))
		bo.PutUint32(ph[4:], uint32(flags))
		bo.PutUint64(ph[8:], off)
		bo.PutUint64(ph[16:], base+off) // p_vaddr
		bo.PutUint64(ph[24:], base+off) // p_paddr
		bo.PutUint64(ph[32:], size)     // p_filesz
		bo.PutUint64(ph[40:], size)     // p_memsz
		bo.PutUint64(ph[48:], align)
		ph = ph[phdrSize:]
	}
	putPhdr(elf.PT_PHDR, elf.PF_R, phoff, uint64(nph*phdrSize), 8)
	if e.Interp != "" {
		putPhdr(elf.PT_INTERP, elf.PF_R, interpOff, uint64(len(interp)), 1)
	}
	putPhdr(elf.PT_LOAD, elf.PF_R|elf.PF_W, 0, loadEnd, 0x1000)
	putPhdr(elf.PT_DYNAMIC, elf.PF_R|elf.PF_W, dynamicOff, dynamicSize, 8)

	// Contents.
	copy(buf[interpOff:], interp)
	copy(buf[dynstrOff:], dynstr)
	d := buf[dynamicOff:]
	for _, x := range dyns {
		if x.tag == elf.DT_STRTAB {
			x.val = base + dynstrOff
		}
		bo.PutUint64(d[0:], uint64(x.tag))
		bo.PutUint64(d[8:], x.val)
		d = d[dynSize:]
	}
	copy(buf[shstrOff:], shstrtab)

	// Section headers; the first is the null section.
	sh := buf[shoff+shdrSize:]
	putShdr := func(name uint32, typ elf.SectionType, flags elf.SectionFlag, addr, off, size uint64, link uint32, align, entsize uint64) {
		bo.PutUint32(sh[0:], name)
		bo.PutUint32(sh[4:], uint32(typ))
		bo.PutUint64(sh[8:], uint64(flags))
		bo.PutUint64(sh[16:], addr)
		bo.PutUint64(sh[24:], off)
		bo.PutUint64(sh[32:], size)
		bo.PutUint32(sh[40:], link)
		bo.PutUint32(sh[44:], 0) // sh_info
		bo.PutUint64(sh[48:], align)
		bo.PutUint64(sh[56:], entsize)
		sh = sh[shdrSize:]
	}
	dynstrIndex := uint32(1)
	if e.Interp != "" {
		putShdr(nameInterp, elf.SHT_PROGBITS, elf.SHF_ALLOC, base+interpOff, interpOff, uint64(len(interp)), 0, 1, 0)
		dynstrIndex = 2
	}
	putShdr(nameDynstr, elf.SHT_STRTAB, elf.SHF_ALLOC, base+dynstrOff, dynstrOff, uint64(len(dynstr)), 0, 1, 0)
	putShdr(nameDynamic, elf.SHT_DYNAMIC, elf.SHF_ALLOC|elf.SHF_WRITE, base+dynamicOff, dynamicOff, dynamicSize, dynstrIndex, 8, dynSize)
	putShdr(nameShstrtab, elf.SHT_STRTAB, 0, 0, shstrOff, uint64(len(shstrtab)), 0, 1, 0)
	return buf
}
