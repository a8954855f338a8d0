package build_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/apkit-dev/apkit/pkg/apk"
	"github.com/apkit-dev/apkit/pkg/apkbuild"
	"github.com/apkit-dev/apkit/pkg/build"
	"github.com/apkit-dev/apkit/pkg/index"
	"github.com/apkit-dev/apkit/pkg/sandbox/sandboxtest"
)

// compatRecipe writes an APKBUILD, and the extra files, into a new
// <tmp>/aports/main/<name>.
func compatRecipe(t *testing.T, name, apkbuild string, extra map[string]string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "aports", "main", name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	extra["APKBUILD"] = apkbuild
	for n, body := range extra {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// compatBuild builds the recipe in dir in bubblewrap and returns its
// packages by name, with the build's output.
func compatBuild(t *testing.T, dir string) (map[string]*apk.Package, string, error) {
	t.Helper()
	r, out, err := compatBuildWith(t, dir, nil)
	if err != nil {
		return nil, out, err
	}
	return r.pkgs, out, nil
}

// compatResult is what compatBuildWith built.
type compatResult struct {
	pkgs  map[string]*apk.Package // by name
	files map[string]string       // package name to its .apk file
	opts  build.Options
}

// compatBuildWith is compatBuild with the options changed by mod (when
// not nil) before the build.
func compatBuildWith(t *testing.T, dir string, mod func(*build.Options)) (*compatResult, string, error) {
	t.Helper()
	runner := sandboxtest.RequireBwrap(t)
	base := t.TempDir()
	var out bytes.Buffer
	opts := build.Options{
		Runner:   runner,
		Arch:     apkbuild.HostArch(),
		Repodest: filepath.Join(base, "packages"),
		Srcdest:  filepath.Join(base, "distfiles"),
		Key:      testKey(t, filepath.Join(base, "keys")),
		Packager: "Test <test@example.org>",
		Jobs:     1,
		Offline:  true,
		Output:   &out,
	}
	if mod != nil {
		mod(&opts)
	}
	res, err := build.Build(context.Background(), dir, opts)
	if err != nil {
		return nil, out.String(), err
	}
	r := &compatResult{pkgs: map[string]*apk.Package{}, files: map[string]string{}, opts: opts}
	for _, p := range res.Packages {
		f, err := os.Open(p.Path)
		if err != nil {
			t.Fatal(err)
		}
		pkg, err := apk.Read(f, nil)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		r.pkgs[p.Name] = pkg
		r.files[p.Name] = p.Path
	}
	return r, out.String(), nil
}

// segmentEntry returns the content of the entry name in the control or
// data segment (seg) of the package file path.
func segmentEntry(t *testing.T, path string, seg apk.Segment, name string) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(io.NewSectionReader(f, seg.Offset, seg.Length))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err != nil {
			t.Fatalf("%s: no entry %s: %v", path, name, err)
		}
		if h.Name == name {
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
	}
}

// paths lists the data entries of pkg.
func paths(pkg *apk.Package) []string {
	var out []string
	for _, f := range pkg.Files {
		out = append(out, f.Path)
	}
	return out
}

// recipeHead is the start of a recipe named name.
func recipeHead(name, arch string) string {
	return "pkgname=" + name + `
pkgver=1.0
pkgrel=0
pkgdesc="compat test"
url="https://example.org"
arch="` + arch + `"
license="MIT"
source=""
builddir="$srcdir"
`
}

// TestCompatLibtoolArchiveDirRemoved: a directory left empty by the
// removal of *.la files is removed from the main package like abuild's
// create_apks does, since postcheck deleted the archives before.
func TestCompatLibtoolArchiveDirRemoved(t *testing.T) {
	dir := compatRecipe(t, "latool", recipeHead("latool", "noarch")+`
package() {
	install -Dm755 /dev/null "$pkgdir"/usr/bin/latool
	install -Dm644 /dev/null "$pkgdir"/usr/lib/liblatool.la
}
`, map[string]string{})
	pkgs, out, err := compatBuild(t, dir)
	if err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	if d := cmp.Diff([]string{"usr", "usr/bin", "usr/bin/latool"}, paths(pkgs["latool"])); d != "" {
		t.Errorf("latool files (-want +got):\n%s", d)
	}
}

// TestCompatDbgAfterOtherSplits: the dbg split handles the shared objects
// of every package directory present when it runs, as abuild's scanelf
// over $pkgbasedir/* does, even when -dbg is not the first subpackage;
// hard links are handled once.
func TestCompatDbgAfterOtherSplits(t *testing.T) {
	requireTools(t, map[string]string{"cc": "gcc", "objcopy": "binutils", "strip": "binutils"})
	dir := compatRecipe(t, "dbgqa", recipeHead("dbgqa", "all")+`subpackages="$pkgname-libs $pkgname-dbg"
options="!check"
build() {
	echo 'int f(void){return 1;}' > f.c
	cc -g -fPIC -shared -Wl,-soname,libdbgqa.so.1 -o libdbgqa.so.1.0 f.c
	echo 'int main(void){return 0;}' > m.c
	cc -g -fPIE -pie -o dbgqa m.c
}
package() {
	install -Dm755 dbgqa "$pkgdir"/usr/bin/dbgqa
	ln "$pkgdir"/usr/bin/dbgqa "$pkgdir"/usr/bin/dbgqa2
	install -Dm755 libdbgqa.so.1.0 "$pkgdir"/usr/lib/libdbgqa.so.1.0
}
`, map[string]string{})
	pkgs, out, err := compatBuild(t, dir)
	if err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	var debug []string
	for _, p := range paths(pkgs["dbgqa-dbg"]) {
		if strings.HasSuffix(p, ".debug") {
			debug = append(debug, p)
		}
	}
	want := []string{"usr/lib/debug/usr/bin/dbgqa.debug", "usr/lib/debug/usr/lib/libdbgqa.so.1.0.debug"}
	if d := cmp.Diff(want, debug); d != "" {
		t.Errorf("dbgqa-dbg debug files (-want +got):\n%s", d)
	}
}

// TestCompatValidate: abuild -r starts with validate (§6.1, §12.1), whose
// errors stop the build before anything runs.
func TestCompatValidate(t *testing.T) {
	cases := []struct {
		name, vars string
		files      map[string]string
		want       string
	}{
		{"no-pkgdesc", `pkgdesc=""`, nil, "pkgdesc is not set"},
		{"provides-self", `provides="$pkgname=2.0"`, nil, "provides must not name the package itself"},
		{"priority", `provider_priority=high`, nil, "provider_priority must be digits only"},
		{"trigger-no-dirs", `triggers="$pkgname.trigger"`, map[string]string{"trigger-no-dirs.trigger": "#!/bin/sh\n"}, "must be <pkg>.trigger=<dir>"},
		{"trigger-other-pkg", `triggers="other.trigger=/usr/share"`, map[string]string{"other.trigger": "#!/bin/sh\n"}, "other is not a package of this recipe"},
		{"install-action", `install="$pkgname.post-foo"`, map[string]string{"install-action.post-foo": "#!/bin/sh\n"}, "install script install-action.post-foo"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			files := map[string]string{}
			for k, v := range c.files {
				files[k] = v
			}
			dir := compatRecipe(t, c.name, recipeHead(c.name, "noarch")+c.vars+`
package() {
	mkdir -p "$pkgdir"
}
`, files)
			_, out, err := compatBuild(t, dir)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("build error = %v, want one containing %q\n%s", err, c.want, out)
			}
			var pe *build.PhaseError
			if errors.As(err, &pe) && pe.Phase != "validate" {
				t.Errorf("failed in phase %s, want validate", pe.Phase)
			}
		})
	}
}

