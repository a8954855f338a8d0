package install_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"

	"github.com/apkit-dev/apkit/pkg/install"
)

// TestPruneRoots prunes a cache of roots holding complete roots (one in
// use, one used long ago, one read-only in places), roots an interrupted
// build or prune left and one being made, and checks what goes when.
func TestPruneRoots(t *testing.T) {
	tmp := t.TempDir()
	repo := filepath.Join(tmp, "repo")
	buildRepo(t, repo, testKey(t),
		testPkg{name: "tool", version: "1.0-r0", files: []entry{{path: "usr/bin/tool", mode: 0o755, content: "tool"}}},
		testPkg{name: "other", version: "1.0-r0", files: []entry{{path: "usr/bin/other", mode: 0o755, content: "other"}}},
	)
	r, err := install.OpenRepository(context.Background(), repo, arch, testKeyring(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	cache := filepath.Join(tmp, "roots")
	cached := func(world ...string) *install.CachedRoot {
		return &install.CachedRoot{Cache: cache, Name: "test", Repositories: []*install.Repository{r},
			World: world, Options: install.Options{Arch: arch, NoScripts: true}}
	}
	ctx := context.Background()
	// old: used long ago, read-only in places.
	old, err := install.EnsureRoot(ctx, cached("tool"))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{filepath.Join(old, "usr", "bin"), old} {
		if err := os.Chmod(d, 0o555); err != nil {
			t.Fatal(err)
		}
	}
	longAgo := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := os.Chtimes(old, longAgo, longAgo); err != nil {
		t.Fatal(err)
	}
	// used: in use by a build.
	used, release, err := install.UseRoot(ctx, cached("other"))
	if err != nil {
		t.Fatal(err)
	}
	// recent: used after the cut-off, not in use.
	recent, err := install.EnsureRoot(ctx, cached("tool", "other"))
	if err != nil {
		t.Fatal(err)
	}
	// stale: left by a build that was killed; leftover: by a prune that was.
	stale := filepath.Join(cache, ".new-test-0123-456")
	leftover := filepath.Join(cache, ".del-test-789")
	for _, d := range []string{filepath.Join(stale, "usr", "lib"), filepath.Join(leftover, "etc")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(filepath.Dir(d), 0o555); err != nil {
			t.Fatal(err)
		}
	}
	// making: a root another process is making holds a lock on it.
	making := filepath.Join(cache, ".new-test-abcd-123")
	if err := os.Mkdir(making, 0o755); err != nil {
		t.Fatal(err)
	}
	lock, err := os.Open(making)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	notes := filepath.Join(cache, "notes.txt")
	if err := os.WriteFile(notes, []byte("kept"), 0o644); err != nil {
		t.Fatal(err)
	}

	got, err := install.PruneRoots(cache, install.PruneOptions{UsedBefore: longAgo.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	want := &install.Pruned{Partial: []string{leftover, stale}, Roots: []string{old}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("prune roots unused since 2000 (-want +got):\n%s", diff)
	}
	wantNames := []string{".lock", ".new-test-abcd-123", filepath.Base(recent), filepath.Base(used), "notes.txt"}
	slices.Sort(wantNames)
	if diff := cmp.Diff(wantNames, list(t, cache)); diff != "" {
		t.Errorf("cache after the first prune (-want +got):\n%s", diff)
	}

	// Without a cut-off every root goes, but those in use or being made.
	got, err = install.PruneRoots(cache, install.PruneOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(&install.Pruned{Roots: []string{recent}}, got); diff != "" {
		t.Errorf("prune all roots (-want +got):\n%s", diff)
	}
	release()
	lock.Close()
	got, err = install.PruneRoots(cache, install.PruneOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(&install.Pruned{Partial: []string{making}, Roots: []string{used}}, got); diff != "" {
		t.Errorf("prune once released (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{".lock", "notes.txt"}, list(t, cache)); diff != "" {
		t.Errorf("cache after pruning all (-want +got):\n%s", diff)
	}

	// A pruned root is made again, and a root found in the cache is
	// marked used.
	again, err := install.EnsureRoot(ctx, cached("tool"))
	if err != nil || again != old {
		t.Fatalf("EnsureRoot after pruning = %s, %v; want %s", again, err, old)
	}
	if _, err := os.Stat(filepath.Join(again, "usr", "bin", "tool")); err != nil {
		t.Error(err)
	}
	if err := os.Chtimes(again, longAgo, longAgo); err != nil {
		t.Fatal(err)
	}
	if _, err := install.EnsureRoot(ctx, cached("tool")); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(again); err != nil || !fi.ModTime().After(longAgo.Add(time.Hour)) {
		t.Errorf("a root found in the cache is not marked used: %v, %v", fi.ModTime(), err)
	}

	// A cache that does not exist has nothing to prune.
	if got, err := install.PruneRoots(filepath.Join(tmp, "none"), install.PruneOptions{}); err != nil || len(got.Partial)+len(got.Roots) != 0 {
		t.Errorf("prune a missing cache: %+v, %v", got, err)
	}
}

// list returns the names in dir, sorted.
func list(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	slices.Sort(out)
	return out
}

// TestPruneRootsWhileBuilding prunes a cache over and over while builds
// take roots from it: a root a build holds is never removed under it, and
// a root pruned away is made again.
func TestPruneRootsWhileBuilding(t *testing.T) {
	c := toolRoot(t)
	const builds, rounds = 3, 15
	var wg sync.WaitGroup
	errs := make(chan error, builds*rounds)
	stop, pruning := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(pruning)
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := install.PruneRoots(c.Cache, install.PruneOptions{}); err != nil {
				errs <- err
				return
			}
		}
	}()
	for range builds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range rounds {
				root, release, err := install.UseRoot(context.Background(), c)
				if err != nil {
					errs <- err
					return
				}
				for range 3 {
					if _, err := os.Stat(filepath.Join(root, "usr", "bin", "tool")); err != nil {
						errs <- fmt.Errorf("a held root lost its files: %w", err)
					}
					runtime.Gosched()
				}
				release()
			}
		}()
	}
	wg.Wait()
	close(stop)
	<-pruning
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestEnsureRootReadOnlyCache takes a root from a cache the process may
// not write: the lock that keeps pruning away is done without.
func TestEnsureRootReadOnlyCache(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root writes into read-only directories")
	}
	c := toolRoot(t)
	want, err := install.EnsureRoot(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(c.Cache, ".lock")); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(c.Cache, 0o555); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(c.Cache, 0o755) })
	if got, err := install.EnsureRoot(context.Background(), c); err != nil || got != want {
		t.Errorf("EnsureRoot from a read-only cache = %s, %v; want %s", got, err, want)
	}
}

// toolRoot returns a cached root, in a new cache, of one package "tool"
// from a repository of its own.
func toolRoot(t *testing.T) *install.CachedRoot {
	t.Helper()
	tmp := t.TempDir()
	repo := filepath.Join(tmp, "repo")
	buildRepo(t, repo, testKey(t),
		testPkg{name: "tool", version: "1.0-r0", files: []entry{{path: "usr/bin/tool", mode: 0o755, content: "tool"}}})
	r, err := install.OpenRepository(context.Background(), repo, arch, testKeyring(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	return &install.CachedRoot{Cache: filepath.Join(tmp, "roots"), Repositories: []*install.Repository{r},
		World: []string{"tool"}, Options: install.Options{Arch: arch, NoScripts: true}}
}
