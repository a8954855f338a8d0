package install_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/apkit-dev/apkit/pkg/alpinetest"
	"github.com/apkit-dev/apkit/pkg/install"
)

// realRepo opens the real Alpine v3.17 aarch64 index (5,004 packages).
func realRepo(b *testing.B) *install.Repository {
	b.Helper()
	dir := alpinetest.Dir(b)
	repo := filepath.Join(b.TempDir(), "repo")
	os.MkdirAll(filepath.Join(repo, "aarch64"), 0o755)
	if err := os.Symlink(filepath.Join(dir, "alpine-317", "APKINDEX.tar.gz"), filepath.Join(repo, "aarch64", "APKINDEX.tar.gz")); err != nil {
		b.Fatal(err)
	}
	kr, err := install.Keyring("", "aarch64", "", true)
	if err != nil {
		b.Fatal(err)
	}
	r, err := install.OpenRepository(context.Background(), repo, "aarch64", kr, nil)
	if err != nil {
		b.Fatal(err)
	}
	return r
}

// BenchmarkOpenRealIndex reads and verifies the real index: the baseline
// of BenchmarkSimulateRealIndex.
func BenchmarkOpenRealIndex(b *testing.B) {
	repo := realRepo(b).URL
	kr, _ := install.Keyring("", "aarch64", "", true)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := install.OpenRepository(context.Background(), repo, "aarch64", kr, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSimulateRealIndex is what `apkit add --simulate build-base
// avahi-ui-dev` does on the real index: open it and solve into an empty
// root.
func BenchmarkSimulateRealIndex(b *testing.B) {
	r := realRepo(b)
	kr, _ := install.Keyring("", "aarch64", "", true)
	root := filepath.Join(b.TempDir(), "root")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r2, err := install.OpenRepository(context.Background(), r.URL, "aarch64", kr, nil)
		if err != nil {
			b.Fatal(err)
		}
		plan, err := install.Solve(root, []*install.Repository{r2}, "aarch64", install.Request{Add: []string{"build-base", "avahi-ui-dev"}})
		if err != nil || len(plan.Changes) < 100 {
			b.Fatalf("solve: %v", err)
		}
	}
}

// BenchmarkEnsureRootCached is a build's fresh root when the cache has
// it: the solve that keys the root and a stat. No file is copied: builds
// mount the cached root read-only. The baseline is BenchmarkEnsureRootNew,
// which installs the same root.
func BenchmarkEnsureRootCached(b *testing.B) {
	c := benchRoot(b)
	if _, err := install.EnsureRoot(context.Background(), c); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := install.EnsureRoot(context.Background(), c); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEnsureRootNew(b *testing.B) {
	c := benchRoot(b)
	base := c.Cache
	for i := 0; i < b.N; i++ {
		c.Cache = filepath.Join(base, string(rune('a'+i%26)), filepath.Base(b.TempDir()))
		if _, err := install.EnsureRoot(context.Background(), c); err != nil {
			b.Fatal(err)
		}
	}
}

// benchRoot is a cached root of the 25 packages of the install
// benchmarks.
func benchRoot(b *testing.B) *install.CachedRoot {
	_, names, dir := benchRepo(b)
	r, err := install.OpenRepository(context.Background(), dir, arch, testKeyring(b), nil)
	if err != nil {
		b.Fatal(err)
	}
	return &install.CachedRoot{
		Cache:        filepath.Join(b.TempDir(), "roots"),
		Repositories: []*install.Repository{r},
		World:        names,
		Options:      install.Options{Arch: arch, NoScripts: true},
	}
}
