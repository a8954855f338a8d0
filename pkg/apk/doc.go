// Package apk reads, verifies and writes Alpine v2 packages (.apk): three
// gzip members, the signature segment, the control segment (.PKGINFO and
// scripts) and the data segment (the installed tree), as apk-tools 2.x and
// 3.x read them.
//
// [Read] splits a package in one pass and records what it finds: the typed
// [PkgInfo], the signatures, scripts, data entries, the SHA-1 of the
// control segment that an index uses as the package identity
// ([Package.ID], C:Q1...), the SHA-256 of the data segment and the files
// whose content does not match their checksum record. [Verify] turns that
// into a [Result]: OK or the first check that failed.
//
// .PKGINFO is written in abuild's field order: header comments, pkgname,
// pkgver, pkgdesc, url, builddate, packager, size, arch, origin, commit,
// maintainer, replaces_priority, provider_priority, license, replaces,
// depend, provides, triggers, install_if, "# automatically detected:",
// detected provides and depends, then datahash.
//
// Nothing here prints, exits or opens files: callers pass readers and
// writers.
package apk
