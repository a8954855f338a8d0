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

// walkTree lists the entries of the tree at root as they go into the data
// segment: every path but the root and top-level dot-names, sorted by
// bytes, hard links detected by (device, inode), the first path of an
// inode stored as a file. It returns the entries and the installed size.
func walkTree(root string, owner func(path string, uid, gid int) (Owner, error), mtime int64) ([]treeEntry, uint64, error) {
	var paths []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == root {
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if !strings.Contains(rel, "/") && strings.HasPrefix(rel, ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		paths = append(paths, rel)
		return nil
	})
	if err != nil {
		return nil, 0, fmt.Errorf("read tree: %w", err)
	}
	sort.Strings(paths)
	type inode struct{ dev, ino uint64 }
	seen := map[inode]string{}
	entries := make([]treeEntry, 0, len(paths))
	var size uint64
	for _, rel := range paths {
		abs := filepath.Join(root, filepath.FromSlash(rel))
		fi, err := os.Lstat(abs)
		if err != nil {
			return nil, 0, fmt.Errorf("read tree: %w", err)
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if !ok {
			return nil, 0, fmt.Errorf("read tree: %s: no inode information", rel)
		}
		if err := checkPath(rel); err != nil {
			return nil, 0, fmt.Errorf("read tree: %q: %v", rel, err)
		}
		e := treeEntry{abs: abs, File: File{Path: rel, Mode: uint32(st.Mode) & 0o7777, ModTime: mtime}}
		o := RootOwner
		if owner != nil {
			if o, err = owner(rel, int(st.Uid), int(st.Gid)); err != nil {
				return nil, 0, fmt.Errorf("read tree: %s: %w", rel, err)
			}
		}
		if o.Uid < 0 || o.Gid < 0 || o.Uid > maxUstarID || o.Gid > maxUstarID {
			return nil, 0, fmt.Errorf("read tree: %s: owner %d:%d does not fit a tar header", rel, o.Uid, o.Gid)
		}
		e.Uname, e.Gname, e.Uid, e.Gid = o.Uname, o.Gname, o.Uid, o.Gid
		switch m := fi.Mode(); {
		case m.IsDir():
			e.Kind = KindDir
		case m.IsRegular():
			key := inode{uint64(st.Dev), uint64(st.Ino)}
			if first, ok := seen[key]; ok && st.Nlink > 1 {
				e.Kind, e.Link = KindHardLink, first
				break
			}
			if st.Nlink > 1 {
				seen[key] = rel
			}
			if fi.Size() > maxUstarSize {
				return nil, 0, fmt.Errorf("read tree: %s: %d bytes is too large for a package", rel, fi.Size())
			}
			e.Kind, e.Size = KindRegular, fi.Size()
			size += uint64(fi.Size())
		case m&fs.ModeSymlink != 0:
			target, err := os.Readlink(abs)
			if err != nil {
				return nil, 0, fmt.Errorf("read tree: %w", err)
			}
			if target == "" || len(target) >= maxPathLen {
				return nil, 0, fmt.Errorf("read tree: %s: symlink target of %d bytes", rel, len(target))
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
			return nil, 0, fmt.Errorf("read tree: %s: %v cannot go in a package", rel, m.Type())
		}
		if e.Xattrs, err = readXattrs(abs); err != nil {
			return nil, 0, fmt.Errorf("read tree: %s: %w", rel, err)
		}
		entries = append(entries, e)
	}
	return entries, size, nil
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
