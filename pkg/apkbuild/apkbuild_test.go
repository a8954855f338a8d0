package apkbuild

import (
	stdcmp "cmp"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/apkit-dev/apkit/pkg/version"
)

// header is a minimal valid recipe start.
const header = `pkgname=foo
pkgver=1.2.3
pkgrel=0
pkgdesc="Foo"
url="https://example.org"
arch="all"
license="MIT"
`

const testPath = "/build/main/foo/APKBUILD"

func parseString(t *testing.T, src string, opts Options) (*Recipe, error) {
	t.Helper()
	return Parse(strings.NewReader(src), testPath, opts)
}

func TestVariables(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		src  string
		arch string
		want map[string]string
	}{
		{"replace first", `_v=1.2.3; pkgdesc=${_v/./_}`, "", map[string]string{"pkgdesc": "1_2.3"}},
		{"replace all", `_v=1.2.3; pkgdesc=${_v//./_}`, "", map[string]string{"pkgdesc": "1_2_3"}},
		// busybox ash does not anchor ${v/#p/r} and ${v/%p/r}; neither do we.
		{"replace anchored", `_v=abcabc; pkgdesc="${_v/#a/X} ${_v/%c/Y}"`, "", map[string]string{"pkgdesc": "abcabc abcabc"}},
		{"substring", `_v=abcdef; pkgdesc="${_v:1:3} ${_v:2} ${_v: -2}"`, "", map[string]string{"pkgdesc": "bcd cdef ef"}},
		{"trim", `_v=foo-1.2.3-bar; pkgdesc="${_v%%-*} ${_v%-*} ${_v#*-} ${_v##*-}"`, "", map[string]string{"pkgdesc": "foo foo-1.2.3 1.2.3-bar bar"}},
		{"length default alt", `_v=abc; pkgdesc="${#_v} ${_u:-d} ${_v:+set} ${_u-x}"`, "", map[string]string{"pkgdesc": "3 d set x"}},
		{"case carch x86_64", "case \"$CARCH\" in\nx86_64) options=\"!check\";;\n*) options=net;;\nesac", "x86_64", map[string]string{"options": "!check"}},
		{"case carch aarch64", "case \"$CARCH\" in\nx86_64) options=\"!check\";;\naarch64|armv7) options=net;;\nesac", "aarch64", map[string]string{"options": "net"}},
		{"clibc and triplets", `pkgdesc="$CLIBC $CHOST $CBUILD_ARCH $CTARGET_ARCH"`, "armv7", map[string]string{"pkgdesc": "musl armv7-alpine-linux-musleabihf armv7 armv7"}},
		{"x86 triplet", `pkgdesc="$CARCH $CHOST"`, "x86", map[string]string{"pkgdesc": "x86 i586-alpine-linux-musl"}},
		{"startdir srcdir", `pkgdesc="$startdir $srcdir $repo"`, "", map[string]string{"pkgdesc": "/build/main/foo /build/main/foo/src main"}},
		{"builddir default", ``, "", map[string]string{"builddir": "/build/main/foo/src/foo-1.2.3"}},
		{"builddir set", `builddir="$srcdir/bar"`, "", map[string]string{"builddir": "/build/main/foo/src/bar"}},
		{"helper at top level", "_add() { subpackages=\"$subpackages $pkgname-$1\"; }\n_add a\n_add b", "", map[string]string{"subpackages": " foo-a foo-b"}},
		{"loop builds list", "for _m in x y z; do\n\tsubpackages=\"$subpackages $pkgname-$_m:_mod\"\ndone", "", map[string]string{"subpackages": " foo-x:_mod foo-y:_mod foo-z:_mod"}},
		{"while loop arithmetic", "_i=0\nwhile [ $_i -lt 3 ]; do _i=$((_i + 1)); depends=\"$depends d$_i\"; done", "", map[string]string{"depends": " d1 d2 d3"}},
		{"test brackets", `[ "$CARCH" = x86_64 ] && depends=a || depends=b`, "x86_64", map[string]string{"depends": "a"}},
		{"test brackets else", `[ "$CARCH" = x86_64 ] && depends=a || depends=b`, "s390x", map[string]string{"depends": "b"}},
		{"export", `export _x=1; depends="dep$_x"`, "", map[string]string{"depends": "dep1"}},
		{"eval", `_n=depends; eval "$_n=\"a b\""`, "", map[string]string{"depends": "a b"}},
		{"eval defines function", "eval \"_f() { depends=fromf; }\"\n_f", "", map[string]string{"depends": "fromf"}},
		{"echo substitution", `pkgdesc="$(echo hello world)"`, "", map[string]string{"pkgdesc": "hello world"}},
		{"printf substitution", `pkgdesc=$(printf '%s-%03d' a 7)`, "", map[string]string{"pkgdesc": "a-007"}},
		{"cut substitution", `_v=1.2.3; pkgdesc=$(echo $_v | cut -d. -f1,2)`, "", map[string]string{"pkgdesc": "1.2"}},
		{"cut characters", `pkgdesc=$(echo abcdef | cut -c2-4)`, "", map[string]string{"pkgdesc": "bcd"}},
		{"tr substitution", `pkgdesc=$(echo 1.2.3 | tr . _)`, "", map[string]string{"pkgdesc": "1_2_3"}},
		{"tr upper", `pkgdesc=$(echo abc | tr '[:lower:]' '[:upper:]')`, "", map[string]string{"pkgdesc": "ABC"}},
		{"basename dirname", `pkgdesc="$(basename /a/b/c.tar.gz .tar.gz) $(dirname /a/b/c)"`, "", map[string]string{"pkgdesc": "c /a/b"}},
		{"backticks", "pkgdesc=`echo x`", "", map[string]string{"pkgdesc": "x"}},
		{"no brace expansion", `for _x in {a,b}; do depends="$depends $_x"; done`, "", map[string]string{"depends": " {a,b}"}},
		{"braces in words kept", `pkgdesc=$(echo a{b,c}d)`, "", map[string]string{"pkgdesc": "a{b,c}d"}},
		{"local in function", "_f() { local _x=1; depends=\"d$_x\"; }\n_f", "", map[string]string{"depends": "d1"}},
		{"options_has", "options=\"!check net\"\noptions_has net && depends=yes", "", map[string]string{"depends": "yes"}},
		{"subpackages_has", "subpackages=\"$pkgname-doc $pkgname-dev:mydev\"\nsubpackages_has foo-dev && depends=yes", "", map[string]string{"depends": "yes"}},
		{"heredoc", "pkgdesc=$(cat <<EOF\nhere doc\nEOF\n)", "", map[string]string{"pkgdesc": "here doc"}},
		{"ansi c quoting", `pkgdesc=$'a\tb'`, "", map[string]string{"pkgdesc": "a\tb"}},
		{"multi-line value", "source=\"a\n\tb\n\t\"", "", map[string]string{"source": "a\n\tb\n\t"}},
		{"unset", "depends=x\nunset depends", "", map[string]string{"depends": ""}},
		{"pkgver from variable", `_ver=2.0; pkgver=$_ver`, "", map[string]string{"pkgver": "2.0"}},
		{"jobs", `pkgdesc=$JOBS`, "", map[string]string{"pkgdesc": "2"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r, err := parseString(t, header+tc.src+"\n", Options{Arch: stdcmp.Or(tc.arch, "x86_64")})
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for k := range tc.want {
				got[k] = r.Vars[k]
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
		})
	}
}

