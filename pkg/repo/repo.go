package repo

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/apkit-dev/apkit/pkg/index"
	"github.com/apkit-dev/apkit/pkg/sign"
)

// IndexName is the file name of a repository's index.
const IndexName = "APKINDEX.tar.gz"

// lockName is the lock file every change to a repository directory holds.
const lockName = ".apkit.lock"

// staleTemp is how old a leftover temporary file must be before Reindex
// removes it (an Add copies packages in before it takes the lock).
const staleTemp = time.Hour

// Errors returned by [Repo] methods; test for them with errors.Is.
var (
	// ErrConflict means a package file of the same name (P-V.apk) but
	// different content is already in the repository, or one Add was
	// given two different files for the same package.
	ErrConflict = errors.New("a different package of that name and version is already in the repository")
	// ErrNotFound means Remove was given a name no package has.
	ErrNotFound = errors.New("no such package in the repository")
	// ErrArch means a package is for another architecture than the
	// repository's (noarch packages go everywhere).
	ErrArch = errors.New("package is for another architecture")
	// ErrBadName means a package's name or version cannot make a safe file
	// name, or a package file is not named P-V.apk after its content.
	ErrBadName = errors.New("bad package file name")
)

// Options configure a [Repo]. With the zero value the index is unsigned,
// the architecture is the directory's name and no key is trusted, so every
// package is refused as untrusted: set Key (its packages are trusted), Keys,
// or AllowUntrusted.
type Options struct {
	// Arch is the repository's architecture: packages of another one are
	// refused and noarch packages are indexed under it, as abuild does
	// (apk index --rewrite-arch). "" means the directory's base name.
	Arch string
	// Description is written to the index's DESCRIPTION; "" keeps the
	// description of the current index.
	Description string
	// Key signs the index. nil leaves it unsigned, which apk accepts only
	// with --allow-untrusted.
	Key *sign.PrivateKey
	// Algorithm is the signature algorithm; "" means [sign.RSA256].
	Algorithm sign.Algorithm
	// Keys are the public keys whose signatures make a package trusted.
	// The public half of Key is always trusted as well.
	Keys *sign.Keyring
	// AllowUntrusted accepts packages that no trusted key signed; their
	// integrity (structure, datahash, file checksums) is still checked.
	// Every package Add or Reindex reads is checked whole, data segment
	// included: they are how packages, uploaded ones too, enter the
	// repository.
	AllowUntrusted bool
	// Now gives the time written into the index's tar headers (set it to
	// SOURCE_DATE_EPOCH for reproducible output); nil means time.Now.
	Now func() time.Time
	// Jobs is how many packages are read at once; 0 means GOMAXPROCS.
	Jobs int
	// Progress receives which packages were read or reused; nil means none.
	Progress Progress
	// Link makes Add hard-link the package files it is given into the
	// directory instead of copying them, when they are on the same file
	// system, so that adding a file does not need its size free a second
	// time. The caller must not change the files afterwards (a server's
	// staged uploads); files on another file system are copied.
	Link bool
}

// Repo is one repository directory, <repo>/<arch>/, holding package files
// named P-V.apk and their index APKINDEX.tar.gz. Every change takes an
// exclusive lock on the directory (flock, so other processes wait too),
// writes files to temporary names, syncs them and renames them into place:
// a reader always finds a complete index, and a crash leaves the previous
// one. A Repo is safe for concurrent use, and any number of Repo values and
// processes may work on one directory at once.
type Repo struct {
	dir, arch string
	opts      Options
	sem       chan struct{} // one change at a time within this Repo
	read      packageReader

	mu    sync.Mutex // guards cache
	cache cachedIndex
}

// cachedIndex is the index last read or written, with the file it was in.
type cachedIndex struct {
	fi os.FileInfo
	ix *index.Index
}

// Open returns the repository in dir, creating the directory if needed.
func Open(dir string, opts Options) (*Repo, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	arch := opts.Arch
	if arch == "" {
		arch = filepath.Base(abs)
	}
	if !validArch(arch) {
		return nil, fmt.Errorf("open repository %s: bad architecture %q", dir, arch)
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return nil, fmt.Errorf("open repository: %w", err)
	}
	kr := opts.Keys
	if opts.Key != nil {
		kr = withKey(opts.Keys, opts.Key)
	}
	return &Repo{dir: abs, arch: arch, opts: opts, sem: make(chan struct{}, 1), read: verifyingReader(kr, opts.AllowUntrusted, true)}, nil
}

