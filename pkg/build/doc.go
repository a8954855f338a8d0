// Package build turns a recipe directory into signed packages in a local
// repository, the way `abuild -r` does: dependencies, fetch, verify,
// unpack, prepare, build, check, package and one split function per
// subpackage, then for every package stripping, the package tree checks,
// dependency tracing, .PKGINFO, install scripts and triggers, the signed
// .apk, and finally the repository index.
//
// Recipe functions run through a small POSIX sh driver (driver.sh) in a
// [sandbox.Runner]: the driver sets abuild's helper and default functions
// (default_prepare, amove, the default split functions of APKBUILD.md §7),
// sources the APKBUILD and calls one phase with set -e. Everything else is
// Go. Progress and phase output go through [Options]; the package never
// prints.
package build