func TestAllVariablesPresent(t *testing.T) {
	t.Parallel()
	r, err := parseString(t, header, Options{Arch: "x86_64"})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Vars) != len(Variables) {
		t.Errorf("Vars has %d entries, want %d", len(r.Vars), len(Variables))
	}
	for _, name := range Variables {
		if _, ok := r.Vars[name]; !ok {
			t.Errorf("Vars lacks %s", name)
		}
	}
}

func TestArch(t *testing.T) {
	t.Parallel()
	tests := []struct {
		arch    string
		carch   string
		want    bool
		pkgarch string
	}{
		{"all", "x86_64", true, "x86_64"},
		{"noarch", "aarch64", true, "noarch"},
		{"x86_64 aarch64", "aarch64", true, "aarch64"},
		{"x86_64 aarch64", "s390x", false, "s390x"},
		{"all !s390x", "s390x", false, "s390x"},
		{"all !s390x", "x86", true, "x86"},
		{"!x86 all", "x86", false, "x86"},
		{"", "x86_64", false, "x86_64"},
	}
	for _, tc := range tests {
		t.Run(tc.arch+"/"+tc.carch, func(t *testing.T) {
			t.Parallel()
			src := strings.Replace(header, `arch="all"`, `arch="`+tc.arch+`"`, 1)
			r, err := parseString(t, src, Options{Arch: tc.carch})
			if err != nil {
				t.Fatal(err)
			}
			if got := r.BuildsFor(tc.carch); got != tc.want {
				t.Errorf("BuildsFor(%s) = %v, want %v", tc.carch, got, tc.want)
			}
			if r.Pkgarch != tc.pkgarch {
				t.Errorf("Pkgarch = %q, want %q", r.Pkgarch, tc.pkgarch)
			}
		})
	}
}

