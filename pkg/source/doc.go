// Package source gets a recipe's sources right: it fetches them into a
// shared, verified cache, checks them against their checksums, unpacks
// archives safely, and rewrites the checksum block of an APKBUILD.
//
// The package knows nothing of how recipes are evaluated. Its input is a
// list of [Item] values (a saved name, a URL or a local path, and the
// expected [Checksum]); the caller builds them from whatever describes
// the recipe.
//
// # Fetching
//
// [Fetch] takes the items of one recipe and returns where each verified
// file is. Remote files live in a cache directory (SRCDEST) shared by all
// recipes and safe for several processes at once: each download holds an
// exclusive lock on <name>.lock, writes <name>.part, is verified, and only
// then is renamed to <name>, so no partial or unverified file ever has its
// final name and two processes wanting the same file download it once.
// Downloads follow redirects, use the proxies of HTTP_PROXY, HTTPS_PROXY
// and NO_PROXY, fail an attempt that receives nothing for
// [Options].Timeout, retry network errors and 5xx answers with exponential
// backoff, resume an interrupted download with a Range request where the
// server allows it, and run a bounded number at a time. ftp:// URLs are
// fetched in passive mode, anonymously unless the URL names a user, and
// resumed with REST; 4xx replies are retried, 5xx ones are not, and proxy
// variables do not apply to them.
//
// [Options].Mirror is abuild's DISTFILES_MIRROR: an http, https or ftp
// URL, or a local directory, asked once for <mirror>/<saved name> before
// each remote item's own URL. Whatever the mirror returns is verified;
// when it fails (a missing file, a network error, a wrong checksum, the
// bad copy being moved aside as below) the item's own URL is used, and
// [Result].MirrorErr says why. abuild would stop at a wrong mirror copy;
// apkit goes on, as the upstream file is verified just the same and a
// stale mirror would otherwise block the build for good. With
// [Options].Offline, only a local-directory mirror is used. With
// [Options].Offline nothing goes to the network and every missing file is
// listed in a [*MissingError]. Progress is reported through the
// [Progress] interface; the default reports nothing.
//
// # Verifying
//
// [Verify] checks one file against a sha512, sha256 or md5 [Checksum] and
// returns a [*ChecksumError] (errors.Is [ErrChecksumMismatch]) that names
// the file and both digests. [Fetch] verifies every item. A cached file
// that no longer matches is downloaded again and kept when the download
// is the same file (the recipe's checksum is what changed); any other bad
// download is moved aside to <name>.<first 8 hex digits of the expected
// digest>, as abuild does, rather than trusted or deleted. [CleanCache]
// removes such set-aside files, and files no recipe uses. [WithChecksums]
// attaches a recipe's checksum list to its items and reports sources
// without a checksum and checksums without a source.
//
// # Unpacking
//
// [Unpack] extracts tar (plain, gzip, bzip2, xz, zstd, lzip, lzma), zip
// and single compressed files into a directory. Archives are hostile
// input: absolute names, ".." escapes, writes through symlinks that lead
// out of the destination, device nodes and expansion past
// [UnpackOptions] limits are refused with an [*UnsafeError] (errors.Is
// [ErrUnsafeArchive]) and nothing is written outside the destination.
// Modes, symlinks, hard links and mtimes are kept. Decompression runs
// ahead of extraction in its own goroutine; xz and bzip2 streams are
// decoded by the xz and bzip2 programs when installed (as tar does, since
// the Go decoders are several times slower) unless [UnpackOptions].PureGo
// is set; in pure Go, the blocks of a multi-block xz file (as a
// multi-threaded xz writes) are decoded in parallel. [Populate] fills $srcdir as abuild's default unpack does: a
// symlink per source, then every archive extracted.
//
// A build pipeline calls, in order:
//
//	results, err := source.Fetch(ctx, items, source.Options{Cache: srcdest})
//	err = source.Populate(ctx, results, srcdir, source.UnpackOptions{})
//
// # Rewriting checksums
//
// [RewriteChecksums] replaces the sha512sums block of an APKBUILD in
// abuild's format and keeps every other byte of the file; [SetVariable]
// changes one assignment (pkgver, pkgrel) the same way.
//
// pkg/source never prints; errors are returned and progress goes through
// [Progress].
package source
