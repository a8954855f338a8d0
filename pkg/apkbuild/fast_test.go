package apkbuild

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"mvdan.cc/sh/v3/syntax"
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
		{"backslash", "x=\"a\\\"b\\$ \\\\\"\ny=a\\ b\n", 0, true},
		{"command", "pkgname=foo\necho hi\n", 0, false},
		{"case", "case $CARCH in x86_64) a=1;; esac\n", 0, true},
		{"case patterns", "case \"$CARCH\" in\n\taarch64|x86*) a=1 ;;\n\t*) a=2; b=3 ;;\nesac\ncase foo in f?[a-z]) c=1;; esac\n", 0, true},
		{"case no match", "case \"$CARCH\" in s390x) a=1;; esac\n", 0, true},
		{"case nested", "case $CARCH in x86_64) case $CLIBC in musl) a=1;; esac;; esac\n", 0, true},
		{"case command", "case $CARCH in x86_64) echo a;; esac\n", 0, false},
		{"pattern", "pkgver=1.2.3\n_v=${pkgver%.*} _w=${pkgver#*.} _x=${pkgver%%.*} _y=${pkgver##*.}\n", 0, true},
		{"replace", "pkgver=1.2.3\n_v=${pkgver//./_} _w=\"${pkgver/./-}\"\n", 0, true},
		{"slice", "pkgver=1.2.3\n_v=${pkgver:0:3} _w=${pkgver:2} _n=${#pkgver}\n", 0, true},
		{"defaults", "a=${x:-def} b=${pkgname:-no} c=${y:=set} d=${c:+alt}\n", 0, true},
		{"arithmetic", "a=$((1 + 2 * 3)) b=$((a + 1))\n", 0, true},
		{"error", "a=${x:?missing}\n", 0, false},
		{"substitution", "a=$(echo x)\n", 0, false},
		{"nested substitution", "a=${x:-$(echo x)}\n", 0, false},
		{"special in arithmetic", "a=$((PPID + 0))\n", 0, false},
		{"special", "a=$LINENO\nb=$PPID\n", 0, false},
		{"positional", "a=$1\n", 0, false},
		{"export", "export a=1 b=\"$a\"\nexport CFLAGS=\"$CFLAGS -O2\"\n", 0, true},
		{"export naked", "export CC\na=1\nexport a\nexport a\n", 0, true},
		{"export naked unset", "export nothing\n", 0, false},
		{"export flag", "export -n CC\n", 0, false},
		{"export list", "export\n", 0, false},
		{"local", "local a=1\n", 0, false},
		{"for", "subpackages=\"$pkgname-dev\"\nfor _m in a b \"c d\" $CARCH; do\n\tsubpackages=\"$subpackages $pkgname-$_m:_m\"\ndone\n", 0, true},
		{"for split", "_list=\"x  y\tz\"\nfor i in $_list; do case $i in y) a=$i;; esac; done\n", 0, true},
		{"for empty", "for i in $nothing; do a=1; done\n", 0, true},
		{"for braces", "for i in {a,b}; do x=\"$x$i\"; done\n", 0, true},
		{"for glob", "for i in *.patch; do x=$i; done\n", 0, false},
		{"for params", "for i; do x=$i; done\n", 0, false},
		{"for break", "for i in a b; do break; done\n", 0, false},
		{"readonly", "readonly a=1\n", 0, false},
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
				_, _, fast := e.fastEval(context.Background(), time.Now().Add(time.Minute), p, maxMem, DefaultMaxSteps)
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
			own := func(funcs map[string]*syntax.Stmt) map[string]string {
				m := map[string]string{}
				for name, body := range funcs {
					if !isHelper(name, body) {
						m[name] = body.Pos().String()
					}
				}
				return m
			}
			if diff := cmp.Diff(own(want.funcs), own(got.funcs)); diff != "" {
				t.Errorf("functions (-interpreter +got):\n%s", diff)
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

// TestStepBound checks that the step bound counts statements weighted by
// what they expand, the same way on the fast path and in the interpreter,
// so that a long file ends at the same bound on any machine.
func TestStepBound(t *testing.T) {
	t.Parallel()
	// Each line expands 4 values of a 2 KiB variable: 1+4*2 steps.
	long := func(lines int) string {
		return header + "_a=" + strings.Repeat("x", 2<<10) + "\n" + strings.Repeat("_b=${#_a}${#_a}${#_a}${#_a}\n", lines)
	}
	// A for loop over words: one step per statement of the body.
	loop := func(words int) string {
		return header + "_l=\"" + strings.Repeat("a ", words) + "\"\nfor _i in $_l; do _x=$_i; _y=2; done\n"
	}
	tests := []struct {
		name string
		src  string
		ok   bool
		fast bool // the fast path takes it
	}{
		{"expansions under", long(100), true, true},
		{"expansions over", long(120), false, true},
		{"loop under", loop(450), true, true},
		{"loop over", loop(550), false, true},
		// Loops that run no command end by steps too.
		{"endless while", header + "while _x=1; do _y=2; done\n", false, false},
		{"nested for", header + "_w=\"a a a a a a a a a a\"\n_l=\"$_w $_w $_w $_w $_w $_w $_w $_w $_w $_w\"\nfor _i in $_l; do for _j in $_l; do _y=2; done; done\n", false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p, err := parseShell([]byte(tc.src), "APKBUILD")
			if err != nil {
				t.Fatal(err)
			}
			for _, interpOnly := range []bool{false, true} {
				e := &shellEval{filename: "APKBUILD", env: Environment("/APKBUILD", "x86_64", nil), preamble: true, interpOnly: interpOnly, maxSteps: 1000}
				if !interpOnly {
					if _, _, fast := e.fastEval(context.Background(), time.Now().Add(time.Hour), p, DefaultMaxMemory, DefaultMaxSteps); fast != tc.fast {
						t.Fatalf("the fast path takes the file: %v, want %v", fast, tc.fast)
					}
				}
				_, err := e.run(context.Background(), p)
				switch {
				case tc.ok && err != nil:
					t.Errorf("interpreter only %v: %v", interpOnly, err)
				case !tc.ok && (err == nil || !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), "more than 1000 evaluation steps")):
					t.Errorf("interpreter only %v: error %v, want the step bound", interpOnly, err)
				}
			}
		})
	}
}

// TestTimeoutBackstop checks the wall-clock backstop's error with a
// deadline that has passed before evaluation starts.
func TestTimeoutBackstop(t *testing.T) {
	t.Parallel()
	_, err := Parse(strings.NewReader(header), "APKBUILD", Options{Arch: "x86_64", Timeout: time.Nanosecond})
	if err == nil || !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), "evaluation took longer than 1ns") {
		t.Fatalf("error %v, want the time bound", err)
	}
}
