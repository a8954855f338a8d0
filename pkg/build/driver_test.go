package build

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// shells returns the POSIX shells available to run the driver with.
func shells(t *testing.T) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	if p, err := exec.LookPath("dash"); err == nil {
		out["dash"] = []string{p}
	}
	if p, err := exec.LookPath("busybox"); err == nil {
		out["busybox"] = []string{p, "sh"}
	}
	if p, err := exec.LookPath("bash"); err == nil {
		out["bash"] = []string{p, "--posix"}
	}
	if len(out) == 0 {
		out["sh"] = []string{"/bin/sh"}
	}
	return out
}

type driverEnv struct {
	startdir, srcdir, pkgbasedir, tmpdir string
}

// newDriverEnv writes apkbuild into a fresh recipe directory.
func newDriverEnv(t *testing.T, apkbuild string) *driverEnv {
	t.Helper()
	start := filepath.Join(t.TempDir(), "main", "x")
	e := &driverEnv{startdir: start, srcdir: filepath.Join(start, "src"), pkgbasedir: filepath.Join(start, "pkg"), tmpdir: filepath.Join(start, "tmp")}
	for _, d := range []string{e.srcdir, e.pkgbasedir, e.tmpdir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(start, "APKBUILD"), []byte(apkbuild), 0o644); err != nil {
		t.Fatal(err)
	}
	return e
}

// run runs the driver with args under sh and returns its output and metadata.
func (e *driverEnv) run(t *testing.T, sh []string, args ...string) (string, map[string]string, error) {
	t.Helper()
	return e.runPath(t, sh, defaultPath, args...)
}

// runPath is run with PATH set to path.
func (e *driverEnv) runPath(t *testing.T, sh []string, path string, args ...string) (string, map[string]string, error) {
	t.Helper()
	meta := filepath.Join(e.tmpdir, "meta")
	os.Remove(meta)
	argv := append(append(append([]string(nil), sh[1:]...), "-c", driverScript, "apkit-phase"), args...)
	cmd := exec.Command(sh[0], argv...)
	cmd.Dir = e.startdir
	cmd.Env = []string{
		"PATH=" + path, "HOME=" + e.tmpdir, "startdir=" + e.startdir, "APKBUILD=" + filepath.Join(e.startdir, "APKBUILD"),
		"srcdir=" + e.srcdir, "pkgbasedir=" + e.pkgbasedir, "tmpdir=" + e.tmpdir, "APKIT_META=" + meta,
		"CBUILD=x86_64-alpine-linux-musl", "CHOST=x86_64-alpine-linux-musl", "CTARGET=x86_64-alpine-linux-musl", "CARCH=x86_64",
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var vars map[string]string
	if err == nil {
		var merr error
		vars, merr = readMeta(meta)
		if merr != nil {
			t.Fatalf("meta: %v", merr)
		}
	}
	return out.String(), vars, err
}

// files lists the paths under dir (symlinks shown as "path -> target").
func files(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || p == dir {
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		if fi.Mode()&os.ModeSymlink != 0 {
			target, _ := os.Readlink(p)
			rel += " -> " + target
		} else if fi.IsDir() {
			rel += "/"
		}
		out = append(out, rel)
		return nil
	})
	sort.Strings(out)
	return out
}

