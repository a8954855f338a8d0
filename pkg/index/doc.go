// Package index reads and writes Alpine repository indexes: the APKINDEX
// text records (one per package, "X:value" lines in apk's field order) and
// the APKINDEX.tar.gz that carries them with a DESCRIPTION, as apk-tools 2.x
// reads and writes them (../spec/APK-FORMAT.md §13 in the project's shared
// reference).
//
// [ParseText] and [AppendText] convert between APKINDEX text and [Record]
// values; a real Alpine index read and written back gives the same bytes.
// [Read] reads an APKINDEX.tar.gz, signed or not; [Write] writes its unsigned
// part, which pkg/sign signs by prepending a signature member. [Identity]
// gives a package's C: value from the SHA-1 of its control gzip member.
//
// The package does no file I/O of its own: pkg/repo places indexes on disk,
// under a lock and with atomic replacement.
package index
