package scan_test

import (
	"context"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/apkit-dev/apkit/pkg/scan"
)

// requireCC returns the host C compiler or skips (fails in CI).
func requireCC(t *testing.T) string {
	t.Helper()
	cc, err := exec.LookPath("cc")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("a C compiler is required in CI: %v", err)
		}
		t.Skip("no C compiler (cc) found; install gcc to run this test")
	}
	return cc
}

func write(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
}

func symlink(t *testing.T, target, path string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, path); err != nil {
		t.Fatal(err)
	}
}

func cc(t *testing.T, args ...string) {
	t.Helper()
	out, err := exec.Command(requireCC(t), args...).CombinedOutput()
	if err != nil {
		t.Fatalf("cc %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// buildTrees compiles a library and a program into two package trees the
// way a recipe with a -dev subpackage would lay them out.
func buildTrees(t *testing.T) (mainDir, devDir string) {
	base := t.TempDir()
	src := filepath.Join(base, "src")
	mainDir = filepath.Join(base, "pkg", "foo")
	devDir = filepath.Join(base, "pkg", "foo-dev")
	write(t, filepath.Join(src, "foo.c"), "int foo(void) { return 42; }\n", 0o644)
	write(t, filepath.Join(src, "prog.c"), "int foo(void);\nint main(void) { return foo() - 42; }\n", 0o644)
	lib := filepath.Join(mainDir, "usr", "lib")
	if err := os.MkdirAll(lib, 0o755); err != nil {
		t.Fatal(err)
	}
	cc(t, "-shared", "-fPIC", "-Wl,-soname,libfoo.so.1", "-o", filepath.Join(lib, "libfoo.so.1.2.3"), filepath.Join(src, "foo.c"))
	symlink(t, "libfoo.so.1.2.3", filepath.Join(lib, "libfoo.so.1"))
	symlink(t, "libfoo.so.1.2.3", filepath.Join(devDir, "usr", "lib", "libfoo.so"))
	bin := filepath.Join(mainDir, "usr", "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	cc(t, "-o", filepath.Join(bin, "prog"), filepath.Join(src, "prog.c"), "-L"+lib, "-l:libfoo.so.1.2.3")
	symlink(t, "prog", filepath.Join(bin, "prog-alias"))
	write(t, filepath.Join(bin, "not-a-command"), "data\n", 0o644)
	write(t, filepath.Join(bin, "x@y"), "#!/bin/sh\n", 0o755)
	write(t, filepath.Join(devDir, "usr", "lib", "pkgconfig", "foo.pc"), `prefix=/usr
libdir=${prefix}/lib
Name: foo
Version: 1.2.3-rc1
Requires: zlib >= 1.2, bar
Requires.private: foo-extra
Provides: foo-compat = 1.2.3
Libs: -L${libdir} -lfoo
`, 0o644)
	write(t, filepath.Join(devDir, "usr", "include", "foo.h"), "int foo(void);\n", 0o644)
	return mainDir, devDir
}

func TestTrace(t *testing.T) {
	mainDir, devDir := buildTrees(t)
	mt, err := scan.Scan(mainDir)
	if err != nil {
		t.Fatal(err)
	}
	dt, err := scan.Scan(devDir)
	if err != nil {
		t.Fatal(err)
	}
	pkgs := []*scan.Package{
		{Name: "foo", Version: "1.2.3-r0", Tree: mt},
		{Name: "foo-dev", Version: "1.2.3-r0", Tree: dt, Somask: []string{"libignored.so.1"}},
	}
	var pcAsked []string
	res := scan.Resolver{
		Soname: func(n string) (string, bool) { return "so:" + n, true },
		PC: func(n string) (string, bool) {
			pcAsked = append(pcAsked, n)
			return "pc:" + n, n == "zlib"
		},
	}
	got, err := scan.Trace(pkgs, res)
	if err != nil {
		t.Fatal(err)
	}
	libc := ""
	for _, e := range mt.ELF {
		if e.Path == "usr/bin/prog" {
			for _, n := range e.Needed {
				if strings.HasPrefix(n, "libc.") {
					libc = n
				}
			}
		}
	}
	if libc == "" {
		t.Fatal("prog does not need a libc")
	}
	want := []*scan.Result{
		{
			Provides:    []string{"cmd:prog-alias=1.2.3-r0", "cmd:prog=1.2.3-r0", "so:libfoo.so.1=1.2.3"},
			AutoDepends: []string{"so:" + libc},
		},
		{
			Provides:    []string{"pc:foo-compat=1.2.3", "pc:foo=1.2.3_rc1"},
			Depends:     []string{"foo=1.2.3-r0"},
			AutoDepends: []string{"pc:zlib>=1.2", "pkgconfig"},
			Warnings:    []string{"foo-dev: could not find any provider for pc:bar", "foo-dev: could not find any provider for pc:foo-extra"},
			MissingPC:   []scan.PCNeed{{File: "usr/lib/pkgconfig/foo.pc", Module: "bar"}, {File: "usr/lib/pkgconfig/foo.pc", Module: "foo-extra"}},
		},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("Trace (-want +got):\n%s", d)
	}

	// The program's need for libfoo.so.1 is met inside the build.
	if strings.Contains(strings.Join(got[0].AutoDepends, " "), "libfoo") {
		t.Errorf("own soname listed as a dependency: %v", got[0].AutoDepends)
	}
}

func TestTraceAcrossPackages(t *testing.T) {
	mainDir, devDir := buildTrees(t)
	// Move the program into its own package: it must then depend on the
	// library's so: name.
	base := filepath.Dir(mainDir)
	progDir := filepath.Join(base, "foo-tools")
	if err := os.MkdirAll(filepath.Join(progDir, "usr", "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(mainDir, "usr", "bin", "prog"), filepath.Join(progDir, "usr", "bin", "prog")); err != nil {
		t.Fatal(err)
	}
	var pkgs []*scan.Package
	for _, d := range []string{mainDir, devDir, progDir} {
		tr, err := scan.Scan(d)
		if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, &scan.Package{Name: filepath.Base(d), Version: "1.2.3-r0", Tree: tr, SonamePrefix: ""})
	}
	got, err := scan.Trace(pkgs, scan.Resolver{})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, d := range got[2].AutoDepends {
		if d == "so:libfoo.so.1" {
			found = true
		}
	}
	if !found {
		t.Errorf("foo-tools depends %v, want so:libfoo.so.1 among them", got[2].AutoDepends)
	}
}

func TestStrip(t *testing.T) {
	mainDir, _ := buildTrees(t)
	if _, err := exec.LookPath("strip"); err != nil {
		t.Skip("no strip command (binutils)")
	}
	prog := filepath.Join(mainDir, "usr", "bin", "prog")
	if err := os.Link(prog, filepath.Join(mainDir, "usr", "bin", "prog-hard")); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(prog, 0o555); err != nil {
		t.Fatal(err)
	}
	before, _ := os.Stat(prog)
	tr, err := scan.Scan(mainDir)
	if err != nil {
		t.Fatal(err)
	}
	targets := tr.StripTargets()
	if d := cmp.Diff([]string{"usr/bin/prog", "usr/lib/libfoo.so.1.2.3"}, targets); d != "" {
		t.Fatalf("StripTargets (-want +got):\n%s", d)
	}
	if err := scan.Strip(context.Background(), mainDir, targets, scan.StripOptions{TempDir: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	after, _ := os.Stat(prog)
	if after.Size() >= before.Size() {
		t.Errorf("size %d after strip, %d before", after.Size(), before.Size())
	}
	if after.Mode() != before.Mode() || !os.SameFile(before, after) {
		t.Errorf("strip changed mode or inode: %v -> %v", before.Mode(), after.Mode())
	}
	f, err := elf.Open(prog)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Section(".symtab") != nil {
		t.Error("stripped program still has .symtab")
	}
	hard, _ := os.Stat(filepath.Join(mainDir, "usr", "bin", "prog-hard"))
	if !os.SameFile(hard, after) {
		t.Error("hard link broken")
	}
}

func TestPCVersion(t *testing.T) {
	tests := map[string]string{"": "0", "v1.2": "1.2", "1.0.alpha2": "1.0_alpha2", "2.0-rc1": "2.0_rc1", "1.0-beta.pre": "1.0_beta_pre", "3": "3"}
	for in, want := range tests {
		t.Run(in, func(t *testing.T) {
			if got := scan.PCVersion(in); got != want {
				t.Errorf("PCVersion(%q) = %q, want %q", in, got, want)
			}
		})
	}
}

func TestReadELFNotELF(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{"text": "hello", "short": "\x7fEL", "bad": "\x7fELF\x02\x01\x01garbage"} {
		p := filepath.Join(dir, name)
		write(t, p, content, 0o644)
		e, err := scan.ReadELF(p, name)
		if name == "bad" {
			if err == nil {
				t.Errorf("%s: want error", name)
			}
			continue
		}
		if e != nil || err != nil {
			t.Errorf("%s: got %v, %v; want nil, nil", name, e, err)
		}
	}
}

func FuzzParsePC(f *testing.F) {
	f.Add("prefix=/usr\nName: x\nVersion: ${prefix}1\nRequires: a >= 1, b\n")
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = scan.ParsePC(strings.NewReader(s))
	})
}

func FuzzReadELF(f *testing.F) {
	f.Add([]byte("\x7fELF\x02\x01\x01\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		p := filepath.Join(t.TempDir(), "f")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		_, _ = scan.ReadELF(p, "f")
	})
}

// TestScanStaysInTree: symlinked directories are not followed out of the
// package tree.
func TestScanStaysInTree(t *testing.T) {
	outside := t.TempDir()
	write(t, filepath.Join(outside, "pkgconfig", "secret.pc"), "Name: secret\nVersion: 1\n", 0o644)
	write(t, filepath.Join(outside, "bin", "tool"), "#!/bin/sh\n", 0o755)
	root := t.TempDir()
	symlink(t, filepath.Join(outside, "pkgconfig"), filepath.Join(root, "usr", "lib", "pkgconfig"))
	symlink(t, filepath.Join(outside, "bin"), filepath.Join(root, "usr", "bin"))
	tr, err := scan.Scan(root)
	if err != nil {
		t.Fatal(err)
	}
	if len(tr.PC) != 0 || len(tr.Commands) != 0 {
		t.Errorf("scan followed symlinks out of the tree: pc %v, commands %v", tr.PC, tr.Commands)
	}
}