// TestCompatEmptyDefaultSplit: abuild's default split functions create
// $subpkgdir only by moving something into it, so a subpackage that gets
// nothing fails with "Missing subpkgdir" (§6.9, §6.10).
func TestCompatEmptyDefaultSplit(t *testing.T) {
	for _, sub := range []string{"dev", "static", "libs", "openrc", "lang", "doc", "bash-completion", "dbg"} {
		t.Run(sub, func(t *testing.T) {
			dir := compatRecipe(t, "emptysplit", recipeHead("emptysplit", "all")+`subpackages="$pkgname-`+sub+`"
options="!check"
package() {
	install -Dm755 /dev/null "$pkgdir"/usr/bin/emptysplit
}
`, map[string]string{})
			_, out, err := compatBuild(t, dir)
			var pe *build.PhaseError
			if !errors.As(err, &pe) || pe.Phase != "split emptysplit-"+sub {
				t.Fatalf("build error = %v, want a failed split emptysplit-%s\n%s", err, sub, out)
			}
		})
	}
}

// TestCompatStaticDependsOnDev: default_static depends on the matching
// -dev subpackage by name, without a version (§7).
func TestCompatStaticDependsOnDev(t *testing.T) {
	dir := compatRecipe(t, "staticqa", recipeHead("staticqa", "all")+`subpackages="$pkgname-static $pkgname-dev"
options="!check"
package() {
	install -Dm644 /dev/null "$pkgdir"/usr/lib/libstaticqa.a
	install -Dm644 /dev/null "$pkgdir"/usr/include/staticqa.h
	install -Dm755 /dev/null "$pkgdir"/usr/bin/staticqa
}
`, map[string]string{})
	pkgs, out, err := compatBuild(t, dir)
	if err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	if d := cmp.Diff([]string{"staticqa-dev"}, pkgs["staticqa-static"].Info.Depends); d != "" {
		t.Errorf("staticqa-static depends (-want +got):\n%s", d)
	}
}

