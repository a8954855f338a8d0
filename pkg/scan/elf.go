package scan

import (
	"bytes"
	"debug/elf"
	"fmt"
	"io"
	"os"
)

// ELF holds what the tracer and the package checks need of one ELF file.
type ELF struct {
	// Path is the file's path relative to the package root, with no leading slash.
	Path string
	// Type is the ELF type (ET_EXEC, ET_DYN, ET_REL, ...).
	Type elf.Type
	// Standalone is true for OSABI "standalone" objects (firmware), never stripped.
	Standalone bool
	// Soname is DT_SONAME ("" when absent).
	Soname string
	// Needed lists DT_NEEDED entries.
	Needed []string
	// Rpaths lists the DT_RPATH and DT_RUNPATH directories, unexpanded.
	Rpaths []string
	// TextRel is true when the object has text relocations.
	TextRel bool
	// Interp is the program interpreter (PT_INTERP), if any.
	Interp string
}

var elfMagic = []byte("\x7fELF")

// isELF reports whether the first bytes of r are the ELF magic.
func isELF(r io.ReaderAt) bool {
	var b [4]byte
	n, _ := r.ReadAt(b[:], 0)
	return n == 4 && bytes.Equal(b[:], elfMagic)
}

// ReadELF parses the ELF file at path. It returns (nil, nil) when the file
// is not ELF and an error when it is ELF but malformed.
func ReadELF(path, rel string) (e *ELF, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if !isELF(f) {
		return nil, nil
	}
	defer func() {
		if r := recover(); r != nil {
			e, err = nil, fmt.Errorf("%s: malformed ELF: %v", rel, r)
		}
	}()
	ef, err := elf.NewFile(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", rel, err)
	}
	defer ef.Close()
	e = &ELF{Path: rel, Type: ef.Type, Standalone: ef.OSABI == elf.ELFOSABI_STANDALONE}
	for _, p := range ef.Progs {
		if p.Type == elf.PT_INTERP {
			b, err := io.ReadAll(io.LimitReader(p.Open(), 4096))
			if err == nil {
				e.Interp = string(bytes.TrimRight(b, "\x00"))
			}
		}
	}
	if ef.Section(".dynamic") == nil && dynamicProg(ef) == nil {
		return e, nil
	}
	if s, err := ef.DynString(elf.DT_SONAME); err == nil && len(s) > 0 {
		e.Soname = s[0]
	}
	if s, err := ef.DynString(elf.DT_NEEDED); err == nil {
		e.Needed = s
	}
	for _, tag := range []elf.DynTag{elf.DT_RPATH, elf.DT_RUNPATH} {
		if s, err := ef.DynString(tag); err == nil {
			for _, v := range s {
				e.Rpaths = append(e.Rpaths, splitColon(v)...)
			}
		}
	}
	if v, err := ef.DynValue(elf.DT_TEXTREL); err == nil && len(v) > 0 {
		e.TextRel = true
	}
	if v, err := ef.DynValue(elf.DT_FLAGS); err == nil {
		for _, f := range v {
			if f&uint64(elf.DF_TEXTREL) != 0 {
				e.TextRel = true
			}
		}
	}
	return e, nil
}

func dynamicProg(ef *elf.File) *elf.Prog {
	for _, p := range ef.Progs {
		if p.Type == elf.PT_DYNAMIC {
			return p
		}
	}
	return nil
}

func splitColon(s string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == ':' {
			if i > start {
				out = append(out, s[start:i])
			}
			start = i + 1
		}
	}
	return out
}