// withKey returns a keyring trusting the keys of kr and key's public half.
func withKey(kr *sign.Keyring, key *sign.PrivateKey) *sign.Keyring {
	out := &sign.Keyring{}
	if kr != nil {
		for _, n := range kr.Names() {
			out.Add(n, kr.Key(n))
		}
	}
	if out.Key(key.Name) == nil {
		out.Add(key.Name, &key.Key.PublicKey)
	}
	return out
}

// Dir returns the repository's directory (absolute).
func (r *Repo) Dir() string { return r.dir }

// Arch returns the repository's architecture.
func (r *Repo) Arch() string { return r.arch }

// IndexPath returns the path of the repository's APKINDEX.tar.gz.
func (r *Repo) IndexPath() string { return filepath.Join(r.dir, IndexName) }

// Index returns the repository's current index, or an empty one when the
// repository has no index yet. It takes no lock: the index file is always
// complete. The result is the caller's to modify.
func (r *Repo) Index() (*index.Index, error) {
	ix, _, err := r.current()
	if err != nil {
		return nil, err
	}
	if ix == nil {
		return &index.Index{}, nil
	}
	c := *ix
	c.Records = make([]*index.Record, len(ix.Records))
	for i, rec := range ix.Records {
		c.Records[i] = rec.Clone()
	}
	c.Signatures = slices.Clone(ix.Signatures)
	return &c, nil
}

// Added describes one package given to [Repo.Add].
type Added struct {
	// Record is the package's index entry.
	Record *index.Record
	// File is the package's path in the repository.
	File string
	// Unchanged is true when the identical file was already there and
	// indexed, so the Add changed nothing for it.
	Unchanged bool
}

// staged is a package copied into the repository directory under a
// temporary name, read and checked, waiting to be renamed into place.
type staged struct {
	src, tmp string
	rec      *index.Record
	dup      int // index of an earlier staged copy of the same package, or -1
}

