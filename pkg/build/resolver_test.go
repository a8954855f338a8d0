package build

import (
	"os"
	"path/filepath"
	"testing"
)

func TestResolverReadsInstalledDatabase(t *testing.T) {
	root := t.TempDir()
	db := filepath.Join(root, "lib", "apk", "db")
	if err := os.MkdirAll(db, 0o755); err != nil {
		t.Fatal(err)
	}
	installed := "C:Q1abc=\nP:musl\nV:1.2.5-r0\nA:x86_64\np:so:libc.musl-x86_64.so.1=1\nF:lib\nR:ld-musl-x86_64.so.1\n\nP:zlib-dev\nV:1.3-r0\np:pc:zlib=1.3\n\n"
	if err := os.WriteFile(filepath.Join(db, "installed"), []byte(installed), 0o644); err != nil {
		t.Fatal(err)
	}
	b := &builder{opts: Options{RootFS: root}, progress: NoProgress{}}
	r := b.resolver()
	for _, tc := range []struct {
		lookup func(string) (string, bool)
		name   string
		want   string
		ok     bool
	}{
		{r.Soname, "libc.musl-x86_64.so.1", "so:libc.musl-x86_64.so.1", true},
		{r.Soname, "libfoo.so.1", "so:libfoo.so.1", false},
		{r.PC, "zlib", "pc:zlib", true},
		{r.PC, "openssl", "pc:openssl", false},
	} {
		got, ok := tc.lookup(tc.name)
		if got != tc.want || ok != tc.ok {
			t.Errorf("%s: got %q %v, want %q %v", tc.name, got, ok, tc.want, tc.ok)
		}
	}
	// Without a database, a need is met by the root's files.
	root = t.TempDir()
	for _, f := range []string{"usr/lib/x86_64-linux-gnu/libz.so.1", "usr/share/pkgconfig/zlib.pc"} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(root, f)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b = &builder{opts: Options{RootFS: root}, progress: NoProgress{}}
	r = b.resolver()
	for _, tc := range []struct {
		lookup func(string) (string, bool)
		name   string
		want   string
		ok     bool
	}{
		{r.Soname, "libz.so.1", "so:libz.so.1", true},
		{r.Soname, "libfoo.so.1", "", false},
		{r.Soname, "../../usr/share/pkgconfig/zlib.pc", "", false},
		{r.PC, "zlib", "pc:zlib", true},
		{r.PC, "openssl", "", false},
	} {
		got, ok := tc.lookup(tc.name)
		if got != tc.want || ok != tc.ok {
			t.Errorf("files: %s: got %q %v, want %q %v", tc.name, got, ok, tc.want, tc.ok)
		}
	}
}