func TestSubpackages(t *testing.T) {
	t.Parallel()
	src := header + `subpackages="$pkgname-dbg $pkgname-doc $pkgname-dev:mydev $pkgname-tools:tools:noarch
	$pkgname-bash-completion $pkgname-zsh-completion $pkgname-fish-completion $pkgname-openrc
	py3-$pkgname-pyc $pkgname-libs::x86_64 $pkgname-x::all $pkgname-lang lib$pkgname"
`
	r, err := parseString(t, src, Options{Arch: "x86_64"})
	if err != nil {
		t.Fatal(err)
	}
	want := []Subpackage{
		{"foo-dbg", "dbg", "x86_64"},
		{"foo-doc", "doc", "noarch"},
		{"foo-dev", "mydev", "x86_64"},
		{"foo-tools", "tools", "noarch"},
		{"foo-bash-completion", "bashcomp", "noarch"},
		{"foo-zsh-completion", "zshcomp", "noarch"},
		{"foo-fish-completion", "fishcomp", "noarch"},
		{"foo-openrc", "openrc", "noarch"},
		{"py3-foo-pyc", "pyc", "noarch"},
		{"foo-libs", "libs", "x86_64"},
		{"foo-x", "x", "x86_64"},
		{"foo-lang", "lang", "noarch"},
		{"libfoo", "libfoo", "x86_64"},
	}
	if diff := cmp.Diff(want, r.Subpackages); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}
}

func TestSources(t *testing.T) {
	t.Parallel()
	src := header + `source="https://example.org/foo-$pkgver.tar.gz
	foo-v2.tar.gz::https://github.com/x/foo/archive/v$pkgver.tar.gz
	ftp://ftp.example.org/pub/bar.tgz
	fix-build.patch
	files/foo.initd
	"
sha512sums="
aaaa  foo-1.2.3.tar.gz
bbbb  foo-v2.tar.gz
cccc  bar.tgz
dddd  fix-build.patch
eeee  foo.initd
"
`
	r, err := parseString(t, src, Options{Arch: "x86_64"})
	if err != nil {
		t.Fatal(err)
	}
	want := []Source{
		{Name: "foo-1.2.3.tar.gz", URL: "https://example.org/foo-1.2.3.tar.gz", Line: 8, Checksum: "aaaa", ChecksumAlgo: "sha512"},
		{Name: "foo-v2.tar.gz", URL: "https://github.com/x/foo/archive/v1.2.3.tar.gz", Line: 9, Checksum: "bbbb", ChecksumAlgo: "sha512"},
		{Name: "bar.tgz", URL: "ftp://ftp.example.org/pub/bar.tgz", Line: 10, Checksum: "cccc", ChecksumAlgo: "sha512"},
		{Name: "fix-build.patch", Local: "fix-build.patch", Line: 11, Checksum: "dddd", ChecksumAlgo: "sha512"},
		{Name: "foo.initd", Local: "files/foo.initd", Line: 12, Checksum: "eeee", ChecksumAlgo: "sha512"},
	}
	if diff := cmp.Diff(want, r.Sources); diff != "" {
		t.Errorf("sources (-want +got)\n%s", diff)
	}
	wantSums := []Checksum{
		{"sha512", "aaaa", "foo-1.2.3.tar.gz"},
		{"sha512", "bbbb", "foo-v2.tar.gz"},
		{"sha512", "cccc", "bar.tgz"},
		{"sha512", "dddd", "fix-build.patch"},
		{"sha512", "eeee", "foo.initd"},
	}
	if diff := cmp.Diff(wantSums, r.Checksums); diff != "" {
		t.Errorf("checksums (-want +got)\n%s", diff)
	}
}

