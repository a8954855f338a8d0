// Package scantest makes small, valid ELF files for tests of dependency
// tracing, so that no C compiler is needed: [ELF] describes a shared
// object or a program by its dynamic section (DT_NEEDED, DT_SONAME,
// DT_RUNPATH) and its interpreter, and [ELF.Bytes] lays it out as a
// linker would, readable through its program headers (as apk's scanelf
// reads it) and through its section headers (as [debug/elf] reads it).
// The files have no code: they are for reading, not for running.
package scantest