func mkfiles(t *testing.T, root string, specs ...string) {
	t.Helper()
	for _, s := range specs {
		path, target, isLink := strings.Cut(s, " -> ")
		p := filepath.Join(root, path)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		var err error
		switch {
		case isLink:
			err = os.Symlink(target, p)
		case strings.HasSuffix(path, "/"):
			err = os.MkdirAll(p, 0o755)
		default:
			err = os.WriteFile(p, []byte("content of "+path+"\n"), 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

const recipeHead = `pkgname=x
pkgver=1.0
pkgrel=2
pkgdesc="test package"
url="https://example.org"
arch="all"
license="MIT"
depends="libfoo"
provides="x-compat"
`

func TestDriverSplitFunctions(t *testing.T) {
	tests := []struct {
		name      string
		extra     string
		subpkg    string
		splitFunc string
		tree      []string
		wantMain  []string
		wantSub   []string
		wantMeta  map[string]string
		wantFail  bool
	}{
		{
			name:      "dev",
			subpkg:    "x-dev",
			splitFunc: "dev",
			extra:     `depends_dev="zlib-dev"` + "\n",
			tree:      []string{"usr/include/x.h", "usr/lib/libx.so.1.0", "usr/lib/libx.so.1 -> libx.so.1.0", "usr/lib/libx.so -> libx.so.1.0", "usr/lib/libx.a", "usr/lib/pkgconfig/x.pc", "usr/bin/x-config", "usr/bin/x", "usr/share/x/sub/include/y.h"},
			wantMain:  []string{"usr/", "usr/bin/", "usr/bin/x", "usr/lib/", "usr/lib/libx.so.1 -> libx.so.1.0", "usr/lib/libx.so.1.0"},
			wantSub:   []string{"usr/", "usr/bin/", "usr/bin/x-config", "usr/include/", "usr/include/x.h", "usr/lib/", "usr/lib/libx.a", "usr/lib/libx.so -> libx.so.1.0", "usr/lib/pkgconfig/", "usr/lib/pkgconfig/x.pc", "usr/share/", "usr/share/x/", "usr/share/x/sub/", "usr/share/x/sub/include/", "usr/share/x/sub/include/y.h"},
			wantMeta:  map[string]string{"depends": "zlib-dev", "pkgdesc": "test package (development files)", "provides": "", "install_if": ""},
		},
		{
			name:      "doc compresses man pages",
			subpkg:    "x-doc",
			splitFunc: "doc",
			tree:      []string{"usr/share/man/man1/x.1", "usr/share/man/man1/y.1 -> x.1", "usr/share/man/man5/z.5.gz", "usr/share/doc/x/README", "usr/share/info/dir", "usr/share/info/x.info", "usr/bin/x"},
			wantMain:  []string{"usr/", "usr/bin/", "usr/bin/x"},
			wantSub:   []string{"usr/", "usr/share/", "usr/share/doc/", "usr/share/doc/x/", "usr/share/doc/x/README", "usr/share/info/", "usr/share/info/x.info", "usr/share/man/", "usr/share/man/man1/", "usr/share/man/man1/x.1.gz", "usr/share/man/man1/y.1.gz -> x.1.gz", "usr/share/man/man5/", "usr/share/man/man5/z.5.gz"},
			wantMeta:  map[string]string{"depends": "", "pkgdesc": "test package (documentation)", "install_if": "docs x=1.0-r2"},
		},
		{
			name:      "libs",
			subpkg:    "x-libs",
			splitFunc: "libs",
			tree:      []string{"usr/lib/libx.so.1.0", "usr/lib/libx.so.1 -> libx.so.1.0", "usr/bin/x"},
			wantMain:  []string{"usr/", "usr/bin/", "usr/bin/x"},
			wantSub:   []string{"usr/", "usr/lib/", "usr/lib/libx.so.1 -> libx.so.1.0", "usr/lib/libx.so.1.0"},
			wantMeta:  map[string]string{"pkgdesc": "test package (libraries)", "depends": ""},
		},
		{
			name:      "openrc",
			subpkg:    "x-openrc",
			splitFunc: "openrc",
			tree:      []string{"etc/init.d/x", "etc/conf.d/x", "etc/x.conf"},
			wantMain:  []string{"etc/", "etc/x.conf"},
			wantSub:   []string{"etc/", "etc/conf.d/", "etc/conf.d/x", "etc/init.d/", "etc/init.d/x"},
			wantMeta:  map[string]string{"install_if": "openrc x=1.0-r2", "pkgdesc": "test package (OpenRC init scripts)"},
		},
		{
			name:      "bash completion",
			subpkg:    "x-bash-completion",
			splitFunc: "bashcomp",
			tree:      []string{"usr/share/bash-completion/completions/x", "usr/bin/x"},
			wantMain:  []string{"usr/", "usr/bin/", "usr/bin/x"},
			wantSub:   []string{"usr/", "usr/share/", "usr/share/bash-completion/", "usr/share/bash-completion/completions/", "usr/share/bash-completion/completions/x"},
			wantMeta:  map[string]string{"install_if": "x=1.0-r2 bash-completion", "pkgdesc": "Bash completions for x"},
		},
		{
			name:      "lang with langdir",
			subpkg:    "x-lang",
			splitFunc: "lang",
			extra:     "langdir=/usr/lib/x/locale\n",
			tree:      []string{"usr/lib/x/locale/de.mo", "usr/lib/x/x.so"},
			wantMain:  []string{"usr/", "usr/lib/", "usr/lib/x/", "usr/lib/x/x.so"},
			wantSub:   []string{"usr/", "usr/lib/", "usr/lib/x/", "usr/lib/x/locale/", "usr/lib/x/locale/de.mo"},
			wantMeta:  map[string]string{"install_if": "x=1.0-r2 lang", "pkgdesc": "Languages for package x"},
		},
		{
			name:      "custom split inherits depends",
			subpkg:    "x-tools",
			splitFunc: "tools",
			extra:     "tools() {\n\tpkgdesc=\"tools\"\n\tamove usr/bin/x-*\n}\n",
			tree:      []string{"usr/bin/x", "usr/bin/x-a", "usr/bin/x-b"},
			wantMain:  []string{"usr/", "usr/bin/", "usr/bin/x"},
			wantSub:   []string{"usr/", "usr/bin/", "usr/bin/x-a", "usr/bin/x-b"},
			wantMeta:  map[string]string{"depends": "libfoo", "provides": "", "pkgdesc": "tools"},
		},
		{
			name:      "amove fails on a missing path after moving the others",
			subpkg:    "x-tools",
			splitFunc: "tools",
			extra:     "tools() {\n\tamove usr/bin/x-a usr/bin/missing\n}\n",
			tree:      []string{"usr/bin/x", "usr/bin/x-a"},
			wantMain:  []string{"usr/", "usr/bin/", "usr/bin/x"},
			wantSub:   []string{"usr/", "usr/bin/", "usr/bin/x-a"},
			wantFail:  true,
		},
		{
			name:      "split function must create subpkgdir",
			subpkg:    "x-nothing",
			splitFunc: "nothing",
			extra:     "nothing() {\n\t:\n}\n",
			tree:      []string{"usr/bin/x"},
			wantMain:  []string{"usr/", "usr/bin/", "usr/bin/x"},
			wantFail:  true,
		},
	}
	for shName, sh := range shells(t) {
		for _, tc := range tests {
			t.Run(shName+"/"+tc.name, func(t *testing.T) {
				e := newDriverEnv(t, recipeHead+"subpackages=\""+tc.subpkg+"\"\n"+tc.extra+"package() { :; }\n")
				pkgdir := filepath.Join(e.pkgbasedir, "x")
				mkfiles(t, pkgdir, tc.tree...)
				out, meta, err := e.run(t, sh, "split", tc.subpkg, tc.splitFunc, "x86_64")
				if tc.wantFail != (err != nil) {
					t.Fatalf("err = %v, want failure %v\n%s", err, tc.wantFail, out)
				}
				if d := cmp.Diff(tc.wantMain, files(t, pkgdir)); d != "" {
					t.Errorf("main package (-want +got):\n%s\n%s", d, out)
				}
				if d := cmp.Diff(tc.wantSub, files(t, filepath.Join(e.pkgbasedir, tc.subpkg))); d != "" {
					t.Errorf("subpackage (-want +got):\n%s\n%s", d, out)
				}
				for k, v := range tc.wantMeta {
					if meta[k] != v {
						t.Errorf("%s = %q, want %q", k, meta[k], v)
					}
				}
			})
		}
	}
}

func TestDriverPhases(t *testing.T) {
	tests := []struct {
		name     string
		body     string
		phase    string
		wantFail bool
		wantOut  string
		wantMeta map[string]string
	}{
		{
			name:     "set -e stops at the first failing command",
			body:     "build() {\n\tfalse\n\techo not reached\n}\n",
			phase:    "build",
			wantFail: true,
		},
		{
			name:    "phases run in builddir",
			body:    "builddir=\"$srcdir\"/work\nbuild() {\n\tpwd\n}\n",
			phase:   "build",
			wantOut: "/src/work\n",
		},
		{
			name:    "default check warns",
			body:    "",
			phase:   "check",
			wantOut: "APKBUILD does not run any tests!",
		},
		{
			name:     "package changes reach the metadata",
			body:     "package() {\n\tmkdir -p \"$pkgdir\"\n\tpkgdesc=\"changed\"\n\tdepends=\"$depends bar\"\n}\n",
			phase:    "package",
			wantMeta: map[string]string{"pkgdesc": "changed", "depends": "libfoo bar"},
		},
		{
			name:    "options_has with per-package options",
			body:    "options=\"!check x::net other::suid\"\nbuild() {\n\toptions_has net && echo net\n\toptions_has suid || echo nosuid\n\toptions_has '!check' && echo nocheck\n\twant_check || echo nowant\n}\n",
			phase:   "build",
			wantOut: "net\nnosuid\nnocheck\nnowant\n",
		},
		{
			name:     "unknown phase function",
			body:     "",
			phase:    "nosuch",
			wantFail: true,
		},
	}
	for shName, sh := range shells(t) {
		for _, tc := range tests {
			t.Run(shName+"/"+tc.name, func(t *testing.T) {
				e := newDriverEnv(t, recipeHead+tc.body)
				os.MkdirAll(filepath.Join(e.srcdir, "work"), 0o755)
				out, meta, err := e.run(t, sh, tc.phase)
				if tc.wantFail != (err != nil) {
					t.Fatalf("err = %v, want failure %v\n%s", err, tc.wantFail, out)
				}
				if strings.Contains(out, "not reached") {
					t.Errorf("execution went on after a failure:\n%s", out)
				}
				if !strings.Contains(out, tc.wantOut) {
					t.Errorf("output %q does not contain %q", out, tc.wantOut)
				}
				for k, v := range tc.wantMeta {
					if meta[k] != v {
						t.Errorf("%s = %q, want %q", k, meta[k], v)
					}
				}
			})
		}
	}
}

func TestDriverDefaultPrepare(t *testing.T) {
	_, errPatch := exec.LookPath("patch")
	_, errBusybox := exec.LookPath("busybox")
	if errPatch != nil && errBusybox != nil {
		t.Skip("neither patch nor busybox is installed")
	}
	good := "--- a/f\n+++ b/f\n@@ -1 +1 @@\n-one\n+two\n"
	bad := "--- a/f\n+++ b/f\n@@ -1 +1 @@\n-nothing like this\n+three\n"
	for shName, sh := range shells(t) {
		t.Run(shName, func(t *testing.T) {
			e := newDriverEnv(t, recipeHead+"source=\"x-1.0.tar.gz good.patch https://example.org/bad.patch other::https://example.org/dl\"\n")
			builddir := filepath.Join(e.srcdir, "x-1.0")
			os.MkdirAll(builddir, 0o755)
			os.WriteFile(filepath.Join(builddir, "f"), []byte("one\n"), 0o644)
			os.WriteFile(filepath.Join(e.srcdir, "good.patch"), []byte(good), 0o644)
			os.WriteFile(filepath.Join(e.srcdir, "bad.patch"), []byte(bad), 0o644)
			out, _, err := e.run(t, sh, "prepare")
			if err == nil {
				t.Fatalf("prepare with a bad patch succeeded\n%s", out)
			}
			if !strings.Contains(out, "bad.patch") {
				t.Errorf("failure does not name the bad patch:\n%s", out)
			}
			if b, _ := os.ReadFile(filepath.Join(builddir, "f")); string(b) != "two\n" {
				t.Errorf("good patch not applied: %q", b)
			}
		})
	}
}

func TestRecipeUnpackRunsAfterApkits(t *testing.T) {
	dir := copyRecipe(t, "greet")
	apkb := filepath.Join(dir, "APKBUILD")
	b, err := os.ReadFile(apkb)
	if err != nil {
		t.Fatal(err)
	}
	extra := "\nunpack() {\n\tdefault_unpack\n\ttest -f \"$builddir\"/Makefile\n\techo unpacked-by-recipe > \"$srcdir\"/marker\n}\n"
	if err := os.WriteFile(apkb, append(b, extra...), 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	_, err = Build(context.Background(), dir, Options{Runner: testRunner(t), Arch: "x86_64", Output: &out, Phases: []Phase{PhaseFetch, PhaseVerify, PhaseUnpack}})
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "src", "marker")); string(got) != "unpacked-by-recipe\n" {
		t.Errorf("marker = %q", got)
	}
}

// TestDriverPatchWithBusybox: without patch, default_prepare uses busybox's.
func TestDriverPatchWithBusybox(t *testing.T) {
	bb, err := exec.LookPath("busybox")
	if err != nil {
		t.Skip("busybox is not installed")
	}
	bin := t.TempDir()
	for name, target := range map[string]string{"busybox": bb, "mkdir": bb} {
		if err := os.Symlink(target, filepath.Join(bin, name)); err != nil {
			t.Fatal(err)
		}
	}
	e := newDriverEnv(t, recipeHead+"source=\"x-1.0.tar.gz fix.patch\"\n")
	builddir := filepath.Join(e.srcdir, "x-1.0")
	os.MkdirAll(builddir, 0o755)
	os.WriteFile(filepath.Join(builddir, "f"), []byte("one\n"), 0o644)
	os.WriteFile(filepath.Join(e.srcdir, "fix.patch"), []byte("--- a/f\n+++ b/f\n@@ -1 +1 @@\n-one\n+two\n"), 0o644)
	out, _, err := e.runPath(t, []string{bb, "sh"}, bin, "prepare")
	if err != nil {
		t.Fatalf("prepare: %v\n%s", err, out)
	}
	if b, _ := os.ReadFile(filepath.Join(builddir, "f")); string(b) != "two\n" {
		t.Errorf("patch not applied: %q\n%s", b, out)
	}
}
