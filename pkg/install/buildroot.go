package install

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/apkit-dev/apkit/pkg/resolve"
)

// BuildBase are the packages abuild's rootbld installs in every build
// root besides a recipe's build dependencies: the base system, the
// toolchain and abuild itself.
var BuildBase = []string{"abuild", "alpine-base", "build-base"}

// CachedRoot says what [EnsureRoot] makes.
type CachedRoot struct {
	// Cache is the directory that holds the roots, one subdirectory each.
	Cache string
	// Name prefixes the subdirectory's name, for people reading the
	// cache ("v3.22-x86_64"); it is no part of the key.
	Name string
	// Repositories are the opened repositories to install from, in apk's
	// order.
	Repositories []*Repository
	// World are the items the root is made for.
	World []string
	// Options install the root (Arch is required). Options.Repositories
	// and Options.Keys are written into the root as usual.
	Options Options
	// Solver, when set, is the [Solver] the Repositories were opened with
	// (made for no root, with no tags): the root's packages are solved
	// with it, whose database was made while the indexes were read.
	Solver *Solver
}

// EnsureRoot returns a root in c.Cache with c.World installed from
// c.Repositories: the one made before for the same packages (the key is
// the architecture, the world and the identity of every package the
// solver chooses, so a newer package in a repository makes a new root), or
// a new one, installed in a temporary directory of c.Cache and renamed
// into place once complete. Several processes may call EnsureRoot on one
// cache at once: a root is never seen half made, and the loser of a race
// uses the winner's. Callers must not change a root EnsureRoot returns; a
// sandbox that mounts it read-only, as [sandbox.Bwrap] does, makes each
// build's view of it cost nothing.
//
// An unmet world returns the solver's error (wrapping
// resolve.ErrUnsatisfiable). EnsureRoot does not keep [PruneRoots] from
// removing the root once it returns: a caller that goes on to use the
// root calls [UseRoot] instead.
func EnsureRoot(ctx context.Context, c *CachedRoot) (string, error) {
	root, release, err := UseRoot(ctx, c)
	if err != nil {
		return "", err
	}
	release()
	return root, nil
}

// UseRoot is [EnsureRoot] for a caller about to use the root: it records
// the time of use (as the root directory's modification time, which
// [PruneOptions.UsedBefore] looks at) and returns the root with a shared
// lock on it, so that [PruneRoots] leaves it alone until release is
// called. The lock is a flock(2) on the root's directory: it goes with
// the process too.
func UseRoot(ctx context.Context, c *CachedRoot) (root string, release func(), err error) {
	if c.Options.Arch == "" {
		return "", nil, errors.New("build root: no arch given")
	}
	var plan *resolve.Plan
	if c.Solver != nil {
		plan, err = c.Solver.Solve(Request{Add: c.World})
	} else {
		plan, err = solve(&Database{}, c.Repositories, c.Options.Arch, Request{Add: c.World})
	}
	if err != nil {
		return "", nil, fmt.Errorf("build root: %w", err)
	}
	h := sha256.New()
	fmt.Fprintf(h, "arch %s\n", c.Options.Arch)
	for _, w := range plan.World {
		fmt.Fprintf(h, "world %s\n", w)
	}
	var ids []string
	for _, ch := range plan.Changes {
		if ch.New != nil {
			ids = append(ids, ch.New.Name+"-"+ch.New.Version+" "+ch.New.Checksum)
		}
	}
	slices.Sort(ids)
	for _, id := range ids {
		fmt.Fprintf(h, "package %s\n", id)
	}
	name := hex.EncodeToString(h.Sum(nil))[:24]
	if c.Name != "" {
		name = c.Name + "-" + name
	}
	final := filepath.Join(c.Cache, name)
	if err := os.MkdirAll(c.Cache, 0o755); err != nil {
		return "", nil, fmt.Errorf("build root: %w", err)
	}
	unlock, err := lockCache(c.Cache, syscall.LOCK_SH)
	if err != nil {
		return "", nil, fmt.Errorf("build root: %w", err)
	}
	if release, ok := holdRoot(final); ok {
		unlock()
		return final, release, nil
	}
	// A root in the making holds an exclusive lock on its temporary
	// directory, taken before the cache's lock is let go: PruneRoots,
	// which takes the cache's lock exclusively, never sees it unlocked.
	tmp, err := os.MkdirTemp(c.Cache, partialPrefix+name+"-")
	if err != nil {
		unlock()
		return "", nil, fmt.Errorf("build root: %w", err)
	}
	dir, err := lockDir(tmp, syscall.LOCK_EX|syscall.LOCK_NB)
	unlock()
	if err != nil {
		removeTree(tmp)
		return "", nil, fmt.Errorf("build root: %w", err)
	}
	fail := func(err error) (string, func(), error) {
		removeTree(tmp)
		dir.Close()
		return "", nil, fmt.Errorf("build root: %w", err)
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return fail(err)
	}
	opts := c.Options
	if _, err := Commit(ctx, tmp, plan, c.Repositories, &opts); err != nil {
		return fail(err)
	}
	// The lock file is apk's, not the root's content; the mount points a
	// sandbox needs in a root it mounts read-only are.
	os.Remove(filepath.Join(tmp, LockFile))
	for _, d := range []string{"dev", "proc", "tmp"} {
		if err := os.MkdirAll(filepath.Join(tmp, d), 0o755); err != nil {
			return fail(err)
		}
	}
	if err := syncDir(tmp); err != nil {
		return fail(err)
	}
	if unlock, err = lockCache(c.Cache, syscall.LOCK_SH); err != nil {
		return fail(err)
	}
	defer unlock()
	if err := os.Rename(tmp, final); err != nil {
		if release, ok := holdRoot(final); ok {
			removeTree(tmp)
			dir.Close()
			return final, release, nil // made by another process meanwhile
		}
		return fail(err)
	}
	// No pruning runs while the cache's lock is held: the lock on the
	// root can change from exclusive to shared without a gap that counts.
	if err := flock(dir, syscall.LOCK_SH); err != nil {
		dir.Close()
		return "", nil, fmt.Errorf("build root: %w", err)
	}
	if err := syncDir(c.Cache); err != nil {
		dir.Close()
		return "", nil, fmt.Errorf("build root: %w", err)
	}
	return final, func() { dir.Close() }, nil
}

