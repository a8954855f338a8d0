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
// resolve.ErrUnsatisfiable).
func EnsureRoot(ctx context.Context, c *CachedRoot) (string, error) {
	if c.Options.Arch == "" {
		return "", errors.New("build root: no arch given")
	}
	plan, err := solve(&Database{}, c.Repositories, c.Options.Arch, Request{Add: c.World})
	if err != nil {
		return "", fmt.Errorf("build root: %w", err)
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
	if fi, err := os.Stat(filepath.Join(final, InstalledFile)); err == nil && fi.Mode().IsRegular() {
		return final, nil
	}
	if err := os.MkdirAll(c.Cache, 0o755); err != nil {
		return "", fmt.Errorf("build root: %w", err)
	}
	tmp, err := os.MkdirTemp(c.Cache, ".new-"+name+"-")
	if err != nil {
		return "", fmt.Errorf("build root: %w", err)
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return "", fmt.Errorf("build root: %w", err)
	}
	opts := c.Options
	if _, err := Commit(ctx, tmp, plan, c.Repositories, &opts); err != nil {
		removeTree(tmp)
		return "", fmt.Errorf("build root: %w", err)
	}
	// The lock file is apk's, not the root's content; the mount points a
	// sandbox needs in a root it mounts read-only are.
	os.Remove(filepath.Join(tmp, LockFile))
	for _, d := range []string{"dev", "proc", "tmp"} {
		if err := os.MkdirAll(filepath.Join(tmp, d), 0o755); err != nil {
			removeTree(tmp)
			return "", fmt.Errorf("build root: %w", err)
		}
	}
	if err := syncDir(tmp); err != nil {
		removeTree(tmp)
		return "", fmt.Errorf("build root: %w", err)
	}
	if err := os.Rename(tmp, final); err != nil {
		removeTree(tmp)
		if _, serr := os.Stat(filepath.Join(final, InstalledFile)); serr == nil {
			return final, nil // made by another process meanwhile
		}
		return "", fmt.Errorf("build root: %w", err)
	}
	if err := syncDir(c.Cache); err != nil {
		return "", fmt.Errorf("build root: %w", err)
	}
	return final, nil
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
func removeTree(dir string) {
	if os.RemoveAll(dir) == nil {
		return
	}
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			os.Chmod(p, 0o755)
		}
		return nil
	})
	os.RemoveAll(dir)
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