// TestCompatDevMoves: default_dev leaves *.a files alone when any
// subpackage is a -static one (abuild's subpackage_types_has static), and
// moves every directory named include, wherever it is.
func TestCompatDevMoves(t *testing.T) {
	dir := compatRecipe(t, "devqa", recipeHead("devqa", "all")+`subpackages="$pkgname-dev $pkgname-libs-static:static"
options="!check"
package() {
	install -Dm644 /dev/null "$pkgdir"/usr/lib/libdevqa.a
	install -Dm644 /dev/null "$pkgdir"/usr/share/devqa/include/devqa.h
	install -Dm644 /dev/null "$pkgdir"/var/lib/devqa/include/gen.h
	install -Dm755 /dev/null "$pkgdir"/usr/bin/devqa-config
	install -Dm755 /dev/null "$pkgdir"/usr/bin/devqa
}
`, map[string]string{})
	pkgs, out, err := compatBuild(t, dir)
	if err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	want := map[string][]string{
		"devqa": {"usr", "usr/bin", "usr/bin/devqa"},
		"devqa-dev": {"usr", "usr/bin", "usr/bin/devqa-config", "usr/share", "usr/share/devqa", "usr/share/devqa/include", "usr/share/devqa/include/devqa.h",
			"var", "var/lib", "var/lib/devqa", "var/lib/devqa/include", "var/lib/devqa/include/gen.h"},
		"devqa-libs-static": {"usr", "usr/lib", "usr/lib/libdevqa.a"},
	}
	for name, w := range want {
		if d := cmp.Diff(w, paths(pkgs[name])); d != "" {
			t.Errorf("%s files (-want +got):\n%s", name, d)
		}
	}
}

