package apk

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// Owner is the ownership written for a data entry. apk resolves Uname and
// Gname in the target system and falls back to Uid and Gid.
type Owner struct {
	Uname, Gname string
	Uid, Gid     int
}

// RootOwner is root:root, 0:0, what abuild writes for every file not
// owned by one of the package's own users.
var RootOwner = Owner{Uname: "root", Gname: "root"}

// maxUstarID is the largest uid or gid an ustar header holds in octal.
const maxUstarID = 1<<21 - 1

// maxUstarSize is the largest file size an ustar header holds in octal.
const maxUstarSize = 1<<33 - 1

// treeEntry is one path of a staged tree.
type treeEntry struct {
	File
	abs string // path on disk
}

// inode identifies a file for hard-link detection.
type inode struct{ dev, ino uint64 }

// treeWalker lists a staged tree in the order of the data segment: every
// path but the root and top-level dot-names, in byte order of the full
// relative path (so parents come before children and the first path of
// a set of hard links before the others), one directory listing at a
// time: memory grows with the depth of the tree and the size of its
// directories, not with the number of files.
type treeWalker struct {
	root  string
	owner func(path string, uid, gid int) (Owner, error)
	mtime int64
	fn    func(*treeEntry) error
	links map[inode]string // first path of each inode with several links
	size  uint64           // installed size: regular files, each inode once
	count int64
}

// walkTree calls fn for each entry of the tree at root, in data segment
// order, and returns the installed size and the number of entries.
func walkTree(root string, owner func(path string, uid, gid int) (Owner, error), mtime int64, fn func(*treeEntry) error) (uint64, int64, error) {
	w := &treeWalker{root: root, owner: owner, mtime: mtime, fn: fn, links: map[inode]string{}}
	fi, err := os.Stat(root)
	if err != nil {
		return 0, 0, fmt.Errorf("read tree: %w", err)
	}
	if !fi.IsDir() {
		return 0, 0, fmt.Errorf("read tree: %s is not a directory", root)
	}
	if err := w.dir(""); err != nil {
		return 0, 0, err
	}
	return w.size, w.count, nil
}

// dir lists the directory rel ("" for the root). Each child is an event
// keyed by its name, and each subdirectory a second event keyed by its
// name and "/", where its subtree is walked: sorting the events by key
// gives the byte order of full paths ("a", "a-b", "a/c").
func (w *treeWalker) dir(rel string) error {
	abs := filepath.Join(w.root, filepath.FromSlash(rel))
	des, err := os.ReadDir(abs)
	if err != nil {
		return fmt.Errorf("read tree: %w", err)
	}
	type event struct {
		key     string
		name    string
		descend bool
	}
	events := make([]event, 0, len(des))
	for _, de := range des {
		name := de.Name()
		if rel == "" && strings.HasPrefix(name, ".") {
			continue
		}
		events = append(events, event{key: name, name: name})
		if de.IsDir() {
			events = append(events, event{key: name + "/", name: name, descend: true})
		}
	}
	sort.Slice(events, func(i, j int) bool { return events[i].key < events[j].key })
	for _, ev := range events {
		p := ev.name
		if rel != "" {
			p = rel + "/" + ev.name
		}
		if ev.descend {
			if err := w.dir(p); err != nil {
				return err
			}
			continue
		}
		e, err := w.entry(p)
		if err != nil {
			return fmt.Errorf("read tree: %w", err)
		}
		w.count++
		if err := w.fn(e); err != nil {
			return err
		}
	}
	return nil
}

// entry describes the path rel.
func (w *treeWalker) entry(rel string) (*treeEntry, error) {
	abs := filepath.Join(w.root, filepath.FromSlash(rel))
	fi, err := os.Lstat(abs)
	if err != nil {
		return nil, err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return nil, fmt.Errorf("%s: no inode information", rel)
	}
	if err := checkPath(rel); err != nil {
		return nil, fmt.Errorf("%q: %v", rel, err)
	}
	e := &treeEntry{abs: abs, File: File{Path: rel, Mode: uint32(st.Mode) & 0o7777, ModTime: w.mtime}}
	o := RootOwner
	if w.owner != nil {
		if o, err = w.owner(rel, int(st.Uid), int(st.Gid)); err != nil {
			return nil, fmt.Errorf("%s: %w", rel, err)
		}
	}
	if o.Uid < 0 || o.Gid < 0 || o.Uid > maxUstarID || o.Gid > maxUstarID {
		return nil, fmt.Errorf("%s: owner %d:%d does not fit a tar header", rel, o.Uid, o.Gid)
	}
	e.Uname, e.Gname, e.Uid, e.Gid = o.Uname, o.Gname, o.Uid, o.Gid
	switch m := fi.Mode(); {
	case m.IsDir():
		e.Kind = KindDir
	case m.IsRegular():
		key := inode{uint64(st.Dev), uint64(st.Ino)}
		if st.Nlink > 1 {
			if first, ok := w.links[key]; ok {
				e.Kind, e.Link = KindHardLink, first
				break
			}
			w.links[key] = rel
		}
		if fi.Size() > maxUstarSize {
			return nil, fmt.Errorf("%s: %d bytes is too large for a package", rel, fi.Size())
		}
		e.Kind, e.Size = KindRegular, fi.Size()
		w.size += uint64(fi.Size())
	case m&fs.ModeSymlink != 0:
		target, err := os.Readlink(abs)
		if err != nil {
			return nil, err
		}
		if target == "" || len(target) >= maxPathLen {
			return nil, fmt.Errorf("%s: symlink target of %d bytes", rel, len(target))
		}
		e.Kind, e.Link = KindSymlink, target
	case m&fs.ModeNamedPipe != 0:
		e.Kind = KindFIFO
	case m&fs.ModeDevice != 0:
		e.Kind = KindBlock
		if m&fs.ModeCharDevice != 0 {
			e.Kind = KindChar
		}
		e.DevMajor, e.DevMinor = int64(unix.Major(uint64(st.Rdev))), int64(unix.Minor(uint64(st.Rdev)))
	default:
		return nil, fmt.Errorf("%s: %v cannot go in a package", rel, m.Type())
	}
	if e.Xattrs, err = readXattrs(abs); err != nil {
		return nil, fmt.Errorf("%s: %w", rel, err)
	}
	return e, nil
}

// readXattrs returns the extended attributes of path (not following a
// symlink), except security.selinux, which abuild leaves out too.
func readXattrs(path string) (map[string]string, error) {
	buf := make([]byte, 1024)
	var n int
	var err error
	for {
		n, err = unix.Llistxattr(path, buf)
		if errors.Is(err, unix.ERANGE) {
			buf = make([]byte, len(buf)*4)
			continue
		}
		break
	}
	if errors.Is(err, unix.ENOTSUP) || errors.Is(err, unix.EOPNOTSUPP) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list xattrs: %w", err)
	}
	var out map[string]string
	for _, name := range strings.Split(string(buf[:n]), "\x00") {
		if name == "" || name == "security.selinux" {
			continue
		}
		val := make([]byte, 256)
		for {
			m, err := unix.Lgetxattr(path, name, val)
			if errors.Is(err, unix.ERANGE) {
				val = make([]byte, len(val)*4)
				continue
			}
			if errors.Is(err, unix.ENODATA) {
				m, err = 0, nil
				val = nil
			}
			if err != nil {
				return nil, fmt.Errorf("xattr %s: %w", name, err)
			}
			if out == nil {
				out = map[string]string{}
			}
			if val != nil {
				out[name] = string(val[:m])
			}
			break
		}
	}
	return out, nil
}
