package install

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/apkit-dev/apkit/pkg/apk"
	"github.com/apkit-dev/apkit/pkg/index"
	"github.com/apkit-dev/apkit/pkg/source"
)

// Errors Install wraps, naming the package.
var (
	// ErrIdentityMismatch: a package's control segment does not have the
	// identity (C:) its index record gives.
	ErrIdentityMismatch = errors.New("package does not match its index record")
	// ErrDataMismatch: a package's data does not match its datahash or a
	// file its checksum record.
	ErrDataMismatch = errors.New("package data does not match its checksums")
	// ErrConflict: a package would overwrite a file another installed
	// package owns.
	ErrConflict = errors.New("file owned by another package")
	// ErrUnsupported: the install needs something this installer does not
	// do (an upgrade, a device node when not running as root).
	ErrUnsupported = errors.New("not supported")
)

// KeyFile is a public key to place in the root's /etc/apk/keys.
type KeyFile struct {
	Name string // file name, as signatures name the key
	Data []byte // PEM content
}

// Options tune Install. Arch is required; the zero value of the rest
// installs from local repositories, runs scripts under bubblewrap and leaves
// /etc/apk/world, repositories and keys as they are.
type Options struct {
	// Arch is the root's architecture, written to /etc/apk/arch.
	Arch string
	// Fetch says how remote packages are downloaded.
	Fetch Fetch
	// World lists dependencies to add to /etc/apk/world (kept sorted and
	// unique, as apk keeps it).
	World []string
	// Repositories, when not nil, is written as /etc/apk/repositories, one
	// repository per line.
	Repositories []string
	// Keys are written to /etc/apk/keys (existing files are replaced).
	Keys []KeyFile
	// NoScripts skips install scripts and triggers, as apk --no-scripts.
	NoScripts bool
	// Scripts runs the scripts; nil means bubblewrap with the root as /
	// (see [BwrapScripts]).
	Scripts ScriptRunner
	// Log, when set, receives messages: each script run, what a script
	// printed, files skipped. It is called from one goroutine at a time.
	Log func(msg string)
}

// Result says what Install did.
type Result struct {
	// Installed are the packages installed by this call, in plan order.
	Installed []*Installed
	// Skipped are the plan's packages already installed with the same
	// identity.
	Skipped []string
	// Removed are the packages removed by this call, in plan order.
	Removed []*Installed
	// Scripts are the scripts run ("<name>-<version>.post-install", ...).
	Scripts []string
}

// Install installs plan into root, in the plan's order, as apk add does:
// each package is downloaded (or read from a local repository), checked
// against its index record (size, C: identity, datahash and each file's
// checksum), its pre-install script run, its files extracted inside root
// (never outside it) and its post-install script run; then triggers run and
// apk's database is written (lib/apk/db/installed, scripts.tar, triggers,
// /etc/apk/world, repositories, arch and keys), each file replaced
// atomically after the files it lists are in place.
//
// Install takes apk's lock on the database for its duration. It refuses to
// replace an installed package of the same name with a different one, with
// an error wrapping [ErrUnsupported]: [Commit] makes a solver's plan,
// upgrades and removals included. A failing script marks its package broken
// (f:s) as apk does, and Install returns an error after writing the
// database. Install is safe for concurrent use on different roots.
func Install(ctx context.Context, root string, plan []Package, opts *Options) (*Result, error) {
	return run(ctx, root, opts, func(in *installer) ([]step, error) {
		var steps []step
		planned := map[string]*index.Record{}
		for _, p := range plan {
			if p.Record == nil {
				return nil, errors.New("install: plan step without a record")
			}
			if prev, ok := planned[p.Record.Name]; ok {
				if prev.Checksum == p.Record.Checksum {
					continue
				}
				return nil, fmt.Errorf("install: plan has %s twice (%s and %s)", p.Record.Name, prev.Version, p.Record.Version)
			}
			planned[p.Record.Name] = p.Record
			if old := in.db.Find(p.Record.Name); old != nil {
				if old.Record.Checksum == p.Record.Checksum {
					in.res.Skipped = append(in.res.Skipped, p.Record.Name)
					continue
				}
				return nil, fmt.Errorf("install %s-%s: %s-%s is installed: upgrade %w", p.Record.Name, p.Record.Version, old.Record.Name, old.Record.Version, ErrUnsupported)
			}
			steps = append(steps, step{install: &Package{Record: p.Record, Repository: p.Repository}})
		}
		return steps, nil
	}, func(db *Database) {
		for _, w := range opts.World {
			if !slices.Contains(db.World, w) {
				db.World = append(db.World, w)
			}
		}
		slices.Sort(db.World)
	})
}

