package install_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apkit-dev/apkit/pkg/install"
)

// Files of every size around what is read ahead whole (64 KiB), and more
// files than there are read-ahead buffers, in several packages: each is
// installed with its content.
func TestReadAheadSizes(t *testing.T) {
	t.Parallel()
	sizes := []int{0, 1, 64<<10 - 1, 64 << 10, 64<<10 + 1, 300 << 10}
	var pkgs []testPkg
	var names []string
	for i := range 3 {
		p := testPkg{name: fmt.Sprintf("big%d", i), version: "1-r0", files: []entry{{path: "usr/"}, {path: "usr/share/"}}}
		for j, n := range sizes {
			p.files = append(p.files, entry{path: fmt.Sprintf("usr/share/big%d-%d", i, j), content: strings.Repeat(string(rune('a'+j)), n)})
		}
		for j := range 90 {
			p.files = append(p.files, entry{path: fmt.Sprintf("usr/share/small%d-%d", i, j), content: fmt.Sprintf("small %d %d\n", i, j)})
		}
		pkgs = append(pkgs, p)
		names = append(names, p.name)
	}
	r, _ := testRepo(t, pkgs...)
	ctx := context.Background()
	root := t.TempDir()
	if _, err := install.Install(ctx, root, planOf(t, r, names...), &install.Options{Arch: arch, NoScripts: true}); err != nil {
		t.Fatal(err)
	}
	for _, p := range pkgs {
		for _, e := range p.files {
			if strings.HasSuffix(e.path, "/") {
				continue
			}
			data, err := os.ReadFile(filepath.Join(root, e.path))
			if err != nil || string(data) != e.content {
				t.Errorf("%s: %d bytes, want %d (%v)", e.path, len(data), len(e.content), err)
			}
		}
	}
}

// swapDir is a script runner that, on the first package's post-install,
// moves /usr/share/data aside and makes a new one in its place, as a
// script may.
type swapDir struct{ ran []string }

func (s *swapDir) RunScript(_ context.Context, root, script string, _ []string) ([]byte, error) {
	s.ran = append(s.ran, filepath.Base(script))
	if strings.HasSuffix(script, "first-1-r0.post-install") {
		d := filepath.Join(root, "usr/share/data")
		if err := os.Rename(d, d+".old"); err != nil {
			return nil, err
		}
		return nil, os.Mkdir(d, 0o755)
	}
	return nil, nil
}

// Directories are not reached through what was open before a script ran:
// the next package's files go where the path leads after the script.
func TestReadAheadAfterScript(t *testing.T) {
	t.Parallel()
	first := testPkg{name: "first", version: "1-r0",
		files:   []entry{{path: "usr/"}, {path: "usr/share/"}, {path: "usr/share/data/"}, {path: "usr/share/data/first", content: "1\n"}},
		scripts: map[string]string{".post-install": "#!/bin/sh\n"}}
	second := testPkg{name: "second", version: "1-r0",
		files: []entry{{path: "usr/"}, {path: "usr/share/"}, {path: "usr/share/data/"}, {path: "usr/share/data/second", content: "2\n"}}}
	r, _ := testRepo(t, first, second)
	ctx := context.Background()
	root := t.TempDir()
	runner := &swapDir{}
	if _, err := install.Install(ctx, root, planOf(t, r, "first", "second"), &install.Options{Arch: arch, Scripts: runner}); err != nil {
		t.Fatal(err)
	}
	if len(runner.ran) != 1 {
		t.Fatalf("scripts run: %v", runner.ran)
	}
	if _, err := os.Stat(filepath.Join(root, "usr/share/data/second")); err != nil {
		t.Errorf("second's file is not where its path leads: %v", err)
	}
	if _, err := os.Stat(filepath.Join(root, "usr/share/data.old/second")); err == nil {
		t.Error("second's file went into the directory the script moved aside")
	}
}

// An install that fails part way, with packages still being read ahead
// and a file handed over as a stream, stops the reader and says why.
func TestReadAheadStopsOnError(t *testing.T) {
	t.Parallel()
	big := func(name string) testPkg {
		return testPkg{name: name, version: "1-r0", files: []entry{{path: "usr/"}, {path: "usr/share/"},
			{path: "usr/share/" + name, content: strings.Repeat("x", 200<<10)}, {path: "usr/share/" + name + ".2", content: "y"}}}
	}
	thief := testPkg{name: "thief", version: "1-r0", files: []entry{{path: "usr/"}, {path: "usr/share/"},
		{path: "usr/share/a", content: strings.Repeat("z", 200<<10)}}}
	r, _ := testRepo(t, big("a"), thief, big("b"), big("c"))
	ctx := context.Background()
	root := t.TempDir()
	_, err := install.Install(ctx, root, planOf(t, r, "a", "thief", "b", "c"), &install.Options{Arch: arch, NoScripts: true})
	if !errors.Is(err, install.ErrConflict) || !strings.Contains(err.Error(), "thief-1-r0") {
		t.Fatalf("err = %v, want a conflict naming thief-1-r0", err)
	}
	if _, err := os.Stat(filepath.Join(root, "usr/share/b")); err == nil {
		t.Error("a package after the failed one was installed")
	}
}

// A directory a package lists that is a symbolic link in the root (merged
// /usr: /bin -> usr/bin) stays a link, and the package's files go where it
// leads; one that is a file is an error naming it.
func TestDirectoryThatIsALink(t *testing.T) {
	t.Parallel()
	layout := testPkg{name: "layout", version: "1-r0", files: []entry{
		{path: "usr/"}, {path: "usr/bin/"}, {path: "bin", content: "->usr/bin"}, {path: "srv", content: "a file\n"}}}
	lib := testPkg{name: "lib", version: "1-r0", files: []entry{
		{path: "bin/", mode: 0o700}, {path: "bin/x", content: "x\n"}}}
	bad := testPkg{name: "bad", version: "1-r0", files: []entry{{path: "srv/"}, {path: "srv/x", content: "x\n"}}}
	r, _ := testRepo(t, layout, lib, bad)
	ctx := context.Background()
	root := t.TempDir()
	opts := &install.Options{Arch: arch, NoScripts: true}
	if _, err := install.Install(ctx, root, planOf(t, r, "layout", "lib"), opts); err != nil {
		t.Fatal(err)
	}
	if l, err := os.Readlink(filepath.Join(root, "bin")); err != nil || l != "usr/bin" {
		t.Errorf("bin -> %q, %v; want the link kept", l, err)
	}
	if data, err := os.ReadFile(filepath.Join(root, "usr/bin/x")); err != nil || string(data) != "x\n" {
		t.Errorf("usr/bin/x: %q, %v", data, err)
	}
	if fi, err := os.Stat(filepath.Join(root, "usr/bin")); err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("usr/bin through the link: %v, %v; want its mode kept", fi.Mode(), err)
	}
	_, err := install.Install(ctx, root, planOf(t, r, "bad"), opts)
	if err == nil || !strings.Contains(err.Error(), "srv: exists and is not a directory") {
		t.Errorf("err = %v, want srv named as not a directory", err)
	}
}
