package apkbuild

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse feeds arbitrary recipes to the loader: it must never panic and
// end within its bounds.
//
//	go test ./pkg/apkbuild -run '^$' -fuzz FuzzParse -fuzztime 60s
func FuzzParse(f *testing.F) {
	paths, _ := filepath.Glob(filepath.Join("testdata", "recipes", "*", "APKBUILD"))
	for _, p := range paths {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	for _, s := range []string{
		header,
		header + "subpackages=\"$pkgname-doc $pkgname-dev:dev:noarch\"\nsource=\"a::https://x/y b\"\nsha512sums=\"1  a\n2  b\"\n",
		header + "case $CARCH in x86*) depends=a;; esac\nfor _i in 1 2; do depends=\"$depends ${_i/1/x}\"; done\n",
		header + "_f() { eval \"_g() { :; }\"; _g; }\n_f\n_v=$(echo a.b | cut -d. -f2)\n",
		header + "_a=x\nwhile :; do _a=$_a$_a; done\n",
		header + "_f() { _f; }\n_f\n",
		"pkgver=${x:1:2}${y//a/b}$((1+2))`echo q`\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		// The step, call and memory bounds end every input; a hang is
		// caught by the test binary's own timeout, not by timing here.
		r, err := Parse(bytes.NewReader(data), "APKBUILD", Options{Arch: "x86_64", MaxMemory: 8 << 20, MaxSteps: 1 << 16})
		if err == nil && r == nil {
			t.Fatal("nil recipe without an error")
		}
		if r != nil {
			_ = Lint(r)
		}
	})
}
