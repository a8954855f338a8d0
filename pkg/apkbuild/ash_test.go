package apkbuild

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestAshDifferential evaluates snippets with busybox ash and with the
// evaluator, in the same environment, and compares the variables of the
// specification. It needs busybox (Debian package busybox or
// busybox-static); in CI it fails without it. Only behaviours that do not
// depend on the C library busybox is built on are compared; the others are
// pinned to Alpine's results in TestAlpineApplets.
func TestAshDifferential(t *testing.T) {
	busybox, err := exec.LookPath("busybox")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("busybox is not installed and CI is set")
		}
		t.Skip("busybox is not installed")
	}
	snippets := map[string]string{
		"replace first":       `_v=a.b.c; pkgdesc=${_v/./-}`,
		"replace all":         `_v=a.b.c; pkgdesc=${_v//./-}`,
		"replace empty":       `_v=a.b.c; pkgdesc=${_v//./}`,
		"replace glob":        `_v=foo-1.2.3; pkgdesc=${_v/-*/}`,
		"replace anchored":    `_v=abcabc; pkgdesc="${_v/#a/X}|${_v/%c/Y}"`,
		"replace ampersand":   `_v=abc; pkgdesc=${_v/b/[&]}`,
		"replace class":       `_v=a1b2c3; pkgdesc=${_v//[0-9]/}`,
		"substring":           `_v=abcdef; pkgdesc="${_v:1:3}|${_v:2}|${_v: -2}|${_v:0:0}|${_v:10}"`,
		"substring expr":      `_v=abcdef; _n=2; pkgdesc="${_v:_n:_n+1}|${_v:$_n}"`,
		"trim":                `_v=foo-1.2.3-bar; pkgdesc="${_v%%-*}|${_v%-*}|${_v#*-}|${_v##*-}"`,
		"trim class":          `_v=1.2.3_rc1; pkgdesc="${_v%%[_-]*}|${_v%.[0-9]*}"`,
		"length":              `_v=abcdef; pkgdesc=${#_v}`,
		"defaults":            `pkgdesc="${_u:-a}|${_u-b}|${_e:-c}|${_e-d}|${_s:+e}|${_u:+f}|${_u:=g}|$_u"; _e=""; _s=x`,
		"case":                "case \"$CARCH\" in\nx86*) pkgdesc=x86 ;;\naarch64|arm*) pkgdesc=arm ;;\n*) pkgdesc=other ;;\nesac",
		"case fallthrough":    "case 1.2 in\n[0-9].*) pkgdesc=num;;\nesac",
		"arithmetic":          `pkgdesc="$((3 + 4 * 2)) $((7 / 2)) $((7 % 3)) $((1 << 4)) $((010)) $((0x10)) $((-3 / 2))"`,
		"arithmetic vars":     `_a=5; _b=3; pkgdesc=$((_a * _b - $_a))`,
		"test":                `[ -n "$CARCH" ] && [ "$CARCH" != foo ] && [ 3 -gt 2 ] && pkgdesc=yes || pkgdesc=no`,
		"test string order":   `[ "a" \< "b" ] && pkgdesc=lt || pkgdesc=ge`,
		"double brackets":     `[[ "$CARCH" == x86* ]] && pkgdesc=x86 || pkgdesc=other`,
		"echo":                `pkgdesc=$(echo a  b "c  d")`,
		"echo n":              `pkgdesc="$(echo -n x)y"`,
		"echo backslash":      `pkgdesc=$(echo 'a\tb')`,
		"printf":              `pkgdesc=$(printf '%s-%03d-%x-%5s|%-3s|' a 7 255 b c)`,
		"printf reuse":        `pkgdesc=$(printf '%s,' a b c)`,
		"printf escapes":      `pkgdesc=$(printf 'a\tb\\n')`,
		"cut":                 `pkgdesc=$(echo 1.2.3.4 | cut -d. -f1,3-)`,
		"cut chars":           `pkgdesc=$(echo abcdef | cut -c2-4)`,
		"tr":                  `pkgdesc=$(echo Hello.World | tr '.A-Z' '-a-z')`,
		"tr delete":           `pkgdesc=$(echo a.b.c | tr -d .)`,
		"basename":            `pkgdesc="$(basename /a/b/c.tar.gz .tar.gz) $(basename /a/b/) $(dirname /a/b/c) $(dirname c)"`,
		"head tail":           `pkgdesc="$(printf '1\n2\n3\n' | head -n 2 | tail -n 1)"`,
		"head tail forms":     `pkgdesc="$(printf '1\n2\n3\n' | head -1)|$(printf '1\n2\n3\n' | tail -n +2 | tr '\n' ,)|$(echo abcdef | head -c 3)|$(echo abcdef | tail -c 3)"`,
		"expr forms":          `pkgdesc="$(expr 7 / 2) $(expr 7 % 3) $(expr 2 \* 3) $(expr 3 - 5) $(expr 2 \< 3) $(expr abc = abc)"`,
		"wc forms":            `pkgdesc="$(printf 'a b\nc\n' | wc -w) $(printf 'abc' | wc -c)"`,
		"cut forms":           `pkgdesc="$(echo a:b:c | cut -d: -f2-) $(echo a:b:c | cut -f1 -d :) $(echo abc | cut -b1) $(echo a,b | cut -d, -f3)"`,
		"tr forms":            `pkgdesc="$(echo aabbcc | tr -s abc) $(echo abc | tr -dc b) $(echo a-b_c | tr -- '-_' '..')"`,
		"basename forms":      `pkgdesc="$(basename /) $(basename a.tar a.tar) $(basename //a//) $(dirname /) $(dirname a/b/) $(dirname /a) $(dirname a//)"`,
		"cut only delimited":  `pkgdesc="$(printf 'a:b\nc\n' | cut -s -d: -f1 | tr '\n' ,)|$(printf 'a:b\nc\n' | cut -d: -f2 | tr '\n' ,)"`,
		"tr classes":          `pkgdesc="$(echo 'Ab1 ,x' | tr -d '[:punct:][:space:]') $(echo abc | tr a-c A-C) $(echo 'a  b' | tr -s ' ')"`,
		"seq forms":           `pkgdesc="$(seq 2 4 | tr '\n' ,) $(seq 1 2 7 | tr '\n' ,) $(seq 3 -1 1 | tr '\n' ,)"`,
		"expr string":         `pkgdesc="$(expr 10 \> 9) $(expr b \> a) $(expr 5 != 5 || true)"`,
		"sort forms":          `pkgdesc=$(printf '2\n1\n3\n' | sort -r | tr '\n' ' ')`,
		"expr":                `pkgdesc=$(expr 3 + 4)`,
		"seq":                 `for _i in $(seq 3); do pkgdesc="$pkgdesc$_i"; done`,
		"sort":                `pkgdesc=$(printf 'b\na\nc\na\n' | sort -u | tr '\n' ' ')`,
		"wc":                  `pkgdesc=$(printf 'a b\nc\n' | wc -l)`,
		"subshell":            `pkgdesc=$( (echo in); echo out)`,
		"nested subst":        `pkgdesc=$(echo $(echo a)$(echo b))`,
		"backticks":           "pkgdesc=`echo x`",
		"single quotes":       `pkgdesc='a $b "c"'`,
		"double quotes":       `_b=B; pkgdesc="a $_b \$c \"d\" \\ e"`,
		"ansi c":              `pkgdesc=$'a\tb\x41'`,
		"ifs split":           `_l="a b  c"; for _w in $_l; do pkgdesc="$pkgdesc[$_w]"; done`,
		"ifs custom":          `_l="a:b:c"; IFS=:; for _w in $_l; do pkgdesc="$pkgdesc[$_w]"; done; unset IFS`,
		"no brace expansion":  `for _w in {a,b} x{1..2}; do pkgdesc="$pkgdesc[$_w]"; done`,
		"function":            "_f() { pkgdesc=\"$pkgdesc$1-$#\"; }\n_f a b\n_f c",
		"local":               "_f() { local _x=1; pkgdesc=$_x; }\n_x=0\n_f\npkgdesc=$pkgdesc$_x",
		"return":              "_f() { return 3; }\n_f || pkgdesc=$?",
		"eval":                `_n=pkgdesc; eval "$_n=\"evaluated \$CARCH\""`,
		"eval function":       "eval '_g() { pkgdesc=from-eval; }'\n_g",
		"export":              `export pkgdesc=exported`,
		"while read":          "while read -r _a _b; do pkgdesc=\"$pkgdesc[$_a/$_b]\"; done <<EOF\n1 2\n3 4 5\nEOF",
		"heredoc expansion":   "pkgdesc=$(cat <<EOF\nx $CARCH \\$y\nEOF\n)",
		"heredoc quoted":      "pkgdesc=$(cat <<'EOF'\nx $CARCH\nEOF\n)",
		"heredoc dash":        "pkgdesc=$(cat <<-EOF\n\tindented\n\tEOF\n)",
		"set positional":      `set -- a b c; pkgdesc="$# $2 $*"`,
		"shift":               `set -- a b c; shift; pkgdesc="$@"`,
		"unset":               `pkgdesc=x; unset pkgdesc`,
		"star at":             "_f() { pkgdesc=\"$*|$@\"; }\n_f a 'b c'",
		"glob no match":       `for _f in /nonexistent/*.patch; do pkgdesc=$_f; done`,
		"options_has":         "options=\"!check net\"\noptions_has net && pkgdesc=net",
		"subpackages_has":     "subpackages=\"$pkgname-doc $pkgname-dev:dev\"\nsubpackages_has $pkgname-dev && pkgdesc=has",
		"cross_compiling":     `cross_compiling && pkgdesc=cross || pkgdesc=native`,
		"loop break continue": `for _i in 1 2 3 4 5; do [ $_i = 2 ] && continue; [ $_i = 4 ] && break; pkgdesc="$pkgdesc$_i"; done`,
		"until":               `_i=0; until [ $_i -ge 3 ]; do _i=$((_i+1)); pkgdesc="$pkgdesc$_i"; done`,
		"and or":              `false && pkgdesc=a || pkgdesc=b`,
		"if elif":             "if [ 1 = 2 ]; then pkgdesc=a; elif [ 2 = 2 ]; then pkgdesc=b; else pkgdesc=c; fi",
		"negation":            `! false && pkgdesc=neg`,
		"colon assignment":    `: ${pkgdesc:=assigned}`,
		"multiline source": `source="https://example.org/$pkgname-$pkgver.tar.gz
	a.patch
	"`,
		"here string":      `read -r pkgdesc <<< "here string"`,
		"pwd":              `pkgdesc=$PWD`,
		"special vars":     `pkgdesc="$0|$#"`,
		"quoted dollar":    `pkgdesc="\$HOME"`,
		"tilde":            `pkgdesc=~`,
		"arith compare":    `[ $((2 > 1)) -eq 1 ] && pkgdesc=ok`,
		"nested param":     `_a=b; _b=c; eval pkgdesc=\$$_a`,
		"length of list":   `set -- $CARCH x y; pkgdesc=$#`,
		"default assign":   `pkgdesc=${pkgdesc:-$pkgname}`,
		"word in case":     "_v=1.2; case $_v in 1.*) pkgdesc=one;; esac",
		"escaped newline":  "pkgdesc=\"a\\\nb\"",
		"case without ;;":  "case 1 in\n1) pkgdesc=one\nesac",
		"case last arm":    "case 2 in 1) pkgdesc=one;; 2) pkgdesc=two\nesac",
		"function keyword": "function _f { pkgdesc=fn; }\n_f",
		"let":              "let _y=2+3; pkgdesc=$_y",
		"redirect all":     "echo hi &>/dev/null; pkgdesc=ok",
		"local top level":  "local _q=1; pkgdesc=x",
		// What ash rejects or reads differently must be an error here too.
		"array":             "_a=(1 2); pkgdesc=${_a[1]}",
		"indirect":          "_v=x; _n=_v; pkgdesc=${!_n}",
		"upper case":        "_v=abc; pkgdesc=${_v^^}",
		"lower case":        "_v=ABC; pkgdesc=${_v,,}",
		"pipe all":          "pkgdesc=$(echo a |& cat)",
		"case fallthrough2": "case a in a) pkgdesc=1;& b) pkgdesc=2;; esac",
		"declare":           "declare -r _x=1; pkgdesc=$_x",
		"typeset":           "typeset _z=1; pkgdesc=$_z",
		"printf q":          `pkgdesc=$(printf '%q' 'a b')`,
		"mapfile":           "mapfile -t _a < /dev/null; pkgdesc=m",
		"shopt":             "shopt -s extglob; pkgdesc=s",
	}
	// Constructs ash reads differently from bash without an error: refused
	// with an error that names them, never a silently different value.
	refused := map[string]string{
		"arith command":   "((_x=1+2)); pkgdesc=$_x",
		"dollar brackets": "pkgdesc=$[1+2]",
		"dollar dquote":   `pkgdesc=$"loc"`,
	}
	for name, snippet := range refused {
		_, err := Parse(strings.NewReader("pkgname=x\npkgver=1\npkgrel=0\n"+snippet+"\n"), "APKBUILD", Options{Arch: "x86_64"})
		if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "APKBUILD:4:") {
			t.Errorf("%s: error %v, want ErrUnsupported at line 4", name, err)
		}
	}
	dir := filepath.Join(t.TempDir(), "main", "snippet")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, snippet := range snippets {
		t.Run(name, func(t *testing.T) {
			src := "pkgname=snippet\npkgver=1.0\npkgrel=0\n" + snippet + "\n"
			sub := filepath.Join(dir, strings.ReplaceAll(name, " ", "-"))
			if err := os.MkdirAll(sub, 0o755); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(sub, "APKBUILD")
			if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			want, werr := ashVars(ctx, busybox, path, "x86_64")
			r, gerr := Load(path, Options{Arch: "x86_64"})
			if werr != nil || gerr != nil {
				if (werr == nil) != (gerr == nil) {
					t.Fatalf("ash error %v, apkit error %v", werr, gerr)
				}
				return
			}
			for _, v := range Variables {
				if want[v] != r.Vars[v] {
					t.Errorf("%s: ash %q, apkit %q", v, want[v], r.Vars[v])
				}
			}
		})
	}
}

// TestAlpineApplets checks applets whose result follows the C library
// busybox is built on (dirname calls the C library's dirname, and glibc
// keeps a leading "//"): their results are pinned to what Alpine's busybox,
// built on musl, gives, and TestAshDifferential does not compare them with
// the host's busybox.
func TestAlpineApplets(t *testing.T) {
	t.Parallel()
	tests := map[string]struct{ snippet, pkgdesc string }{
		"dirname double slash": {`pkgdesc="$(dirname //a) $(dirname //) $(dirname ///a//b) $(dirname a//)"`, "/ / ///a ."},
	}
	for name, tc := range tests {
		r, err := Parse(strings.NewReader("pkgname=x\npkgver=1\npkgrel=0\n"+tc.snippet+"\n"), "APKBUILD", Options{Arch: "x86_64"})
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if r.Vars["pkgdesc"] != tc.pkgdesc {
			t.Errorf("%s: pkgdesc %q, Alpine's busybox %q", name, r.Vars["pkgdesc"], tc.pkgdesc)
		}
	}
}