// step is one change a commit makes: install a package from a repository,
// record a virtual package (no files), remove an installed package, or
// record a new repository tag for one. An install step with replace set
// upgrades (or downgrades) that package.
type step struct {
	install *Package
	virtual *index.Record
	tag     string
	remove  *Installed
	repin   *Installed
	// replace is the installed package an install step replaces.
	replace *Installed
}

// run opens and locks root's database, asks plan for the steps to take,
// downloads what they install, makes the changes in order, runs triggers,
// lets world update the world and writes the database.
func run(ctx context.Context, root string, opts *Options, plan func(*installer) ([]step, error), world func(*Database)) (*Result, error) {
	if opts == nil || opts.Arch == "" {
		return nil, errors.New("install: no arch given")
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, fmt.Errorf("install: %w", err)
	}
	r, err := os.OpenRoot(root)
	if err != nil {
		return nil, fmt.Errorf("install: %w", err)
	}
	defer r.Close()
	for _, d := range []string{"etc/apk/keys", "lib/apk/db", "lib/apk/exec", "var/cache/apk", "dev"} {
		if err := r.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("install: %w", err)
		}
	}
	// A world-writable /tmp, as apk makes it in a new root.
	if err := r.Mkdir("tmp", 0o755); err == nil {
		if err := r.Chmod("tmp", 0o1777|fs.ModeSticky); err != nil {
			return nil, fmt.Errorf("install: %w", err)
		}
	} else if !errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("install: %w", err)
	}
	unlock, err := lockDatabase(r)
	if err != nil {
		return nil, err
	}
	defer unlock()
	db, err := readDatabase(r)
	if err != nil {
		return nil, err
	}
	in := &installer{ctx: ctx, root: r, dir: root, opts: opts, db: db, res: &Result{}, euid: os.Geteuid(), umask: processUmask()}
	in.indexOwners()

	steps, err := plan(in)
	if err != nil {
		return nil, err
	}
	var todo []Package
	for _, s := range steps {
		if s.install != nil {
			todo = append(todo, *s.install)
		}
	}
	files, err := fetchPackages(ctx, todo, opts)
	if err != nil {
		return nil, err
	}
	recs := make([]*index.Record, len(todo))
	for i, p := range todo {
		recs[i] = p.Record
	}
	ra := startReadAhead(ctx, recs, files)
	defer ra.close()
	defer in.forgetDirs()
	var scriptErrs []error
	fi := 0
	for _, s := range steps {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("install: %w", err)
		}
		switch {
		case s.install != nil:
			ip, err := in.installOne(*s.install, files[fi], ra, s.replace)
			fi++
			if err != nil {
				return nil, err
			}
			ip.RepoTag = s.tag
			if strings.Contains(ip.Broken, "s") {
				scriptErrs = append(scriptErrs, in.lastScriptErr)
			}
			in.res.Installed = append(in.res.Installed, ip)
		case s.virtual != nil:
			if s.replace != nil {
				in.dropPackage(s.replace, nil)
			}
			ip := &Installed{Record: s.virtual.Clone(), RepoTag: s.tag}
			ip.Record.Extra = nil
			in.db.Packages = append(in.db.Packages, ip)
			in.res.Installed = append(in.res.Installed, ip)
		case s.remove != nil:
			if err := in.removeOne(s.remove); err != nil {
				return nil, err
			}
			if strings.Contains(s.remove.Broken, "s") {
				scriptErrs = append(scriptErrs, in.lastScriptErr)
			}
			in.res.Removed = append(in.res.Removed, s.remove)
		case s.repin != nil:
			s.repin.RepoTag = s.tag
		}
	}
	if err := in.runTriggers(); err != nil {
		scriptErrs = append(scriptErrs, err)
	}
	world(db)
	if err := writeDatabase(r, db, opts); err != nil {
		return nil, err
	}
	if err := errors.Join(scriptErrs...); err != nil {
		return in.res, fmt.Errorf("install: %w", err)
	}
	return in.res, nil
}