// TestCompatDefaultSplits builds a library with every common default
// subpackage and checks what abuild gives each one (§7, §6.11.4).
func TestCompatDefaultSplits(t *testing.T) {
	requireTools(t, map[string]string{"cc": "gcc", "ar": "binutils", "strip": "binutils"})
	dir := compatRecipe(t, "libqa", recipeHead("libqa", "all")+`depends_dev="zlib-dev"
subpackages="$pkgname-static $pkgname-dev $pkgname-doc $pkgname-openrc $pkgname-lang $pkgname-libs
	$pkgname-bash-completion $pkgname-zsh-completion $pkgname-fish-completion"
options="!check"
build() {
	echo 'int qa(void){return 42;}' > qa.c
	echo 'int qa(void); int main(void){return qa()-42;}' > main.c
	cc -fPIC -shared -Wl,-soname,libqa.so.1 -o libqa.so.1.0 qa.c
	cc -c qa.c -o qa.o && ar rcs libqa.a qa.o
	cc -o qa main.c -L. -l:libqa.so.1.0
}
package() {
	install -Dm755 qa "$pkgdir"/usr/bin/qa
	install -Dm755 libqa.so.1.0 "$pkgdir"/usr/lib/libqa.so.1.0
	ln -s libqa.so.1.0 "$pkgdir"/usr/lib/libqa.so.1
	ln -s libqa.so.1.0 "$pkgdir"/usr/lib/libqa.so
	install -Dm644 libqa.a "$pkgdir"/usr/lib/libqa.a
	install -Dm644 /dev/null "$pkgdir"/usr/include/qa.h
	mkdir -p "$pkgdir"/usr/lib/pkgconfig
	printf 'Name: qa\nVersion: 1.0\n' > "$pkgdir"/usr/lib/pkgconfig/qa.pc
	install -Dm644 /dev/null "$pkgdir"/usr/lib/cmake/qa/qaConfig.cmake
	mkdir -p "$pkgdir"/usr/share/man/man1 "$pkgdir"/usr/share/info
	echo '.TH QA 1' > "$pkgdir"/usr/share/man/man1/qa.1
	ln -s qa.1 "$pkgdir"/usr/share/man/man1/qa-alias.1
	echo dir > "$pkgdir"/usr/share/info/dir
	printf '#!/sbin/openrc-run\n' > qa.initd
	install -Dm755 qa.initd "$pkgdir"/etc/init.d/qa
	install -Dm644 /dev/null "$pkgdir"/etc/conf.d/qa
	install -Dm644 /dev/null "$pkgdir"/usr/share/locale/de/LC_MESSAGES/qa.mo
	install -Dm644 /dev/null "$pkgdir"/usr/share/bash-completion/completions/qa
	install -Dm644 /dev/null "$pkgdir"/usr/share/zsh/site-functions/_qa
	install -Dm644 /dev/null "$pkgdir"/usr/share/fish/vendor_completions.d/qa.fish
}
`, map[string]string{})
	pkgs, out, err := compatBuild(t, dir)
	if err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	const v = "1.0-r0"
	type want struct {
		desc                                    string
		depends, installIf, autoDeps, autoProvs []string
		files                                   []string
	}
	wants := map[string]want{
		"libqa": {desc: "compat test", autoDeps: []string{"so:libqa.so.1"}, autoProvs: []string{"cmd:qa=" + v},
			files: []string{"usr", "usr/bin", "usr/bin/qa"}},
		"libqa-static": {desc: "compat test (static library)", depends: []string{"libqa-dev"},
			files: []string{"usr", "usr/lib", "usr/lib/libqa.a"}},
		"libqa-dev": {desc: "compat test (development files)", depends: []string{"zlib-dev"},
			autoDeps: []string{"libqa-libs=" + v, "pkgconfig"}, autoProvs: []string{"pc:qa=1.0"},
			files: []string{"usr", "usr/include", "usr/include/qa.h", "usr/lib", "usr/lib/cmake", "usr/lib/cmake/qa", "usr/lib/cmake/qa/qaConfig.cmake",
				"usr/lib/libqa.so", "usr/lib/pkgconfig", "usr/lib/pkgconfig/qa.pc"}},
		"libqa-doc": {desc: "compat test (documentation)", installIf: []string{"docs", "libqa=" + v},
			files: []string{"usr", "usr/share", "usr/share/info", "usr/share/man", "usr/share/man/man1", "usr/share/man/man1/qa-alias.1.gz", "usr/share/man/man1/qa.1.gz"}},
		"libqa-openrc": {desc: "compat test (OpenRC init scripts)", installIf: []string{"openrc", "libqa=" + v},
			files: []string{"etc", "etc/conf.d", "etc/conf.d/qa", "etc/init.d", "etc/init.d/qa"}},
		"libqa-lang": {desc: "Languages for package libqa", installIf: []string{"libqa=" + v, "lang"},
			files: []string{"usr", "usr/share", "usr/share/locale", "usr/share/locale/de", "usr/share/locale/de/LC_MESSAGES", "usr/share/locale/de/LC_MESSAGES/qa.mo"}},
		"libqa-libs": {desc: "compat test (libraries)", autoProvs: []string{"so:libqa.so.1=1.0"},
			files: []string{"usr", "usr/lib", "usr/lib/libqa.so.1", "usr/lib/libqa.so.1.0"}},
		"libqa-bash-completion": {desc: "Bash completions for libqa", installIf: []string{"libqa=" + v, "bash-completion"},
			files: []string{"usr", "usr/share", "usr/share/bash-completion", "usr/share/bash-completion/completions", "usr/share/bash-completion/completions/qa"}},
		"libqa-zsh-completion": {desc: "Zsh completions for libqa", installIf: []string{"libqa=" + v, "zsh"},
			files: []string{"usr", "usr/share", "usr/share/zsh", "usr/share/zsh/site-functions", "usr/share/zsh/site-functions/_qa"}},
		"libqa-fish-completion": {desc: "Fish completions for libqa", installIf: []string{"libqa=" + v, "fish"},
			files: []string{"usr", "usr/share", "usr/share/fish", "usr/share/fish/vendor_completions.d", "usr/share/fish/vendor_completions.d/qa.fish"}},
	}
	if len(pkgs) != len(wants) {
		t.Errorf("built %d packages, want %d", len(pkgs), len(wants))
	}
	for name, w := range wants {
		p := pkgs[name]
		if p == nil {
			t.Errorf("%s was not built", name)
			continue
		}
		// The C library's soname depends on the host (glibc, musl).
		var autoDeps []string
		for _, d := range p.Info.AutoDepends {
			if !strings.HasPrefix(d, "so:libc.") {
				autoDeps = append(autoDeps, d)
			}
		}
		got := want{desc: p.Info.Description, depends: p.Info.Depends, installIf: p.Info.InstallIf,
			autoDeps: autoDeps, autoProvs: p.Info.AutoProvides, files: paths(p)}
		if d := cmp.Diff(w, got, cmp.AllowUnexported(want{}), cmpopts.EquateEmpty()); d != "" {
			t.Errorf("%s (-want +got):\n%s", name, d)
		}
	}
	// §3.3: these subpackages default to noarch, the others to the recipe's arch.
	for name, p := range pkgs {
		want := apkbuild.HostArch()
		for _, suf := range []string{"-doc", "-openrc", "-lang", "sh-completion"} {
			if strings.HasSuffix(name, suf) {
				want = "noarch"
			}
		}
		if p.Info.Arch != want {
			t.Errorf("%s arch = %s, want %s", name, p.Info.Arch, want)
		}
	}
	for _, f := range pkgs["libqa-doc"].Files {
		if f.Path == "usr/share/man/man1/qa-alias.1.gz" && f.Link != "qa.1.gz" {
			t.Errorf("qa-alias.1.gz links to %q, want qa.1.gz", f.Link)
		}
	}
}

// TestCompatArchCheckBeforeValidate: abuild -r checks arch first (§6.1),
// so a recipe for another architecture is skipped even when validate
// would refuse it.
func TestCompatArchCheckBeforeValidate(t *testing.T) {
	dir := compatRecipe(t, "otherarch", recipeHead("otherarch", "s390x ppc64le")+`pkgdesc=""
package() {
	mkdir -p "$pkgdir"
}
`, map[string]string{})
	if apkbuild.HostArch() == "s390x" || apkbuild.HostArch() == "ppc64le" {
		t.Skip("the recipe is for this host's architecture")
	}
	pkgs, out, err := compatBuild(t, dir)
	if err != nil || len(pkgs) != 0 {
		t.Fatalf("build: %v, %d packages; want it skipped\n%s", err, len(pkgs), out)
	}
}

