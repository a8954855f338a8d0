// Package version implements apk's version syntax and ordering and the
// dependency items (`[!]name[op version]`) that APKBUILD relation variables
// and .PKGINFO files hold.
//
// The grammar is the strict one apk 3.x and current abuild accept:
//
//	version = number *( "." number ) [ letter ] *( "_" suffix [ number ] ) [ "-r" number ]
//
// Ordering follows apk-tools 2.14, including its treatment of components
// with leading zeros. All functions are safe for concurrent use.
package version