// fetchPackages returns the path of each package of plan: in its local
// repository, or in the cache after downloading it.
func fetchPackages(ctx context.Context, plan []Package, opts *Options) ([]string, error) {
	paths := make([]string, len(plan))
	var items []source.Item
	var at []int
	for i, p := range plan {
		name := p.Record.FileName()
		if !IsRemote(p.Repository) {
			paths[i] = fileURL(p.Repository, opts.Arch, name)
			continue
		}
		if opts.Fetch.Cache == "" {
			return nil, fmt.Errorf("fetch %s: no cache directory for downloads", name)
		}
		cached := p.Record.Name + "-" + p.Record.Version + "." + cacheTag(p.Record.Checksum) + ".apk"
		items = append(items, source.Item{Name: cached, URL: fileURL(p.Repository, opts.Arch, name)})
		at = append(at, i)
	}
	if len(items) == 0 {
		return paths, nil
	}
	so := opts.Fetch.sourceOptions()
	res, err := source.Fetch(ctx, items, so)
	if err != nil {
		return nil, fmt.Errorf("fetch packages: %w", err)
	}
	for j, r := range res {
		paths[at[j]] = r.Path
	}
	return paths, nil
}

// owner is who owns a path in the root.
type owner struct {
	name, origin string
}

type installer struct {
	ctx  context.Context
	root *os.Root
	dir  string
	opts *Options
	db   *Database
	res  *Result
	euid int
	// owners maps each installed file's path to its package.
	owners map[string]owner
	// lastScriptErr is the error of the last failed script.
	lastScriptErr error
	// touched are the directories this call installed files into.
	touched map[string]bool
	// copyBuf is the buffer files are written through.
	copyBuf []byte
	// umask is the process's file mode creation mask, -1 when unknown.
	umask int
	// subs holds directories of the root open, from one package to the
	// next, until anything but unpacking changes the tree (see
	// [installer.forgetDirs]); nil when none are.
	subs *subRoots
}

// dirs returns the directories of the root held open.
func (in *installer) dirs() *subRoots {
	if in.subs == nil {
		in.subs = &subRoots{root: in.root, m: map[string]*os.Root{}, dirs: map[string]*os.File{}}
	}
	return in.subs
}

// forgetDirs closes the directories held open. It is called whenever
// something else than unpacking may have changed the tree (a script ran,
// a package's files and directories were removed), so that no directory
// is reached through a descriptor of one that has since been removed or
// replaced.
func (in *installer) forgetDirs() {
	if in.subs != nil {
		in.subs.close()
		in.subs = nil
	}
}

// processUmask returns the process's umask as /proc/self/status gives it
// (Linux 4.7 and later), or -1. Reading it there, unlike umask(2), does not
// change it for the rest of the process meanwhile.
func processUmask() int {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for line := range strings.Lines(string(data)) {
		if v, ok := strings.CutPrefix(line, "Umask:"); ok {
			if n, err := strconv.ParseUint(strings.TrimSpace(v), 8, 32); err == nil {
				return int(n)
			}
		}
	}
	return -1
}

// fdWriter writes to a file descriptor.
type fdWriter int

func (w fdWriter) Write(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		m, err := unix.Write(int(w), p[n:])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return n, err
		}
		if m == 0 {
			return n, io.ErrShortWrite
		}
		n += m
	}
	return n, nil
}

func (in *installer) indexOwners() {
	in.owners = map[string]owner{}
	in.touched = map[string]bool{}
	for _, p := range in.db.Packages {
		for _, d := range p.Dirs {
			for _, f := range d.Files {
				in.owners[path.Join(d.Name, f.Name)] = owner{p.Record.Name, p.Record.Origin}
			}
		}
	}
}

func (in *installer) logf(format string, args ...any) {
	if in.opts.Log != nil {
		in.opts.Log(fmt.Sprintf(format, args...))
	}
}