// TestCompatValidateWarnings: validate's warnings (§12.1 W) are shown,
// as abuild -r shows them, without stopping the build.
func TestCompatValidateWarnings(t *testing.T) {
	dir := compatRecipe(t, "warnqa", recipeHead("warnqa", "noarch")+`depends_dev="zlib-dev"
package() {
	install -Dm644 /dev/null "$pkgdir"/usr/share/warnqa/data
}
`, map[string]string{"stray.txt": "not in source\n"})
	if _, out, err := compatBuild(t, dir); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	log := string(mustRead(t, filepath.Join(dir, "build.log")))
	for _, want := range []string{"stray.txt is in the recipe directory", "depends_dev is set but there is no -dev subpackage", "no maintainer"} {
		if !strings.Contains(log, want) {
			t.Errorf("build.log lacks %q:\n%s", want, log)
		}
	}
	if strings.Contains(log, "empty-variable") || strings.Contains(log, "assigned an empty value") {
		t.Errorf("build.log shows lint style findings:\n%s", log)
	}
}

// TestCompatDetectedMarker: abuild writes the "# automatically detected:"
// line into every .PKGINFO, also when nothing was detected (a -doc
// subpackage, a metapackage).
func TestCompatDetectedMarker(t *testing.T) {
	dir := compatRecipe(t, "markqa", recipeHead("markqa", "noarch")+`subpackages="$pkgname-doc"
package() {
	install -Dm644 /dev/null "$pkgdir"/usr/share/doc/markqa/README
}
`, map[string]string{})
	r, out, err := compatBuildWith(t, dir, nil)
	if err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	for _, name := range []string{"markqa", "markqa-doc"} {
		text := string(segmentEntry(t, r.files[name], r.pkgs[name].Control, ".PKGINFO"))
		if !strings.Contains(text, "\n# automatically detected:\ndatahash = ") {
			t.Errorf("%s .PKGINFO lacks an empty automatically detected section:\n%s", name, text)
		}
	}
}

// TestCompatSourceDateEpochFromEnv: as abuild's set_source_date, a
// SOURCE_DATE_EPOCH and ABUILD_LAST_COMMIT in the environment win over
// the APKBUILD's mtime: they are the builddate, the commit, every entry's
// time and what the recipe sees.
func TestCompatSourceDateEpochFromEnv(t *testing.T) {
	dir := compatRecipe(t, "sdeqa", recipeHead("sdeqa", "noarch")+`
package() {
	mkdir -p "$pkgdir"/usr/share/sdeqa
	echo "$SOURCE_DATE_EPOCH $ABUILD_LAST_COMMIT" > "$pkgdir"/usr/share/sdeqa/seen
}
`, map[string]string{})
	mtime := time.Unix(1600000000, 0)
	if err := os.Chtimes(filepath.Join(dir, "APKBUILD"), mtime, mtime); err != nil {
		t.Fatal(err)
	}
	r, out, err := compatBuildWith(t, dir, func(o *build.Options) {
		o.Env = map[string]string{"SOURCE_DATE_EPOCH": "1234567890", "ABUILD_LAST_COMMIT": "0123abcd"}
	})
	if err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	p := r.pkgs["sdeqa"]
	if p.Info.BuildDate != 1234567890 || p.Info.Commit != "0123abcd" {
		t.Errorf("builddate %d commit %q, want 1234567890 0123abcd", p.Info.BuildDate, p.Info.Commit)
	}
	for _, f := range p.Files {
		if f.ModTime != 1234567890 {
			t.Errorf("%s mtime %d, want 1234567890", f.Path, f.ModTime)
		}
	}
	if got := string(segmentEntry(t, r.files["sdeqa"], p.Data, "usr/share/sdeqa/seen")); got != "1234567890 0123abcd\n" {
		t.Errorf("the recipe saw %q", got)
	}

	// Without them, the APKBUILD's mtime dates the build.
	r, out, err = compatBuildWith(t, dir, nil)
	if err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	if p := r.pkgs["sdeqa"]; p.Info.BuildDate != mtime.Unix() {
		t.Errorf("builddate %d, want the APKBUILD's mtime %d", p.Info.BuildDate, mtime.Unix())
	}

	_, _, err = compatBuildWith(t, dir, func(o *build.Options) { o.Env = map[string]string{"SOURCE_DATE_EPOCH": "yesterday"} })
	if err == nil || !strings.Contains(err.Error(), `SOURCE_DATE_EPOCH: "yesterday" is not a number of seconds`) {
		t.Errorf("build with a bad SOURCE_DATE_EPOCH: %v", err)
	}
}