// Add puts the package files at paths into the repository and updates its
// index, all or nothing: each file is copied in, read and verified before
// anything changes; then, under the lock, the packages are renamed to
// P-V.apk and the new index is written, signed and renamed into place. If
// any step fails the repository is left as it was.
//
// Only the new packages are read: the entries of the current index are
// kept as they are. A package whose file is already in the repository with
// the same bytes changes nothing ([Added.Unchanged]); one with different
// bytes fails the whole Add with [ErrConflict]. A package for another
// architecture fails with [ErrArch]. The results are in the order of paths.
func (r *Repo) Add(ctx context.Context, paths ...string) (_ []Added, err error) {
	if len(paths) == 0 {
		return nil, nil
	}
	st := make([]staged, len(paths))
	defer func() {
		for _, s := range st {
			if s.tmp != "" {
				os.Remove(s.tmp)
			}
		}
	}()
	// Read the current index (into the cache, where the locked part finds
	// it if nobody changed it meanwhile) while the packages are staged.
	prefetched := make(chan struct{})
	go func() {
		defer close(prefetched)
		r.current()
	}()
	err = forEach(ctx, len(paths), r.opts.Jobs, func(ctx context.Context, i int) error {
		tmp, size, err := r.stageFile(paths[i])
		if err != nil {
			return fmt.Errorf("add %s: %w", paths[i], err)
		}
		st[i] = staged{src: paths[i], tmp: tmp, dup: -1}
		rec, err := r.read(ctx, tmp)
		if err != nil {
			return fmt.Errorf("add %s: %w", paths[i], err)
		}
		rec.Size = size
		if err := r.checkRecord(rec, ""); err != nil {
			return fmt.Errorf("add %s: %w", paths[i], err)
		}
		rec.Arch = r.arch
		st[i].rec = rec
		return nil
	})
	if err != nil {
		return nil, err
	}
	first := map[string]int{}
	for i := range st {
		name := st[i].rec.FileName()
		j, ok := first[name]
		if !ok {
			first[name] = i
			continue
		}
		if st[j].rec.Checksum != st[i].rec.Checksum || st[j].rec.Size != st[i].rec.Size {
			return nil, fmt.Errorf("add: %w: %s and %s both hold %s", ErrConflict, st[j].src, st[i].src, name)
		}
		st[i].dup = j
	}

	<-prefetched
	unlock, err := r.lock(ctx)
	if err != nil {
		return nil, fmt.Errorf("add: %w", err)
	}
	defer unlock()

	cur, err := r.load(ctx)
	if err != nil {
		return nil, fmt.Errorf("add: %w", err)
	}
	byName := make(map[string]int, len(cur.Records))
	for i, rec := range cur.Records {
		byName[rec.FileName()] = i
	}

	out := make([]Added, len(st))
	replaced := map[int]bool{} // entries of cur to drop
	var (
		place   []int // staged files to rename into place
		newRecs []*index.Record
	)
	for i := range st {
		s := &st[i]
		if s.dup >= 0 {
			out[i] = out[s.dup]
			continue
		}
		final := filepath.Join(r.dir, s.rec.FileName())
		out[i] = Added{Record: s.rec, File: final}
		onDisk := false
		if _, err := os.Lstat(final); err == nil {
			same, err := sameContent(s.tmp, final)
			if err != nil {
				return nil, fmt.Errorf("add %s: %w", s.src, err)
			}
			if !same {
				return nil, fmt.Errorf("add %s: %w: %s", s.src, ErrConflict, final)
			}
			onDisk = true
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("add %s: %w", s.src, err)
		}
		if j, ok := byName[s.rec.FileName()]; ok {
			if old := cur.Records[j]; onDisk && old.Checksum == s.rec.Checksum && old.Size == s.rec.Size {
				out[i] = Added{Record: old.Clone(), File: final, Unchanged: true}
				continue
			}
			replaced[j] = true
		}
		if !onDisk {
			place = append(place, i)
		}
		newRecs = append(newRecs, s.rec)
	}
	if len(newRecs) == 0 {
		return out, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("add: %w", err)
	}

	var placed []string
	defer func() {
		if err != nil {
			for _, p := range placed {
				os.Remove(p)
			}
		}
	}()
	for _, i := range place {
		final := out[i].File
		if err := placeFile(st[i].tmp, final); err != nil {
			return nil, fmt.Errorf("add %s: %w", st[i].src, err)
		}
		st[i].tmp = ""
		placed = append(placed, final)
	}
	// The new files must be on disk before the index that lists them: sync
	// the directory while the index is encoded and signed.
	synced := make(chan error, 1)
	go func() { synced <- syncDir(r.dir) }()

	recs := make([]*index.Record, 0, len(cur.Records)+len(newRecs))
	for j, rec := range cur.Records {
		if !replaced[j] {
			recs = append(recs, rec)
		}
	}
	recs = append(recs, newRecs...)
	index.Sort(recs)
	if err := r.writeIndex(recs, cur.Description, synced); err != nil {
		return nil, fmt.Errorf("add: %w", err)
	}
	for i := range out {
		out[i].Record = out[i].Record.Clone()
	}
	return out, nil
}

// placeFile moves the temporary file tmp to final, refusing to replace a
// file that is already there.
func placeFile(tmp, final string) error {
	err := os.Link(tmp, final)
	if err == nil {
		return os.Remove(tmp)
	}
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%w: %s", ErrConflict, final)
	}
	// Filesystems without hard links: under the lock nobody else creates
	// package files, so a checked rename is as good.
	if _, serr := os.Lstat(final); serr == nil {
		return fmt.Errorf("%w: %s", ErrConflict, final)
	}
	return os.Rename(tmp, final)
}

// Remove takes packages out of the repository: each name is a package name
// (every version of it goes), "name-version", or a file name "name-version.apk".
// The new index is written first and the files are deleted after, so the
// index never lists a missing file. A name that matches nothing fails the
// whole Remove with [ErrNotFound]. It returns the removed entries.
func (r *Repo) Remove(ctx context.Context, names ...string) ([]*index.Record, error) {
	if len(names) == 0 {
		return nil, nil
	}
	unlock, err := r.lock(ctx)
	if err != nil {
		return nil, fmt.Errorf("remove: %w", err)
	}
	defer unlock()
	cur, err := r.load(ctx)
	if err != nil {
		return nil, fmt.Errorf("remove: %w", err)
	}
	drop := make([]bool, len(cur.Records))
	for _, name := range names {
		found := false
		for i, rec := range cur.Records {
			if name == rec.Name || name == rec.Name+"-"+rec.Version || name == rec.FileName() {
				drop[i] = true
				found = true
			}
		}
		if !found {
			return nil, fmt.Errorf("remove %s: %w", name, ErrNotFound)
		}
	}
	var keep, removed []*index.Record
	for i, rec := range cur.Records {
		if drop[i] {
			removed = append(removed, rec.Clone())
		} else {
			keep = append(keep, rec)
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("remove: %w", err)
	}
	if err := r.writeIndex(keep, cur.Description, nil); err != nil {
		return nil, fmt.Errorf("remove: %w", err)
	}
	for _, rec := range removed {
		if !validName(rec.Name) || !validVersion(rec.Version) {
			// An index written elsewhere may name anything: never follow
			// such a name out of the directory.
			continue
		}
		if err := os.Remove(filepath.Join(r.dir, rec.FileName())); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return removed, fmt.Errorf("remove: %w", err)
		}
	}
	return removed, syncDir(r.dir)
}

