// Package index reads and writes Alpine repository indexes: the APKINDEX
// text records (one per package, "X:value" lines in apk's field order) and
// the APKINDEX.tar.gz that carries them with a DESCRIPTION, as apk-tools 2.x
// reads and writes them.
//
// [ParseText] and [AppendText] convert between APKINDEX text and [Record]
// values; a real Alpine index read and written back gives the same bytes.
// [Read] reads an APKINDEX.tar.gz, signed or not, and [ReadVerified] checks
// its signature too; [Write] writes its unsigned part, byte for byte the tar
// apk index writes, and [WriteSigned] prepends a pkg/sign signature member.
// [FromPackage] makes the record of a package read by pkg/apk as apk index
// does, [Identity] gives a package's C: value from the SHA-1 of its control
// gzip member, and [Sort] orders records as apk index does.
//
// Readers of untrusted input have bounded memory: see [MaxTextSize],
// [MaxRecords] and [MaxItems].
//
// The package does no file I/O of its own: pkg/repo places indexes on disk,
// under a lock and with atomic replacement.
package index