// extracted is a data entry written under a temporary name.
type extracted struct {
	tmp, final string
	dir        bool
}

// installOne installs one package from the file at file.
// When old is not nil, the package replaces it (an upgrade, downgrade or
// reinstall): its upgrade scripts run instead of the install ones, and the
// files of old the new package does not have are removed.
func (in *installer) installOne(p Package, file string, ra *readAhead, old *Installed) (*Installed, error) {
	rec := p.Record
	pv := rec.Name + "-" + rec.Version
	// The control segment first, checked against the index record: the
	// metadata and the scripts.
	m := ra.next(in.ctx)
	if m.end {
		if m.err == nil {
			m.err = errors.New("package reader skipped a package")
		}
		return nil, m.err
	}
	info := m.ctl.Info
	ip := &Installed{
		Record:           rec.Clone(),
		Replaces:         info.Replaces,
		ReplacesPriority: int64(info.ReplacesPriority),
	}
	ip.Record.Extra = nil
	for _, s := range m.ctl.Scripts {
		if isScript(s.Name) {
			ip.Scripts = append(ip.Scripts, s)
		}
	}
	if slices.ContainsFunc(ip.Scripts, func(s apk.Script) bool { return s.Name == ".trigger" }) {
		ip.Triggers = info.Triggers
	}
	args, pre, post := []string{rec.Version}, "pre-install", "post-install"
	if old != nil {
		args, pre, post = []string{rec.Version, old.Record.Version}, "pre-upgrade", "post-upgrade"
	}
	in.runScript(ip, pre, args)

	// Then the data, under temporary names until it all verifies.
	var done []extracted
	tmps := map[string]string{} // final path -> temporary name, for hard links
	sums := map[string]string{} // final path -> Z:, for hard links
	cleanup := func() {
		for _, e := range done {
			if !e.dir {
				in.root.Remove(e.tmp)
			}
		}
	}
	subs := in.dirs()
	dirIndex := map[string]int{}
	addDir := func(name string, acl ACL) *Dir {
		if i, ok := dirIndex[name]; ok {
			ip.Dirs[i].ACL = acl
			return &ip.Dirs[i]
		}
		dirIndex[name] = len(ip.Dirs)
		ip.Dirs = append(ip.Dirs, Dir{Name: name, ACL: acl})
		return &ip.Dirs[len(ip.Dirs)-1]
	}
	data := func(e *apk.File, content io.Reader) error {
		if base := path.Base(e.Path); strings.HasPrefix(base, ".keep_") && e.Kind != apk.KindDir {
			return nil
		}
		acl := ACL{UID: e.Uid, GID: e.Gid, Mode: e.Mode & 0o7777, XattrSum: xattrSum(e.Xattrs)}
		if e.Kind == apk.KindDir {
			if err := in.mkdir(e, acl); err != nil {
				return err
			}
			if len(e.Xattrs) > 0 {
				d, err := in.root.Open(e.Path)
				if err != nil {
					return err
				}
				in.setXattrs(ip, d, e)
				d.Close()
			}
			addDir(e.Path, acl)
			done = append(done, extracted{final: e.Path, dir: true})
			return nil
		}
		dir, base := path.Split(e.Path)
		dir = strings.TrimSuffix(dir, "/")
		if o, ok := in.owners[e.Path]; ok && o.name != rec.Name && (o.origin == "" || o.origin != rec.Origin) && !replaces(info.Replaces, o.name) {
			return fmt.Errorf("%s: owned by %s: %w", e.Path, o.name, ErrConflict)
		}
		sum := h2z(e.Checksum)
		tmpBase := ".apk." + tmpTag(rec.Checksum, e.Path)
		tmp := path.Join(dir, tmpBase)
		dr, err := subs.get(dir)
		if err != nil {
			return err
		}
		dfd, err := subs.fd(dir)
		if err != nil {
			return err
		}
		err = in.create(ip, e, dr, dfd, tmpBase, tmp, content, tmps)
		if errors.Is(err, fs.ErrExist) {
			// Left by an install that did not finish: nothing has been
			// read from content yet, since creating it failed.
			dr.Remove(tmpBase)
			err = in.create(ip, e, dr, dfd, tmpBase, tmp, content, tmps)
		}
		if err != nil {
			return err
		}
		if e.Kind == apk.KindHardLink {
			sum = sums[e.Link]
		}
		tmps[e.Path], sums[e.Path] = tmp, sum
		done = append(done, extracted{tmp: tmp, final: e.Path})
		d := dir
		if _, ok := dirIndex[d]; !ok {
			addDir(d, DefaultDirACL)
		}
		di := &ip.Dirs[dirIndex[d]]
		di.Files = append(di.Files, DBFile{Name: base, ACL: acl, Checksum: sum})
		return nil
	}
	for {
		m := ra.next(in.ctx)
		if m.end {
			if m.err != nil {
				cleanup()
				return nil, m.err
			}
			break
		}
		var content io.Reader = m.stream
		if m.stream == nil {
			content = bytes.NewReader(m.content)
		}
		err := data(m.file, content)
		ra.release(m)
		if err != nil {
			cleanup()
			return nil, fmt.Errorf("install %s: %s: data segment: %s: %w", pv, file, m.file.Path, err)
		}
	}
	for _, e := range done {
		if e.dir {
			continue
		}
		dir := path.Dir(e.final)
		if dir == "." {
			dir = ""
		}
		dfd, err := subs.fd(dir)
		if err == nil {
			// Both names are one path element in the same directory.
			if rerr := unix.Renameat(dfd, path.Base(e.tmp), dfd, path.Base(e.final)); rerr != nil {
				err = &os.LinkError{Op: "rename", Old: e.tmp, New: e.final, Err: rerr}
			}
		}
		if err != nil {
			cleanup()
			return nil, fmt.Errorf("install %s: %w", pv, err)
		}
		in.owners[e.final] = owner{rec.Name, rec.Origin}
		in.touched[path.Dir(e.final)] = true
	}
	if old != nil {
		keep := map[string]bool{}
		for _, e := range done {
			keep[e.final] = true
		}
		in.dropPackage(old, keep)
	}
	in.db.Packages = append(in.db.Packages, ip)
	in.runScript(ip, post, args)
	return ip, nil
}