// Reindex rebuilds the index from the package files in the directory. The
// entries of the current index are reused for files that have not changed
// since it was written (same name and size, older than the index); the
// other files are read and verified. A file not named P-V.apk after its content fails with
// [ErrBadName], one for another architecture with [ErrArch]. Temporary
// files left by interrupted changes are removed.
func (r *Repo) Reindex(ctx context.Context) (*IndexResult, error) {
	unlock, err := r.lock(ctx)
	if err != nil {
		return nil, fmt.Errorf("reindex: %w", err)
	}
	defer unlock()
	r.removeStaleTemps()
	old, fi, err := r.current()
	if err != nil {
		// An unreadable index is what Reindex repairs.
		old, fi = nil, nil
	}
	res, err := r.scan(ctx, old, fi)
	if err != nil {
		return nil, fmt.Errorf("reindex: %w", err)
	}
	desc := ""
	if old != nil {
		desc = old.Description
	}
	if err := r.writeIndex(res.Records, desc, nil); err != nil {
		return nil, fmt.Errorf("reindex: %w", err)
	}
	return res, nil
}

// scan indexes the package files in the directory, reusing entries of old
// (read from the file fi) where they still hold.
func (r *Repo) scan(ctx context.Context, old *index.Index, fi os.FileInfo) (*IndexResult, error) {
	files, err := r.packageFiles()
	if err != nil {
		return nil, err
	}
	opts := IndexOptions{
		Old:         old,
		RewriteArch: r.arch,
		Jobs:        r.opts.Jobs,
		Progress:    r.opts.Progress,
		read: func(ctx context.Context, path string) (*index.Record, error) {
			rec, err := r.read(ctx, path)
			if err != nil {
				return nil, err
			}
			if err := r.checkRecord(rec, filepath.Base(path)); err != nil {
				return nil, err
			}
			return rec, nil
		},
	}
	if fi != nil {
		opts.OldModTime = fi.ModTime()
	}
	return IndexFiles(ctx, files, opts)
}

// packageFiles lists the package files of the directory: regular files
// named *.apk that are not dot-files.
func (r *Repo) packageFiles() ([]string, error) {
	ents, err := os.ReadDir(r.dir)
	if err != nil {
		return nil, err
	}
	var files []string
	for _, e := range ents {
		n := e.Name()
		if strings.HasPrefix(n, ".") || !strings.HasSuffix(n, ".apk") || !e.Type().IsRegular() {
			continue
		}
		files = append(files, filepath.Join(r.dir, n))
	}
	return files, nil
}

// removeStaleTemps deletes temporary files older than staleTemp.
func (r *Repo) removeStaleTemps() {
	ents, err := os.ReadDir(r.dir)
	if err != nil {
		return
	}
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), tempPrefix) {
			continue
		}
		if info, err := e.Info(); err == nil && time.Since(info.ModTime()) > staleTemp {
			os.Remove(filepath.Join(r.dir, e.Name()))
		}
	}
}

// checkRecord checks that a package read from a file can live in this
// repository: a name and version that make a safe file name (equal to file
// when that is not ""), and the repository's architecture or noarch.
func (r *Repo) checkRecord(rec *index.Record, file string) error {
	if !validName(rec.Name) || !validVersion(rec.Version) {
		return fmt.Errorf("%w: package %q version %q", ErrBadName, rec.Name, rec.Version)
	}
	if file != "" && file != rec.FileName() {
		return fmt.Errorf("%w: %s holds %s", ErrBadName, file, rec.FileName())
	}
	if rec.Arch != r.arch && rec.Arch != "noarch" {
		return fmt.Errorf("%w: %s is for %s, the repository for %s", ErrArch, rec.FileName(), rec.Arch, r.arch)
	}
	if rec.Checksum == "" {
		return fmt.Errorf("%s: no identity", rec.FileName())
	}
	return nil
}

