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
	// Without a database every need is assumed met by the system.
	b = &builder{opts: Options{RootFS: t.TempDir()}, progress: NoProgress{}}
	if r := b.resolver(); r.Soname != nil || r.PC != nil {
		t.Error("resolver without a database should be empty")
	}
}