func TestStructured(t *testing.T) {
	t.Parallel()
	src := `# Contributor: A <a@example.org>
# Maintainer: Jane Doe <jane@example.org>
` + header + `depends="bar>=1.0 !baz"
makedepends="cmake"
makedepends_build="ninja"
makedepends_host="zlib-dev"
checkdepends="py3-pytest"
provides="foo-compat=$pkgver-r$pkgrel"
install_if="qux foo=$pkgver-r$pkgrel"
replaces="oldfoo"
options="!check net foo-doc::!tracedeps"
install="$pkgname.pre-install $pkgname.post-upgrade"
triggers="$pkgname.trigger=/usr/share/foo:/usr/lib/foo/*"

build() {
	make
}

package() {
	make DESTDIR="$pkgdir" install
}
`
	r, err := parseString(t, src, Options{Arch: "x86_64"})
	if err != nil {
		t.Fatal(err)
	}
	dep := func(s string) version.Dependency {
		d, err := version.ParseDependency(s)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"maintainer", r.Maintainer, "Jane Doe <jane@example.org>"},
		{"depends", r.Depends, []version.Dependency{dep("bar>=1.0"), dep("!baz")}},
		{"makedepends", r.Makedepends, []version.Dependency{dep("cmake")}},
		{"makedepends_build", r.MakedependsBuild, []version.Dependency{dep("ninja")}},
		{"makedepends_host", r.MakedependsHost, []version.Dependency{dep("zlib-dev")}},
		{"checkdepends", r.Checkdepends, []version.Dependency{dep("py3-pytest")}},
		{"provides", r.Provides, []version.Dependency{dep("foo-compat=1.2.3-r0")}},
		{"install_if", r.InstallIf, []version.Dependency{dep("qux"), dep("foo=1.2.3-r0")}},
		{"replaces", r.Replaces, []version.Dependency{dep("oldfoo")}},
		{"options", r.Options, []string{"!check", "net", "foo-doc::!tracedeps"}},
		{"install", r.Install, []string{"foo.pre-install", "foo.post-upgrade"}},
		{"triggers", r.Triggers, []Trigger{{Script: "foo.trigger", Paths: []string{"/usr/share/foo", "/usr/lib/foo/*"}}}},
		{"has net", r.HasOption("net"), true},
		{"has !check", r.HasOption("!check"), true},
		{"has !tracedeps", r.HasOption("!tracedeps"), false},
		{"version", r.Version(), "1.2.3-r0"},
		{"functions", r.Functions, map[string]Function{
			"build":   {Name: "build", Line: 22, Col: 1, Source: "build() {\n\tmake\n}"},
			"package": {Name: "package", Line: 26, Col: 1, Source: "package() {\n\tmake DESTDIR=\"$pkgdir\" install\n}"},
		}},
	}
	for _, c := range checks {
		if diff := cmp.Diff(c.want, c.got); diff != "" {
			t.Errorf("%s (-want +got)\n%s", c.name, diff)
		}
	}
}

func TestErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		src   string
		want  string // substring of the message
		is    error
		build bool // the recipe is still returned
	}{
		{"syntax", header + "if then\n", "APKBUILD:8:1: syntax error", nil, false},
		{"unclosed quote", header + "source=\"a\n", "APKBUILD:8:8: syntax error", nil, false},
		{"bad pkgname", strings.Replace(header, "pkgname=foo", "pkgname=-foo", 1), "APKBUILD:1:1: invalid pkgname \"-foo\"", ErrInvalid, true},
		{"bad pkgver", strings.Replace(header, "pkgver=1.2.3", "pkgver=1.2.3-r1", 1), "APKBUILD:2:1: invalid pkgver \"1.2.3-r1\"", ErrInvalid, true},
		{"bad pkgrel", strings.Replace(header, "pkgrel=0", "pkgrel=x", 1), "APKBUILD:3:1: invalid pkgrel", ErrInvalid, true},
		{"no pkgname", "pkgver=1\n", "pkgname is not set", ErrInvalid, true},
		{"bad subpackage arch", header + "subpackages=\"$pkgname-x:x:sparc\"\n", "APKBUILD:8:1: subpackage \"foo-x:x:sparc\": invalid arch \"sparc\"", ErrInvalid, true},
		{"bad subpackage", header + "subpackages=\"a:b:c:d\"\n", "more than name:func:arch", ErrInvalid, true},
		{"bad dependency", header + "depends=\"foo=bar\"\n", "APKBUILD:8:1: depends:", ErrInvalid, true},
		{"checksum count", header + "source=\"a b\"\nsha512sums=\"x  a\"\n", "APKBUILD:9:1: sha512sums has 1 entries but source has 2", ErrInvalid, true},
		{"odd checksum words", header + "source=\"a\"\nsha512sums=\"x  a y\"\n", "odd number of words", ErrInvalid, true},
		{"host program", header + "_v=$(git describe)\n", "APKBUILD:8:6: running \"git\" is not supported", ErrUnsupported, false},
		{"read file", header + "_v=$(cat /etc/passwd)\n", "cat: reading files is not supported", ErrInvalid, false},
		{"redirect read", header + "read _v < /etc/passwd\n", "reading /etc/passwd is not allowed", ErrUnsupported, false},
		{"redirect write", header + "echo x > /tmp/apkit-pwned\n", "writing to /tmp/apkit-pwned is not allowed", ErrUnsupported, false},
		{"source", header + ". /etc/profile\n", "reading /etc/profile is not allowed", ErrUnsupported, false},
		{"die", header + "die \"no way\"\n", "exited with status 1: >>> ERROR: no way", ErrInvalid, false},
		{"failing command", header + "false\n", "top level exited with status 1", ErrInvalid, false},
		{"endless loop", header + "while :; do :; done\n", "command calls", ErrLimit, false},
		{"endless assignment loop", header + "_x=1\nwhile [ $_x ]; do _x=1; done\n", "command calls", ErrLimit, false},
		{"endless pure loop", header + "until false; do _x=1; done\n", "command calls", ErrLimit, false},
		{"expanding loop", header + "_a=$(printf '%40s' x)\nwhile :; do _b=${_a// /y}; done\n", "", ErrLimit, false},
		{"runaway expansion", header + "_a=xxxxxxxx\nwhile :; do _a=$_a$_a; done\n", "memory", ErrLimit, false},
		{"runaway in for", header + "_a=xxxxxxxx\nfor _i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31 32; do _a=$_a$_a; done\n", "memory", ErrLimit, false},
		{"runaway straight", header + "_a=xxxxxxxxxxxxxxxx\n" + strings.Repeat("_a=$_a$_a$_a$_a$_a$_a$_a$_a\n", 12), "memory", ErrLimit, false},
		{"runaway in eval", header + "_a=xxxxxxxxxxxxxxxx\neval '" + strings.Repeat("_a=$_a$_a$_a$_a$_a$_a$_a$_a;", 12) + "'\n", "memory", ErrLimit, false},
		{"quadratic replace", header + "_a=xxxxxxxxxxxxxxxx\n" + strings.Repeat("_a=${_a//x/$_a}\n", 8), "memory", ErrLimit, false},
		{"runaway output", header + "_a=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n_a=$_a$_a$_a$_a$_a$_a$_a$_a$_a$_a$_a$_a$_a$_a$_a$_a\n_a=$_a$_a$_a$_a$_a$_a$_a$_a$_a$_a$_a$_a$_a$_a$_a$_a\n_a=$_a$_a$_a$_a$_a$_a$_a$_a$_a$_a$_a$_a$_a$_a$_a$_a\n_b=$(while :; do echo $_a; done)\n", "memory", ErrLimit, false},
		{"recursion", header + "_f() { _f; }\n_f\n", "function calls", ErrLimit, false},
		{"fork bomb", header + "_f() { _f | _f; }\n_f\n", "function calls", ErrLimit, false},
		{"background job", header + "_x=1 &\n", "APKBUILD:8:1: a background job (&) is not supported", ErrUnsupported, false},
		{"background in function", header + "_f() { sleep 1 & }\n_f\n", "APKBUILD:8:8: a background job", ErrUnsupported, false},
		{"background in eval", header + "eval '_x=1 &'\n", "APKBUILD:8:1: eval: a background job", ErrUnsupported, false},
		{"process substitution", header + "read _x < <(echo a)\n", "process substitution is not supported", ErrUnsupported, false},
		{"printf width", header + "_v=$(printf '%0999999999d' 1)\n", "printf field width", ErrLimit, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			// The default wall-clock backstop: the bounds on steps, calls
			// and memory must end these first, on any machine.
			r, err := Parse(strings.NewReader(tc.src), "APKBUILD", Options{Arch: "x86_64", MaxMemory: 1 << 20, MaxSteps: 1 << 20})
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %v is not %v", err, tc.is)
			}
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Errorf("error %T is not a *ParseError", err)
			}
			if (r != nil) != tc.build {
				t.Errorf("recipe returned = %v, want %v", r != nil, tc.build)
			}
		})
	}
}

