// Package scan inspects a package's file tree the way abuild does after
// packaging: it finds ELF objects (with debug/elf, never by running tools),
// the shared objects a package provides and needs, its commands and
// pkg-config modules, its rpaths and broken symlinks, and it strips ELF
// files. [Trace] then resolves the needs of all packages of one build
// against each other into so:, cmd: and pc: provides and depends
// (APKBUILD.md §6.11).
//
// Trees are untrusted: malformed ELF or .pc files are reported or skipped,
// never a panic, and nothing outside the tree is followed.
package scan