// TestCompatIndexDescription: abuild's index carries the DESCRIPTION
// "$repo $(git describe)": "main " outside git, the annotated tag that
// describes the commit inside.
func TestCompatIndexDescription(t *testing.T) {
	dir := compatRecipe(t, "descqa", recipeHead("descqa", "noarch")+`
package() {
	install -Dm644 /dev/null "$pkgdir"/usr/share/descqa/data
}
`, map[string]string{})
	description := func() string {
		t.Helper()
		r, out, err := compatBuildWith(t, dir, nil)
		if err != nil {
			t.Fatalf("build: %v\n%s", err, out)
		}
		f, err := os.Open(filepath.Join(filepath.Dir(r.files["descqa"]), "APKINDEX.tar.gz"))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		ix, err := index.Read(f)
		if err != nil {
			t.Fatal(err)
		}
		return ix.Description
	}
	if got := description(); got != "main " {
		t.Errorf("DESCRIPTION outside git = %q, want %q", got, "main ")
	}
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	root := filepath.Dir(filepath.Dir(dir))
	for _, args := range [][]string{
		{"init", "-q"}, {"add", "."},
		{"-c", "user.name=T", "-c", "user.email=t@example.org", "commit", "-q", "-m", "descqa"},
		{"-c", "user.name=T", "-c", "user.email=t@example.org", "tag", "-a", "-m", "v3.99.0", "v3.99.0"},
	} {
		cmd := exec.Command("git", append([]string{"-C", root}, args...)...)
		cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_SYSTEM=/dev/null")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	if got := description(); got != "main v3.99.0" {
		t.Errorf("DESCRIPTION in git = %q, want %q", got, "main v3.99.0")
	}
}

// TestCompatManPageGzip: abuild compresses man pages with Alpine's gzip,
// busybox's: the header has no name, mtime 0, XFL 0 and OS 3, and the
// deflate stream is busybox's (GNU gzip's differs for larger pages).
func TestCompatManPageGzip(t *testing.T) {
	bb, err := exec.LookPath("busybox")
	if err != nil {
		t.Skip("busybox is not installed")
	}
	// A man page large enough for the encoders to differ.
	var page strings.Builder
	page.WriteString(".TH MANQA 1\n")
	for i := 0; i < 800; i++ {
		fmt.Fprintf(&page, ".SH SECTION %d\nThe option \\-\\-opt%d sets value %d of %d; see also manqa(%d).\n", i, i%37, i*7%101, i%13, i%9)
	}
	dir := compatRecipe(t, "manqa", recipeHead("manqa", "noarch")+`subpackages="$pkgname-doc"
package() {
	install -Dm644 "$startdir"/manqa.1 "$pkgdir"/usr/share/man/man1/manqa.1
}
`, map[string]string{"manqa.1": page.String()})
	r, out, err := compatBuildWith(t, dir, nil)
	if err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	got := segmentEntry(t, r.files["manqa-doc"], r.pkgs["manqa-doc"].Data, "usr/share/man/man1/manqa.1.gz")
	if want := []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3}; !bytes.HasPrefix(got, want) {
		t.Errorf("gzip header % x, want % x", got[:min(len(got), 10)], want)
	}
	cmd := exec.Command(bb, "gzip", "-9", "-c")
	cmd.Stdin = strings.NewReader(page.String())
	want, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("manqa.1.gz (%d bytes) differs from busybox gzip -9 (%d bytes)", len(got), len(want))
	}
}

// TestCompatDbgFlags: with a -dbg subpackage abuild adds -g to CFLAGS,
// CXXFLAGS and DFLAGS and asks Cargo for debug information, after
// reading the recipe; without one it does not.
func TestCompatDbgFlags(t *testing.T) {
	for _, c := range []struct{ subs, want string }{
		{`subpackages="$pkgname-dbg:keep"`, "-O2 -g| -g|-Os -g|true|none"},
		{`subpackages="$pkgname-doc:keep"`, "-O2||-Os||"},
	} {
		dir := compatRecipe(t, "flagqa", recipeHead("flagqa", "noarch")+c.subs+`
CFLAGS="-O2"
CXXFLAGS=""
build() {
	echo "$CFLAGS|$CXXFLAGS|$DFLAGS|$CARGO_PROFILE_RELEASE_DEBUG|$CARGO_PROFILE_RELEASE_STRIP" > flags
}
package() {
	install -Dm644 flags "$pkgdir"/usr/share/flagqa/flags
}
keep() {
	mkdir -p "$subpkgdir"
}
`, map[string]string{})
		r, out, err := compatBuildWith(t, dir, nil)
		if err != nil {
			t.Fatalf("build: %v\n%s", err, out)
		}
		got := string(segmentEntry(t, r.files["flagqa"], r.pkgs["flagqa"].Data, "usr/share/flagqa/flags"))
		if got != c.want+"\n" {
			t.Errorf("%s: build() saw %q, want %q", c.subs, got, c.want)
		}
	}
}

