package source

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// IsSetAside reports whether name has the form of a file [Fetch] moved
// aside after it failed verification: <saved name>.<8 hex digits>.
func IsSetAside(name string) bool {
	i := strings.LastIndexByte(name, '.')
	if i <= 0 || len(name)-i-1 != 8 {
		return false
	}
	return strings.Trim(name[i+1:], "0123456789abcdef") == ""
}

// CleanCache removes from the source cache dir what fetches leave behind:
// files moved aside after failing verification ([IsSetAside] names) and
// partial downloads (<name>.part) that no fetch is working on. When keep
// is not nil, it also removes every cached file whose name is not in
// keep (the saved names of the sources still in use), and keeps a
// set-aside-looking name that keep holds. Lock files, directories and
// the partial downloads of running fetches are left alone. It returns the
// paths removed, sorted, and how many bytes they held. A missing dir is
// an empty cache.
func CleanCache(ctx context.Context, dir string, keep map[string]bool) (removed []string, size int64, err error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("clean cache %s: %w", dir, err)
	}
	var errs []error
	remove := func(path string, fi os.FileInfo) {
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
			return
		}
		removed = append(removed, path)
		size += fi.Size()
	}
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return removed, size, err
		}
		name := e.Name()
		if !e.Type().IsRegular() || strings.HasSuffix(name, ".lock") || (keep != nil && keep[name]) {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			continue // removed meanwhile
		}
		path := filepath.Join(dir, name)
		if base, ok := strings.CutSuffix(name, ".part"); ok {
			// A fetch holds <name>.lock while it writes <name>.part.
			if keep != nil && keep[base] {
				continue // resumed by the next fetch
			}
			lock, err := tryLock(ctx, filepath.Join(dir, base)+".lock")
			if err != nil {
				continue // being downloaded
			}
			remove(path, fi)
			lock.unlock()
			continue
		}
		switch {
		case IsSetAside(name):
			remove(path, fi)
		case keep != nil:
			lock, err := tryLock(ctx, path+".lock")
			if err != nil {
				continue // being fetched
			}
			remove(path, fi)
			lock.unlock()
		}
	}
	sort.Strings(removed)
	return removed, size, errors.Join(errs...)
}

// tryLock takes the lock at path when no one holds it, without waiting.
func tryLock(ctx context.Context, path string) (*fileLock, error) {
	ctx, cancel := context.WithCancel(ctx)
	cancel()
	return lockFile(ctx, path)
}
