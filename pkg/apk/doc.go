// Package apk reads, verifies and writes Alpine v2 packages (.apk): three
// gzip members, the signature segment, the control segment (.PKGINFO and
// scripts) and the data segment (the installed tree), as apk-tools 2.x and
// 3.x read them.
//
// # Reading and verifying
//
// [Read] splits a package in one pass from any io.Reader (wrap an
// io.ReaderAt in an io.SectionReader) and records what it finds: the typed
// [PkgInfo], the signatures, scripts, data entries, the SHA-1 of the
// control segment that an index uses as the package identity
// ([Package.ID], C:Q1...), the SHA-256 of the data segment and the files
// whose content does not match their checksum record. With
// ReadOptions.ControlOnly it stops after the control segment, which is
// all an index entry needs. [Verify] turns a read into a [Result]: OK or
// the first check that failed ([Problem]: truncated, BAD archive, BAD
// signature, checksum mismatch, UNTRUSTED). A stream that is not a package
// (an index, say) gives [ErrNotPackage].
//
// # Writing
//
// [Write] makes a package of a staged tree and its [Input] metadata:
// entries sorted by path, a SHA-1 PAX record for every file and symlink,
// hard links by inode, xattrs, devices, setuid bits, the installed size
// and datahash computed, and the signature over the control segment. The
// bytes depend only on the tree, metadata, key, level and time, never on
// the number of workers: the data segment is one gzip member whose 1 MiB
// chunks are compressed in parallel, each primed with the 32 KiB before
// it. [LevelDefault] and [LevelBest] use apkit's own deflate encoder;
// levels 1 to 9 use klauspost/compress. [Resign] replaces a package's
// signature segment.
//
// .PKGINFO is written in abuild's field order: header comments, pkgname,
// pkgver, pkgdesc, url, builddate, packager, size, arch, origin, commit,
// maintainer, replaces_priority, provider_priority, license, replaces,
// depend, provides, triggers, install_if, "# automatically detected:",
// detected provides and depends, then datahash.
//
// Nothing here prints or exits; Write stages the data segment in a
// temporary file (Input.TempDir) and otherwise only uses the readers and
// writers it is given.
package apk
