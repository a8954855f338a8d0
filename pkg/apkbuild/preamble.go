package apkbuild

import (
	"strings"
	"sync"

	"mvdan.cc/sh/v3/syntax"
)

// preambleSrc defines the abuild helpers a recipe may call while it is
// being read (spec §2.4). Messages go to standard error; die stops the
// evaluation with an error.
const preambleSrc = `
msg() { printf '>>> %s\n' "$*" >&2; }
msg2() { printf '    %s\n' "$*" >&2; }
warning() { printf '>>> WARNING: %s\n' "$*" >&2; }
warning2() { printf '    %s\n' "$*" >&2; }
error() { printf '>>> ERROR: %s\n' "$*" >&2; }
error2() { printf '    %s\n' "$*" >&2; }
die() { error "$@"; exit 1; }
options_has() {
	for _apkit_o in $options; do
		[ "$_apkit_o" = "$1" ] && return 0
		[ "$_apkit_o" = "${subpkgname:-$pkgname}::$1" ] && return 0
	done
	return 1
}
subpackages_has() {
	for _apkit_s in $subpackages; do
		[ "${_apkit_s%%:*}" = "$1" ] && return 0
	done
	return 1
}
depends_has() {
	for _apkit_d in $depends; do
		[ "${_apkit_d%%[<>=~]*}" = "$1" ] && return 0
	done
	return 1
}
makedepends_has() {
	for _apkit_d in $makedepends; do
		[ "${_apkit_d%%[<>=~]*}" = "$1" ] && return 0
	done
	return 1
}
cross_compiling() { [ "$CBUILD" != "$CHOST" ]; }
cross_creating() { [ "$CHOST" != "$CTARGET" ]; }
want_check() {
	[ -n "$ABUILD_BOOTSTRAP" ] && return 1
	cross_compiling && return 1
	options_has "!check" && return 1
	return 0
}
`

// preambleRoom is how many functions of a file the map of helpers has
// room for: a clone of it takes a recipe's functions without growing.
const preambleRoom = 40

var (
	preambleOnce sync.Once
	preambleMap  map[string]*syntax.Stmt
)

// preambleFuncs returns the helper functions, parsed once. Callers must
// not modify the map.
func preambleFuncs() map[string]*syntax.Stmt {
	preambleOnce.Do(func() {
		f, err := newParser().Parse(strings.NewReader(preambleSrc), "abuild-helpers")
		if err != nil {
			panic("apkbuild: helper functions do not parse: " + err.Error())
		}
		if bad := instrument(f); bad != nil {
			panic("apkbuild: helper functions use " + bad.what)
		}
		preambleMap = make(map[string]*syntax.Stmt, 16+preambleRoom)
		for _, st := range f.Stmts {
			if fd, ok := st.Cmd.(*syntax.FuncDecl); ok {
				preambleMap[fd.Name.Value] = fd.Body
			}
		}
	})
	return preambleMap
}

// isHelper reports whether body is one of the helper functions (not
// redefined by the recipe).
func isHelper(name string, body *syntax.Stmt) bool {
	return preambleFuncs()[name] == body && strings.TrimSpace(name) != ""
}