// lock takes the repository's lock: first within this Repo, then the
// flock shared with every other process.
func (r *Repo) lock(ctx context.Context) (unlock func(), err error) {
	select {
	case r.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	release, err := LockDir(ctx, r.dir)
	if err != nil {
		<-r.sem
		return nil, err
	}
	return func() {
		release()
		<-r.sem
	}, nil
}

// LockDir takes the exclusive lock that every change to the repository
// directory dir holds (a flock on dir/.apkit.lock), waiting for other
// holders until ctx is done. Tools that write into a repository directory
// without a [Repo], such as apkit index DIR, take it so as not to race
// with Add. Call unlock to release it.
func LockDir(ctx context.Context, dir string) (unlock func() error, err error) {
	l, err := lockFile(ctx, filepath.Join(dir, lockName))
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	return l.unlock, nil
}

// current returns the index on disk (nil when there is none) and its file
// information, reading it only when it changed since last time.
func (r *Repo) current() (*index.Index, os.FileInfo, error) {
	path := r.IndexPath()
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	r.mu.Lock()
	c := r.cache
	r.mu.Unlock()
	if c.fi != nil && os.SameFile(c.fi, fi) && c.fi.Size() == fi.Size() && c.fi.ModTime().Equal(fi.ModTime()) {
		return c.ix, fi, nil
	}
	ix, err := index.Read(bufio.NewReaderSize(f, 256<<10))
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	r.mu.Lock()
	r.cache = cachedIndex{fi: fi, ix: ix}
	r.mu.Unlock()
	return ix, fi, nil
}

// load returns the current index for a change, under the lock. Without an
// index file, the package files already in the directory are indexed, so
// that a first Add does not drop them.
func (r *Repo) load(ctx context.Context) (*index.Index, error) {
	ix, _, err := r.current()
	if err != nil || ix != nil {
		return ix, err
	}
	res, err := r.scan(ctx, nil, nil)
	if err != nil {
		return nil, err
	}
	return &index.Index{Records: res.Records}, nil
}

// writeIndex writes recs as the repository's index, atomically. When
// pending is not nil, the index is encoded and signed first and the file
// written only once pending has delivered nil (Add syncs the directory
// meanwhile, so that new package files are on disk before the index that
// lists them).
func (r *Repo) writeIndex(recs []*index.Record, desc string, pending <-chan error) error {
	if r.opts.Description != "" {
		desc = r.opts.Description
	}
	now := time.Now
	if r.opts.Now != nil {
		now = r.opts.Now
	}
	if pending != nil {
		// Whatever happens, wait for it: Add's rollback must not race
		// with it.
		defer func() {
			if pending != nil {
				<-pending
			}
		}()
	}
	ix := &index.Index{Description: desc, Records: recs, ModTime: now()}
	var data bytes.Buffer
	data.Grow(256 * len(recs))
	if err := index.WriteSigned(&data, ix, r.opts.Key, r.opts.Algorithm); err != nil {
		return err
	}
	if pending != nil {
		err := <-pending
		pending = nil
		if err != nil {
			return err
		}
	}
	path := r.IndexPath()
	err := WriteFile(path, 0o644, func(w io.Writer) error {
		_, err := w.Write(data.Bytes())
		return err
	})
	if err != nil {
		return err
	}
	if fi, err := os.Stat(path); err == nil {
		r.mu.Lock()
		r.cache = cachedIndex{fi: fi, ix: ix}
		r.mu.Unlock()
	}
	return nil
}

// validArch reports whether s can name an architecture directory.
func validArch(s string) bool {
	return s != "" && s != "." && s != ".." && !strings.ContainsAny(s, "/\\\x00 \n")
}

// validName reports whether s is a package name as abuild allows it: an
// alphanumeric first character, then letters, digits and ._+-.
func validName(s string) bool {
	if s == "" || len(s) > 128 || !isAlnum(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !isAlnum(c) && c != '.' && c != '_' && c != '+' && c != '-' {
			return false
		}
	}
	return true
}

// validVersion reports whether s can be a version in a file name: it starts
// with a digit and holds only letters, digits and ._+~-.
func validVersion(s string) bool {
	if s == "" || len(s) > 100 || s[0] < '0' || s[0] > '9' {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !isAlnum(c) && c != '.' && c != '_' && c != '+' && c != '~' && c != '-' {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}