// replaces reports whether a replaces list names pkg.
func replaces(list []string, pkg string) bool {
	for _, r := range list {
		name := r
		if i := strings.IndexAny(r, "<>=~"); i >= 0 {
			name = r[:i]
		}
		if name == pkg {
			return true
		}
	}
	return false
}

// h2z turns pkg/apk's hex checksum into the Z: form.
func h2z(h string) string {
	if h == "" {
		return ""
	}
	return fileChecksum(h)
}

func tmpTag(id, p string) string {
	s := sha1.Sum([]byte(id + "\x00" + p))
	return hex.EncodeToString(s[:12])
}

// mkdir makes a package's directory, or fixes the mode of one that exists,
// by name in its parent's descriptor: a package lists a directory after
// its parent (apk.Read checks), so the parent is there.
func (in *installer) mkdir(e *apk.File, acl ACL) error {
	dir, base := path.Split(e.Path)
	pfd, err := in.dirs().fd(strings.TrimSuffix(dir, "/"))
	if err != nil {
		return err
	}
	var st unix.Stat_t
	err = unix.Fstatat(pfd, base, &st, unix.AT_SYMLINK_NOFOLLOW)
	switch {
	case err == unix.ENOENT:
		if err := unix.Mkdirat(pfd, base, 0o755); err != nil && err != unix.EEXIST {
			return &fs.PathError{Op: "mkdir", Path: e.Path, Err: err}
		}
	case err != nil:
		return &fs.PathError{Op: "lstat", Path: e.Path, Err: err}
	case st.Mode&unix.S_IFMT == unix.S_IFLNK:
		// A link to a directory (merged /usr): apk leaves it be.
		return nil
	case st.Mode&unix.S_IFMT != unix.S_IFDIR:
		return fmt.Errorf("%s: exists and is not a directory", e.Path)
	}
	if in.euid == 0 {
		if err := unix.Fchownat(pfd, base, acl.UID, acl.GID, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return &fs.PathError{Op: "chown", Path: e.Path, Err: err}
		}
	}
	// base is a directory, not a link that chmod would follow: nothing but
	// this installer changes the tree meanwhile.
	if err := unix.Fchmodat(pfd, base, acl.Mode&0o7777, 0); err != nil {
		return &fs.PathError{Op: "chmod", Path: e.Path, Err: err}
	}
	return nil
}

