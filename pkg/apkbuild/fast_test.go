package apkbuild

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestFastEvalMatchesInterpreter(t *testing.T) {
	tests := []struct {
		name   string
		src    string
		maxMem int64
		fast   bool // fastEval takes it
	}{
		{"literals", "pkgname=foo\npkgver=1.2\npkgrel=0\n", 0, true},
		{"quotes", "pkgdesc='a b'\nurl=\"https://x/~u/\"\nx=a'b'\"c\"\n", 0, true},
		{"params", "pkgname=foo\n_p=$pkgname\nsource=\"$pkgname-${pkgname}.tgz $srcdir $CARCH $PWD $IFS $OPTIND\"\n", 0, true},
		{"unset", "x=\"$nothing${nothing}\"\ny=\n", 0, true},
		{"several per statement", "a=1 b=$a c=\"$b$a\"\n", 0, true},
		{"reassign", "a=1\na=\"$a 2\"\na=$a\n", 0, true},
		{"env override", "CARCH=x\nsrcdir=$CARCH\n", 0, true},
		{"functions", "build() {\n\tmake\n}\npackage() { :; }\nmsg() { :; }\nbuild() { true; }\n", 0, true},
		{"braces", "x={a,b}\ny=\"{c}\"\n", 0, true},
		{"tilde", "x=~/a\n", 0, false},
		{"backslash", "x=\"a\\\"b\"\n", 0, false},
		{"command", "pkgname=foo\necho hi\n", 0, false},
		{"case", "case $CARCH in x86_64) a=1;; esac\n", 0, false},
		{"pattern", "pkgver=1.2.3\n_v=${pkgver%.*}\n", 0, false},
		{"substitution", "a=$(echo x)\n", 0, false},
		{"special", "a=$LINENO\nb=$PPID\n", 0, false},
		{"positional", "a=$1\n", 0, false},
		{"export", "export a=1\n", 0, false},
		{"redirect", "a=1 >/dev/null\n", 0, false},
		{"memory bound", "a=" + strings.Repeat("x", 1000) + "\n" + strings.Repeat("a=$a$a$a$a\n", 6), 1 << 20, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			eval := func(interpOnly bool) (*evalResult, bool, error) {
				p, err := parseShell([]byte(tc.src), "/x/main/foo/APKBUILD")
				if err != nil {
					t.Fatal(err)
				}
				e := &shellEval{filename: "APKBUILD", dir: "/x/main/foo", env: Environment("/x/main/foo/APKBUILD", "x86_64", nil), maxMem: tc.maxMem, preamble: true, interpOnly: interpOnly}
				maxMem := tc.maxMem
				if maxMem == 0 {
					maxMem = DefaultMaxMemory
				}
				_, _, fast := e.fastEval(p, maxMem)
				res, err := e.run(context.Background(), p)
				return res, fast, err
			}
			got, fast, gerr := eval(false)
			want, _, werr := eval(true)
			if fast != tc.fast {
				t.Errorf("fastEval took it: %v, want %v", fast, tc.fast)
			}
			if (gerr == nil) != (werr == nil) || gerr != nil && gerr.Error() != werr.Error() {
				t.Fatalf("error %v, interpreter %v", gerr, werr)
			}
			if gerr != nil {
				return
			}
			if diff := cmp.Diff(want.vars, got.vars); diff != "" {
				t.Errorf("variables (-interpreter +got):\n%s", diff)
			}
			if len(want.funcs) != len(got.funcs) {
				t.Errorf("%d functions, interpreter %d", len(got.funcs), len(want.funcs))
			}
			for name, body := range want.funcs {
				if got.funcs[name] == nil || got.funcs[name].Pos() != body.Pos() {
					t.Errorf("function %s differs", name)
				}
			}
		})
	}
}

// TestFastEvalMemoryBound checks that a file fastEval would take still
// gets the interpreter's memory error.
func TestFastEvalMemoryBound(t *testing.T) {
	src := "a=" + strings.Repeat("x", 1000) + "\n" + strings.Repeat("a=$a$a$a$a\n", 8)
	_, err := Parse(strings.NewReader(src), "APKBUILD", Options{Arch: "x86_64", MaxMemory: 1 << 20})
	if err == nil || !strings.Contains(err.Error(), "memory") {
		t.Fatalf("error %v, want the memory bound", err)
	}
}