// partialPrefix starts the name of a root in the making, and
// prunedPrefix that of a root PruneRoots is removing.
const (
	partialPrefix = ".new-"
	prunedPrefix  = ".del-"
)

// rootsLock is the lock file of a cache of roots: held shared while a
// root is looked up or made ready, exclusively while PruneRoots chooses
// what to remove.
const rootsLock = ".lock"

// lockCache takes the lock of the cache of roots in dir, waiting for it.
// A shared lock on a cache this process may not write, which has no lock
// file yet, is done without: a cache made read-only serves its roots as
// before.
func lockCache(dir string, how int) (unlock func(), err error) {
	f, err := os.OpenFile(filepath.Join(dir, rootsLock), os.O_RDONLY|os.O_CREATE, 0o644)
	if err != nil {
		if how&syscall.LOCK_SH != 0 && (errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.EROFS)) {
			return func() {}, nil
		}
		return nil, err
	}
	if err := flock(f, how); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", f.Name(), err)
	}
	return func() { f.Close() }, nil
}

// lockDir opens dir and takes a flock(2) on it.
func lockDir(dir string, how int) (*os.File, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	if err := flock(f, how); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	return f, nil
}

// flock calls flock(2) on f, again when interrupted.
func flock(f *os.File, how int) error {
	for {
		err := syscall.Flock(int(f.Fd()), how)
		if err != syscall.EINTR {
			return err
		}
	}
}

// holdRoot takes a shared lock on the complete root at dir and marks it
// used now; ok is false when there is no such root.
func holdRoot(dir string) (release func(), ok bool) {
	if fi, err := os.Stat(filepath.Join(dir, InstalledFile)); err != nil || !fi.Mode().IsRegular() {
		return nil, false
	}
	f, err := lockDir(dir, syscall.LOCK_SH)
	if err != nil {
		return nil, false
	}
	// The time of use is a hint for pruning: a cache another user owns
	// cannot take it, and is used all the same.
	now := time.Now()
	os.Chtimes(dir, now, now)
	return func() { f.Close() }, true
}

// PruneOptions say which complete roots [PruneRoots] removes.
// The zero value removes all of them.
type PruneOptions struct {
	// UsedBefore, when not zero, keeps the roots used at or after it
	// (made, or returned by [EnsureRoot] or [UseRoot]).
	UsedBefore time.Time
}

// Pruned is what [PruneRoots] removed, as paths.
type Pruned struct {
	// Partial are the roots whose making was interrupted (the process
	// making them is gone), and those an interrupted PruneRoots left.
	Partial []string
	// Roots are the complete roots removed.
	Roots []string
}

