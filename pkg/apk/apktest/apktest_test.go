package apktest_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/apkit-dev/apkit/pkg/apk/apktest"
)

func TestStage(t *testing.T) {
	dir := t.TempDir()
	host := filepath.Join(t.TempDir(), "tool")
	if err := os.WriteFile(host, []byte("from the host"), 0o600); err != nil {
		t.Fatal(err)
	}
	apktest.Stage(t, dir, []apktest.File{
		{Path: "etc/"},
		{Path: "etc/conf", Mode: 0o600, Content: "secret"},
		{Path: "usr/bin/a", Mode: 0o755, Content: "a"},
		{Path: "usr/bin/b", Content: "=>usr/bin/a"},
		{Path: "usr/bin/c", Content: "->a"},
	}, map[string]string{"usr/bin/host": host})
	for p, want := range map[string]os.FileMode{
		"etc": os.ModeDir | 0o755, "etc/conf": 0o600, "usr/bin/a": 0o755, "usr/bin/c": os.ModeSymlink | 0o777, "usr/bin/host": 0o755,
	} {
		fi, err := os.Lstat(filepath.Join(dir, p))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != want {
			t.Errorf("%s: mode %v, want %v", p, fi.Mode(), want)
		}
	}
	a, _ := os.Stat(filepath.Join(dir, "usr/bin/a"))
	b, _ := os.Stat(filepath.Join(dir, "usr/bin/b"))
	if !os.SameFile(a, b) {
		t.Error("usr/bin/b is not a hard link to usr/bin/a")
	}
	if l, err := os.Readlink(filepath.Join(dir, "usr/bin/c")); err != nil || l != "a" {
		t.Errorf("usr/bin/c -> %q, %v", l, err)
	}
}