// TestCompatPkgUsers: the users and groups of pkgusers and pkggroups
// exist in the sandbox (abuild creates them before building); package()
// and split functions can chown files to them (by name or number, -R,
// chgrp, install -o/-g), and the packages record the names with id 0, as
// abuild's tar owner and group maps do; other owners keep their ids;
// ownership follows a file into a subpackage; a file made after a
// chown -R of its directory is not changed by it.
func TestCompatPkgUsers(t *testing.T) {
	dir := compatRecipe(t, "userqa", recipeHead("userqa", "noarch")+`pkgusers="userqa"
pkggroups="userqa qagroup"
subpackages="$pkgname-extra:extra"
build() {
	id userqa > ids
	getent group qagroup >> ids
	cp ids ids2
}
package() {
	install -Dm644 ids "$pkgdir"/usr/share/userqa/ids
	mkdir -p "$pkgdir"/var/lib/userqa/sub "$pkgdir"/usr/share/extra
	touch "$pkgdir"/var/lib/userqa/sub/state "$pkgdir"/var/lib/userqa/group-only "$pkgdir"/usr/share/extra/file
	chown -R userqa:userqa "$pkgdir"/var/lib/userqa
	chgrp qagroup "$pkgdir"/var/lib/userqa/group-only
	chown "$(id -u userqa)" "$pkgdir"/usr/share/extra/file
	install -d -o userqa -g qagroup -m 750 "$pkgdir"/var/log/userqa
	install -Dm640 -o root -g qagroup ids "$pkgdir"/etc/userqa.conf
	chown nobody:nogroup "$pkgdir"/usr/share/userqa/ids
	mkdir -p "$pkgdir"/usr/share/userqa/multi
	install -m644 -o userqa ids ids2 "$pkgdir"/usr/share/userqa/multi/
	ln -s sub/state "$pkgdir"/var/lib/userqa/link
	chown -h :qagroup "$pkgdir"/var/lib/userqa/link
	touch "$pkgdir"/usr/share/userqa/moved.tmp
	chown userqa "$pkgdir"/usr/share/userqa/moved.tmp
	mv "$pkgdir"/usr/share/userqa/moved.tmp "$pkgdir"/usr/share/userqa/moved
}
extra() {
	amove usr/share/extra
}
`, map[string]string{})
	r, out, err := compatBuildWith(t, dir, nil)
	if err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	type own struct {
		Uname, Gname string
		Uid, Gid     int
	}
	owners := func(p *apk.Package) map[string]own {
		m := map[string]own{}
		for _, f := range p.Files {
			m[f.Path] = own{f.Uname, f.Gname, f.Uid, f.Gid}
		}
		return m
	}
	root := own{"root", "root", 0, 0}
	want := map[string]own{
		"etc":                         root,
		"etc/userqa.conf":             {"root", "qagroup", 0, 0},
		"usr":                         root,
		"usr/share":                   root,
		"usr/share/userqa":            root,
		"var":                         root,
		"var/lib":                     root,
		"var/lib/userqa":              {"userqa", "userqa", 0, 0},
		"var/lib/userqa/group-only":   {"userqa", "qagroup", 0, 0},
		"var/lib/userqa/link":         {"root", "qagroup", 0, 0},
		"usr/share/userqa/moved":      {"userqa", "root", 0, 0},
		"usr/share/userqa/multi":      root,
		"usr/share/userqa/multi/ids":  {"userqa", "root", 0, 0},
		"usr/share/userqa/multi/ids2": {"userqa", "root", 0, 0},
		"var/lib/userqa/sub":          {"userqa", "userqa", 0, 0},
		"var/lib/userqa/sub/state":    {"userqa", "userqa", 0, 0},
		"var/log":                     root,
		"var/log/userqa":              {"userqa", "qagroup", 0, 0},
	}
	got := owners(r.pkgs["userqa"])
	ids := got["usr/share/userqa/ids"]
	delete(got, "usr/share/userqa/ids")
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("userqa owners (-want +got):\n%s", d)
	}
	// nobody is the build root's own user: its ids are the root's.
	if ids.Uname != "nobody" || ids.Gname != "nogroup" || ids.Uid == 0 || ids.Gid == 0 {
		t.Errorf("usr/share/userqa/ids owner %+v, want nobody:nogroup with their ids", ids)
	}
	if got := owners(r.pkgs["userqa-extra"])["usr/share/extra/file"]; got != (own{"userqa", "root", 0, 0}) {
		t.Errorf("usr/share/extra/file owner %+v, want userqa (chown by its uid) with id 0", got)
	}
	idText := string(segmentEntry(t, r.files["userqa"], r.pkgs["userqa"].Data, "usr/share/userqa/ids"))
	if !regexp.MustCompile(`^uid=[0-9]+\(userqa\) gid=[0-9]+\(userqa\).*\nqagroup:x:[0-9]+:\n$`).MatchString(idText) {
		t.Errorf("in the sandbox, id and getent said %q", idText)
	}

	// chown to a user that does not exist fails, as it does in abuild.
	dir = compatRecipe(t, "nouserqa", recipeHead("nouserqa", "noarch")+`
package() {
	mkdir -p "$pkgdir"/var/lib/nouserqa
	chown nosuchuser "$pkgdir"/var/lib/nouserqa
}
`, map[string]string{})
	if _, out, err := compatBuildWith(t, dir, nil); err == nil || !strings.Contains(out, "unknown user nosuchuser") {
		t.Errorf("build with chown to an unknown user: %v\n%s", err, out)
	}
}