// PruneRoots removes from the cache of roots at cache (the Cache of
// [CachedRoot]) the roots left half made by an interrupted process, and
// the complete roots opts selects, except those a process is making or
// using (holding [UseRoot]'s lock). Read-only directories in a root are
// made writable to remove them. Other files in cache are left alone. A
// cache that does not exist has nothing to prune. Several processes may
// prune one cache and use it at once.
//
// The roots are taken out of use under the cache's lock, then removed
// after it is let go, so that builds wait only for the choice. The
// returned error joins those of the roots that could not be removed;
// the others are removed all the same.
func PruneRoots(cache string, opts PruneOptions) (*Pruned, error) {
	out := &Pruned{}
	if _, err := os.Stat(cache); errors.Is(err, fs.ErrNotExist) {
		return out, nil
	}
	unlock, err := lockCache(cache, syscall.LOCK_EX)
	if err != nil {
		return out, fmt.Errorf("prune roots: %w", err)
	}
	entries, err := os.ReadDir(cache)
	if err != nil {
		unlock()
		return out, fmt.Errorf("prune roots: %w", err)
	}
	type doomed struct{ from, dir string }
	var remove []doomed
	var errs []error
	take := func(name string) (string, bool) {
		from := filepath.Join(cache, name)
		f, err := lockDir(from, syscall.LOCK_EX|syscall.LOCK_NB)
		if err != nil {
			return "", false // in use, or being made
		}
		defer f.Close()
		// The root moves into a directory of a name nobody else has.
		dir, err := os.MkdirTemp(cache, prunedPrefix+strings.TrimPrefix(name, partialPrefix)+"-")
		if err != nil {
			errs = append(errs, fmt.Errorf("prune roots: %w", err))
			return "", false
		}
		err = os.Rename(from, filepath.Join(dir, "root"))
		if errors.Is(err, fs.ErrPermission) {
			// Moving a directory to another parent rewrites its "..": a
			// read-only root is made writable for it.
			if os.Chmod(from, 0o755) == nil {
				err = os.Rename(from, filepath.Join(dir, "root"))
			}
		}
		if err != nil {
			os.Remove(dir)
			errs = append(errs, fmt.Errorf("prune roots: %w", err))
			return "", false
		}
		return dir, true
	}
	for _, e := range entries {
		name := e.Name()
		if !e.IsDir() {
			continue
		}
		switch {
		case strings.HasPrefix(name, prunedPrefix):
			remove = append(remove, doomed{filepath.Join(cache, name), filepath.Join(cache, name)})
			out.Partial = append(out.Partial, filepath.Join(cache, name))
		case strings.HasPrefix(name, partialPrefix):
			if dir, ok := take(name); ok {
				remove = append(remove, doomed{filepath.Join(cache, name), dir})
				out.Partial = append(out.Partial, filepath.Join(cache, name))
			}
		case strings.HasPrefix(name, "."):
		default:
			if !opts.UsedBefore.IsZero() {
				fi, err := e.Info()
				if err != nil || !fi.ModTime().Before(opts.UsedBefore) {
					continue
				}
			}
			if dir, ok := take(name); ok {
				remove = append(remove, doomed{filepath.Join(cache, name), dir})
				out.Roots = append(out.Roots, filepath.Join(cache, name))
			}
		}
	}
	unlock()
	for _, d := range remove {
		if err := removeTree(d.dir); err != nil {
			errs = append(errs, fmt.Errorf("prune roots: remove %s: %w", d.from, err))
		}
	}
	return out, errors.Join(errs...)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// removeTree removes dir, making read-only directories in it writable
// first.
func removeTree(dir string) error {
	if os.RemoveAll(dir) == nil {
		return nil
	}
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if d != nil && d.IsDir() {
			os.Chmod(p, 0o755)
		}
		return nil
	})
	return os.RemoveAll(dir)
}

// MirrorRepositories returns the repositories of an Alpine mirror for a
// release ("edge", "v3.22") as abuild's rootbld lists them for a recipe of
// repository repo: main and community (and testing on edge for a testing
// recipe), each followed by the local repository of the same name under
// repodest when it has an index for arch, and repodest/repo first.
func MirrorRepositories(mirror, version, repo, repodest, arch string) []string {
	mirror = strings.TrimSuffix(mirror, "/")
	names := []string{"main", "community"}
	if version == "edge" && repo == "testing" {
		names = append(names, "testing")
	}
	var out []string
	local := func(name string) {
		if repodest == "" {
			return
		}
		d := filepath.Join(repodest, name)
		if fi, err := os.Stat(filepath.Join(d, arch, indexName)); err == nil && fi.Mode().IsRegular() && !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	local(repo)
	for _, n := range names {
		u := mirror + "/" + version + "/" + n
		if !IsRemote(mirror) {
			u = filepath.Join(mirror, version, n)
		}
		out = append(out, u)
		local(n)
	}
	return out
}