// modeBits turns setuid, setgid and sticky permission bits into fs.FileMode.
func modeBits(m uint32) fs.FileMode {
	var fm fs.FileMode
	if m&0o4000 != 0 {
		fm |= fs.ModeSetuid
	}
	if m&0o2000 != 0 {
		fm |= fs.ModeSetgid
	}
	if m&0o1000 != 0 {
		fm |= fs.ModeSticky
	}
	return fm
}

// subRoots holds the directories of a package open as roots of their own,
// so that each file operation resolves one name instead of a whole path.
type subRoots struct {
	root *os.Root
	m    map[string]*os.Root
	dirs map[string]*os.File
}

func (s *subRoots) get(dir string) (*os.Root, error) {
	if dir == "" {
		return s.root, nil
	}
	if r, ok := s.m[dir]; ok {
		return r, nil
	}
	r, err := s.root.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	s.m[dir] = r
	return r, nil
}

// fd returns a descriptor of dir, opened inside the root: files are made
// in it by name, one path element that cannot lead out of it.
func (s *subRoots) fd(dir string) (int, error) {
	if f, ok := s.dirs[dir]; ok {
		return int(f.Fd()), nil
	}
	name := dir
	if name == "" {
		name = "."
	}
	f, err := s.root.OpenFile(name, os.O_RDONLY|syscall.O_DIRECTORY, 0)
	if err != nil {
		return -1, err
	}
	s.dirs[dir] = f
	return int(f.Fd()), nil
}

func (s *subRoots) close() {
	for _, r := range s.m {
		r.Close()
	}
	for _, f := range s.dirs {
		f.Close()
	}
}

// create makes a non-directory entry named base in dr, whose descriptor is
// dfd; the entry is tmp relative to the root.
func (in *installer) create(ip *Installed, e *apk.File, dr *os.Root, dfd int, base, tmp string, content io.Reader, tmps map[string]string) error {
	mode := fs.FileMode(e.Mode&0o777) | modeBits(e.Mode)
	mt := time.Unix(e.ModTime, 0)
	switch e.Kind {
	case apk.KindRegular:
		// Made by name in its directory's descriptor: base is one path
		// element, and O_NOFOLLOW|O_EXCL make only a new file. The file is
		// written through its bare descriptor, as its few system calls are
		// most of an install's time. It is made with its final permissions
		// when the umask lets it be; else (or with set-id or sticky bits,
		// which chown clears) chmod sets them after chown.
		perm, chmod := uint32(mode.Perm()), true
		if in.umask >= 0 && mode&(fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky) == 0 && perm&uint32(in.umask) == 0 {
			chmod = false
		} else {
			perm = 0o600
		}
		fd, err := unix.Openat(dfd, base, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, perm)
		if err != nil {
			return &fs.PathError{Op: "open", Path: tmp, Err: err}
		}
		if in.copyBuf == nil {
			in.copyBuf = make([]byte, 64<<10)
		}
		op := "write"
		_, err = io.CopyBuffer(fdWriter(fd), content, in.copyBuf)
		if err == nil && in.euid == 0 {
			op, err = "chown", unix.Fchown(fd, e.Uid, e.Gid)
		}
		if err == nil && chmod {
			op, err = "chmod", unix.Fchmod(fd, e.Mode&0o7777)
		}
		if err == nil {
			ts := []unix.Timespec{unix.NsecToTimespec(mt.UnixNano()), unix.NsecToTimespec(mt.UnixNano())}
			op, err = "chtimes", unix.UtimesNanoAt(dfd, base, ts, unix.AT_SYMLINK_NOFOLLOW)
		}
		if err == nil && len(e.Xattrs) > 0 {
			f := os.NewFile(uintptr(fd), tmp)
			in.setXattrs(ip, f, e)
			op, err = "close", f.Close()
		} else if cerr := unix.Close(fd); err == nil {
			op, err = "close", cerr
		}
		if err != nil {
			var errno syscall.Errno
			if errors.As(err, &errno) {
				err = &fs.PathError{Op: op, Path: tmp, Err: errno}
			}
		}
		return err
	case apk.KindSymlink:
		if err := dr.Symlink(e.Link, base); err != nil {
			return err
		}
		if in.euid == 0 {
			return dr.Lchown(base, e.Uid, e.Gid)
		}
		return nil
	case apk.KindHardLink:
		target, ok := tmps[e.Link]
		if !ok {
			return fmt.Errorf("hard link to %s, which was not extracted", e.Link)
		}
		return in.root.Link(target, tmp)
	case apk.KindFIFO, apk.KindChar, apk.KindBlock:
		if e.Kind != apk.KindFIFO && in.euid != 0 {
			return fmt.Errorf("%s is a device node, made only when running as root: %w", e.Path, ErrUnsupported)
		}
		if err := in.mknod(e, tmp); err != nil {
			return err
		}
	default:
		return fmt.Errorf("%s: entry of kind %s: %w", e.Path, e.Kind, ErrUnsupported)
	}
	if in.euid == 0 {
		if err := dr.Lchown(base, e.Uid, e.Gid); err != nil {
			return err
		}
	}
	if err := dr.Chmod(base, mode); err != nil {
		return err
	}
	return dr.Chtimes(base, mt, mt)
}