// TestCompatDbgHardLinkOrder: the debug file of a program with hard links
// in two packages is named after the name abuild's scanelf over
// $pkgbasedir/* finds first: package directories in glob (name) order,
// not subpackage order.
func TestCompatDbgHardLinkOrder(t *testing.T) {
	requireTools(t, map[string]string{"cc": "gcc", "objcopy": "binutils", "strip": "binutils"})
	dir := compatRecipe(t, "dbgorder", recipeHead("dbgorder", "all")+`subpackages="adbg-tools:tools $pkgname-dbg"
options="!check"
build() {
	echo 'int main(void){return 0;}' > m.c
	cc -g -fPIE -pie -o prog m.c
}
package() {
	install -Dm755 prog "$pkgdir"/usr/bin/one
	ln "$pkgdir"/usr/bin/one "$pkgdir"/usr/bin/two
}
tools() {
	amove usr/bin/two
}
`, map[string]string{})
	pkgs, out, err := compatBuild(t, dir)
	if err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	var debug []string
	for _, p := range paths(pkgs["dbgorder-dbg"]) {
		if strings.HasSuffix(p, ".debug") {
			debug = append(debug, p)
		}
	}
	if d := cmp.Diff([]string{"usr/lib/debug/usr/bin/two.debug"}, debug); d != "" {
		t.Errorf("dbgorder-dbg debug files (-want +got):\n%s", d)
	}
}

// TestCompatAmoveQuotedGlob: abuild's amove takes each argument as it is,
// so a glob the recipe quoted names nothing and the split fails; the same
// glob unquoted is expanded by the shell and works.
func TestCompatAmoveQuotedGlob(t *testing.T) {
	for _, c := range []struct {
		arg string
		ok  bool
	}{{`'usr/lib/*.so'`, false}, {`usr/lib/*.so`, true}, {`/usr/lib/liba.so/`, true}} {
		dir := compatRecipe(t, "amoveqa", recipeHead("amoveqa", "noarch")+`subpackages="$pkgname-extra:extra"
package() {
	install -Dm644 /dev/null "$pkgdir"/usr/lib/liba.so
	install -Dm644 /dev/null "$pkgdir"/usr/share/amoveqa/data
}
extra() {
	amove `+c.arg+`
}
`, map[string]string{})
		pkgs, out, err := compatBuild(t, dir)
		if !c.ok {
			var pe *build.PhaseError
			if !errors.As(err, &pe) || pe.Phase != "split amoveqa-extra" || !strings.Contains(out, "amove: usr/lib/*.so: no such file") {
				t.Errorf("amove %s: build error %v, want a failed split amoveqa-extra\n%s", c.arg, err, out)
			}
			continue
		}
		if err != nil {
			t.Fatalf("amove %s: build: %v\n%s", c.arg, err, out)
		}
		if d := cmp.Diff([]string{"usr", "usr/lib", "usr/lib/liba.so"}, paths(pkgs["amoveqa-extra"])); d != "" {
			t.Errorf("amove %s: amoveqa-extra files (-want +got):\n%s", c.arg, d)
		}
	}
}

// TestCompatPCRequiresUnprovided: a .pc file whose Requires names a module
// that nothing provides fails abuild's package step (pkg-config
// --print-requires fails on it); apkit fails too, naming the file and the
// module. A module another package of the build provides is fine.
func TestCompatPCRequiresUnprovided(t *testing.T) {
	for _, c := range []struct {
		requires string
		ok       bool
	}{{"pcqa-other", true}, {"pcqa-nosuchmodule >= 1.0", false}} {
		dir := compatRecipe(t, "pcqa", recipeHead("pcqa", "noarch")+`subpackages="$pkgname-other:other $pkgname-dev"
package() {
	mkdir -p "$pkgdir"/usr/share/pkgconfig
	printf 'Name: pcqa\nVersion: 1.0\nDescription: d\nRequires: `+c.requires+`\n' > "$pkgdir"/usr/share/pkgconfig/pcqa.pc
	printf 'Name: other\nVersion: 1.0\nDescription: d\n' > "$pkgdir"/usr/share/pkgconfig/pcqa-other.pc
}
other() {
	amove usr/share/pkgconfig/pcqa-other.pc
}
`, map[string]string{})
		_, out, err := compatBuild(t, dir)
		if c.ok {
			if err != nil {
				t.Errorf("Requires: %s: build: %v\n%s", c.requires, err, out)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), "pcqa-dev: usr/share/pkgconfig/pcqa.pc requires pcqa-nosuchmodule, which no package provides") {
			t.Errorf("Requires: %s: build error %v, want one naming the .pc file and the module\n%s", c.requires, err, out)
		}
	}
}
