package repo

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"github.com/apkit-dev/apkit/pkg/apk"
	"github.com/apkit-dev/apkit/pkg/index"
	"github.com/apkit-dev/apkit/pkg/sign"
)

// Progress receives what indexing does, for display. Implementations must
// be safe for concurrent use; pkg/repo calls them from several goroutines.
type Progress interface {
	// Package reports one package file that went into an index: read and
	// verified when reused is false, its entry taken from the previous
	// index when reused is true.
	Package(file string, reused bool)
}

// noProgress is the default Progress.
type noProgress struct{}

func (noProgress) Package(string, bool) {}

// packageReader reads and verifies one package file and returns its index
// record, with S: set to the file's size.
type packageReader func(ctx context.Context, path string) (*index.Record, error)

// IndexOptions say how [IndexFiles] builds an index.
type IndexOptions struct {
	// Old is a previous index whose entries are reused for package files
	// whose name and size match an entry and that were modified before
	// OldModTime (apk index --index). nil means every file is read.
	Old *index.Index
	// OldModTime is the modification time of the previous index's file.
	OldModTime time.Time
	// RewriteArch, when set, replaces every record's A: (apk index
	// --rewrite-arch; abuild passes $CARCH so that noarch packages are
	// indexed under the repository's architecture).
	RewriteArch string
	// Keys are the trusted public keys: a package read must carry a
	// signature by one of them (apk index refuses untrusted packages).
	// nil trusts no key.
	Keys *sign.Keyring
	// AllowUntrusted accepts packages signed by no trusted key (or not
	// signed at all); their integrity is still checked.
	AllowUntrusted bool
	// VerifyData reads each package whole and checks its data segment
	// against datahash and every file against its checksum record.
	// Without it a package is read, as apk index reads it, only up to the
	// end of its control segment: signature, structure, .PKGINFO and the
	// presence of datahash are checked, and none of the data segment is
	// inflated (apk checks it against datahash when it installs the
	// package). Either way the packages are read several at once.
	VerifyData bool
	// Jobs is how many packages are read at once; 0 means GOMAXPROCS.
	Jobs int
	// Progress receives each package's outcome; nil means none.
	Progress Progress

	read packageReader // tests only; nil means a pkg/apk reader
}

// IndexResult is what [IndexFiles] built.
type IndexResult struct {
	// Records are the entries, in apk index's order ([index.Sort]).
	Records []*index.Record
	// Read counts the package files read; Reused those whose entry came
	// from the previous index.
	Read, Reused int
}

// IndexFiles returns the index records of the package files given, as apk
// index does: entries of opts.Old are reused for unchanged files (same file
// name P-V.apk, same size, modified before opts.OldModTime: a file as
// new as the index may have been replaced in the same clock tick), so that
// adding one package to a large repository reads one package; every other
// file is read and verified, several at once (see
// [IndexOptions].VerifyData for how much of it). Two files holding the same
// package name and version are an error.
func IndexFiles(ctx context.Context, files []string, opts IndexOptions) (*IndexResult, error) {
	read := opts.read
	if read == nil {
		read = verifyingReader(opts.Keys, opts.AllowUntrusted, opts.VerifyData)
	}
	progress := opts.Progress
	if progress == nil {
		progress = noProgress{}
	}
	old := map[string]*index.Record{}
	if opts.Old != nil {
		for _, r := range opts.Old.Records {
			old[r.FileName()] = r
		}
	}

	recs := make([]*index.Record, len(files))
	var toRead []int
	res := &IndexResult{}
	for i, f := range files {
		st, err := os.Stat(f)
		if err != nil {
			return nil, err
		}
		if !st.Mode().IsRegular() {
			return nil, fmt.Errorf("%s: not a regular file", f)
		}
		if r := old[filepath.Base(f)]; r != nil && r.Size == st.Size() && st.ModTime().Before(opts.OldModTime) {
			recs[i] = r.Clone()
			res.Reused++
			progress.Package(f, true)
			continue
		}
		toRead = append(toRead, i)
	}

	if err := forEach(ctx, len(toRead), opts.Jobs, func(ctx context.Context, j int) error {
		i := toRead[j]
		r, err := read(ctx, files[i])
		if err != nil {
			return fmt.Errorf("%s: %w", files[i], err)
		}
		recs[i] = r
		progress.Package(files[i], false)
		return nil
	}); err != nil {
		return nil, err
	}
	res.Read = len(toRead)

	seen := make(map[string]string, len(recs))
	for i, r := range recs {
		if opts.RewriteArch != "" {
			r.Arch = opts.RewriteArch
		}
		key := r.Name + "-" + r.Version
		if prev, ok := seen[key]; ok {
			return nil, fmt.Errorf("%w: %s and %s both hold %s", ErrConflict, prev, files[i], key)
		}
		seen[key] = files[i]
	}
	index.Sort(recs)
	res.Records = recs
	return res, nil
}

// forEach runs fn(ctx, 0..n-1) on up to jobs goroutines and returns the
// first error; after an error, or when ctx is done, no new call starts.
func forEach(ctx context.Context, n, jobs int, fn func(ctx context.Context, i int) error) error {
	if n == 0 {
		return ctx.Err()
	}
	if jobs <= 0 {
		jobs = runtime.GOMAXPROCS(0)
	}
	jobs = min(jobs, n)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu       sync.Mutex
		next     int
		firstErr error
		wg       sync.WaitGroup
	)
	for range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				if firstErr != nil || next >= n {
					mu.Unlock()
					return
				}
				i := next
				next++
				mu.Unlock()
				err := ctx.Err()
				if err == nil {
					err = fn(ctx, i)
				}
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					cancel()
					return
				}
			}
		}()
	}
	wg.Wait()
	return firstErr
}

// verifyingReader returns a packageReader that reads each package with
// pkg/apk and checks it: structure, signature (against kr, unless
// allowUntrusted) and, when data is set, the data segment against datahash
// and every file against its checksum; without data it stops at the end of
// the control segment, as apk index does. Packages without datahash (made
// by abuild before 2.15 or by hand) are refused: apk 3 refuses to index
// them.
func verifyingReader(kr *sign.Keyring, allowUntrusted, data bool) packageReader {
	return func(ctx context.Context, path string) (*index.Record, error) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		st, err := f.Stat()
		if err != nil {
			return nil, err
		}
		// apk.Verify reads through a buffer of its own. An index record
		// needs no file list.
		res := apk.Verify(f, kr, &apk.VerifyOptions{
			AllowUntrusted: allowUntrusted,
			ControlOnly:    !data,
			Read:           apk.ReadOptions{NoFileList: true},
		})
		if res.Err != nil {
			return nil, res.Err
		}
		p := res.Package
		if p.Info.DataHash == "" {
			return nil, ErrNoDataHash
		}
		switch {
		case data && p.Size != st.Size():
			return nil, fmt.Errorf("%w: package ends at byte %d of %d", apk.ErrMalformed, p.Size, st.Size())
		case !data && p.Size >= st.Size():
			return nil, fmt.Errorf("%w: no data segment", apk.ErrMalformed)
		}
		return index.FromPackage(p, st.Size()), nil
	}
}

// ErrNoDataHash is returned for a package whose .PKGINFO has no datahash;
// it is [apk.ErrNoDataHash].
var ErrNoDataHash = apk.ErrNoDataHash