// mknod makes a FIFO or device node at tmp, after checking that no
// directory on the way is a symbolic link (os.Root has no mknod).
func (in *installer) mknod(e *apk.File, tmp string) error {
	dir := path.Dir(tmp)
	for p := dir; p != "."; p = path.Dir(p) {
		fi, err := in.root.Lstat(p)
		if err != nil {
			return err
		}
		if !fi.IsDir() {
			return fmt.Errorf("%s: %s is not a directory", e.Path, p)
		}
	}
	mode := e.Mode & 0o7777
	switch e.Kind {
	case apk.KindFIFO:
		mode |= syscall.S_IFIFO
	case apk.KindChar:
		mode |= syscall.S_IFCHR
	case apk.KindBlock:
		mode |= syscall.S_IFBLK
	}
	dev := int((e.DevMajor&0xfff)<<8 | (e.DevMinor & 0xff) | (e.DevMinor&^0xff)<<12 | (e.DevMajor&^0xfff)<<32)
	return syscall.Mknod(filepath.Join(in.dir, filepath.FromSlash(tmp)), mode, dev)
}

// xattrSum returns the identity of a set of extended attributes as apk
// records it: "Q1" and the base64 SHA-1 over the attributes sorted by name,
// each name and value preceded by its length (32-bit big-endian); "" for
// none.
func xattrSum(x map[string]string) string {
	if len(x) == 0 {
		return ""
	}
	names := make([]string, 0, len(x))
	for k := range x {
		names = append(names, k)
	}
	slices.Sort(names)
	h := sha1.New()
	var n [4]byte
	for _, k := range names {
		binary.BigEndian.PutUint32(n[:], uint32(len(k)))
		h.Write(n[:])
		h.Write([]byte(k))
		binary.BigEndian.PutUint32(n[:], uint32(len(x[k])))
		h.Write(n[:])
		h.Write([]byte(x[k]))
	}
	return index.Identity(h.Sum(nil))
}

// setXattrs sets e's extended attributes on f. One that cannot be set
// marks the package's xattrs broken (f:x), as apk does, and is logged.
func (in *installer) setXattrs(ip *Installed, f *os.File, e *apk.File) {
	names := make([]string, 0, len(e.Xattrs))
	for k := range e.Xattrs {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		if err := unix.Fsetxattr(int(f.Fd()), k, []byte(e.Xattrs[k]), 0); err != nil {
			if !strings.Contains(ip.Broken, "x") {
				ip.Broken += "x"
			}
			in.logf("%s-%s: %s: xattr %s: %v", ip.Record.Name, ip.Record.Version, e.Path, k, err)
		}
	}
}