func TestLoad(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "testing", "foo")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	src := header + "[ -e \"$startdir/foo.initd\" ] && install=yes\nfor _f in \"$startdir\"/*.patch; do source=\"$source ${_f##*/}\"; done\n"
	for name, data := range map[string]string{"APKBUILD": src, "foo.initd": "", "a.patch": "", "b.patch": ""} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []string{dir, filepath.Join(dir, "APKBUILD")} {
		r, err := Load(p, Options{Arch: "x86_64"})
		if err != nil {
			t.Fatal(err)
		}
		if r.Path != filepath.Join(dir, "APKBUILD") || r.Dir != dir {
			t.Errorf("Path, Dir = %q, %q", r.Path, r.Dir)
		}
		if r.Vars["install"] != "yes" || r.Vars["source"] != " a.patch b.patch" {
			t.Errorf("install=%q source=%q", r.Vars["install"], r.Vars["source"])
		}
		if r.Env["repo"] != "testing" {
			t.Errorf("repo = %q", r.Env["repo"])
		}
	}
	if _, err := Load(filepath.Join(dir, "missing"), Options{}); err == nil {
		t.Error("no error for a missing path")
	}
}

func TestEvalShellFile(t *testing.T) {
	t.Parallel()
	p := filepath.Join(t.TempDir(), "abuild.conf")
	conf := `export CFLAGS="-Os"
export JOBS=$(nproc)
export MAKEFLAGS=-j$JOBS
PACKAGER="Jane Doe <jane@example.org>"
PACKAGER_PRIVKEY="$HOME/.abuild/jane.rsa"
#REPODEST=/nowhere
`
	if err := os.WriteFile(p, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	vars, err := EvalShellFile(p, map[string]string{"HOME": "/home/jane", "JOBS": "4"})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, k := range []string{"PACKAGER", "PACKAGER_PRIVKEY", "MAKEFLAGS", "REPODEST", "HOME"} {
		got[k] = vars[k]
	}
	want := map[string]string{
		"PACKAGER":         "Jane Doe <jane@example.org>",
		"PACKAGER_PRIVKEY": "/home/jane/.abuild/jane.rsa",
		"MAKEFLAGS":        "-j4",
		"REPODEST":         "",
		"HOME":             "/home/jane",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}
	if err := os.WriteFile(p, []byte("x=$(id -u)\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := EvalShellFile(p, nil); !errors.Is(err, ErrUnsupported) {
		t.Errorf("error %v, want ErrUnsupported", err)
	}
}

func TestTriplets(t *testing.T) {
	t.Parallel()
	for arch, trip := range triplets {
		if got := ArchOf(trip); got != arch {
			t.Errorf("ArchOf(%q) = %q, want %q", trip, got, arch)
		}
	}
	if got := ArchOf("i686-pc-linux-gnu"); got != "x86" {
		t.Errorf("ArchOf(i686) = %q", got)
	}
	if got := LibcOf("x86_64-pc-linux-gnu"); got != "glibc" {
		t.Errorf("LibcOf = %q", got)
	}
}

func TestMakedependsDefault(t *testing.T) {
	t.Parallel()
	r, err := parseString(t, header+"makedepends_build=\"ninja\"\nmakedepends_host=\"zlib-dev\"\n", Options{Arch: "x86_64"})
	if err != nil {
		t.Fatal(err)
	}
	want := []version.Dependency{{Name: "ninja"}, {Name: "zlib-dev"}}
	if diff := cmp.Diff(want, r.Makedepends); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}
	if r.Vars["makedepends"] != "" {
		t.Errorf("Vars[makedepends] = %q, want the shell's empty value", r.Vars["makedepends"])
	}
}

func TestCrossEnvironment(t *testing.T) {
	t.Parallel()
	src := header + "cross_compiling && depends=cross || depends=native\npkgdesc=\"$CBUILD $CHOST $CTARGET $CBUILD_ARCH $CARCH\"\n"
	r, err := parseString(t, src, Options{Arch: "aarch64", Env: map[string]string{"CBUILD": "x86_64"}})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"depends": "cross",
		"pkgdesc": "x86_64-alpine-linux-musl aarch64-alpine-linux-musl aarch64-alpine-linux-musl x86_64 aarch64",
	}
	got := map[string]string{"depends": r.Vars["depends"], "pkgdesc": r.Vars["pkgdesc"]}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}
	r, err = parseString(t, src, Options{Env: map[string]string{"CARCH": "ppc64le"}})
	if err != nil {
		t.Fatal(err)
	}
	if r.Carch != "ppc64le" || r.Vars["depends"] != "native" {
		t.Errorf("Carch = %q, depends = %q", r.Carch, r.Vars["depends"])
	}
}
