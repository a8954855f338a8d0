package scan

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// Tree is what [Scan] found in one package directory. Paths are relative
// to the package root, slash-separated, without a leading slash.
type Tree struct {
	// Root is the package directory on disk.
	Root string
	// ELF lists every regular ELF file, in path order.
	ELF []*ELF
	// Commands lists the names in bin, sbin, usr/bin and usr/sbin that
	// count as commands (symlinks, executable regular files; no '@').
	Commands []string
	// PC lists the pkg-config modules in usr/lib/pkgconfig and
	// usr/share/pkgconfig.
	PC []*PCModule
	// HasPkgconfigDir is true when usr/lib/pkgconfig or
	// usr/share/pkgconfig exists.
	HasPkgconfigDir bool
	// Symlinks maps each symlink to its target as stored.
	Symlinks map[string]string
	// BrokenSymlinks lists symlinks whose target, resolved inside the
	// tree, does not exist; each is given as its normalised target.
	BrokenSymlinks []string
	// Entries lists every path in the tree (directories included).
	Entries []string
	// Size is the sum of the sizes of regular files, each inode once.
	Size int64
	// Problems lists ELF files that could not be parsed.
	Problems []error
}

// Scan walks the package directory root. It never follows symlinks.
func Scan(root string) (*Tree, error) {
	t := &Tree{Root: root, Symlinks: map[string]string{}}
	type ino struct{ dev, ino uint64 }
	seen := map[ino]bool{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == root {
			return nil
		}
		rel := filepath.ToSlash(strings.TrimPrefix(p, root+string(filepath.Separator)))
		t.Entries = append(t.Entries, rel)
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			t.Symlinks[rel] = target
		case d.Type().IsRegular():
			fi, err := d.Info()
			if err != nil {
				return err
			}
			if k, ok := inodeOf(fi); ok {
				if !seen[ino(k)] {
					seen[ino(k)] = true
					t.Size += fi.Size()
				}
			} else {
				t.Size += fi.Size()
			}
			e, err := ReadELF(p, rel)
			if err != nil {
				t.Problems = append(t.Problems, err)
			} else if e != nil {
				t.ELF = append(t.ELF, e)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("scan %s: %w", root, err)
	}
	for _, dir := range []string{"bin", "sbin", "usr/bin", "usr/sbin"} {
		if !realDir(root, dir) {
			continue
		}
		ents, err := os.ReadDir(filepath.Join(root, dir))
		if err != nil {
			continue
		}
		for _, e := range ents {
			if strings.Contains(e.Name(), "@") {
				continue
			}
			if e.Type()&fs.ModeSymlink != 0 {
				t.Commands = append(t.Commands, e.Name())
				continue
			}
			if !e.Type().IsRegular() {
				continue
			}
			if fi, err := e.Info(); err == nil && fi.Mode()&0o111 != 0 {
				t.Commands = append(t.Commands, e.Name())
			}
		}
	}
	sort.Strings(t.Commands)
	for _, dir := range []string{"usr/lib/pkgconfig", "usr/share/pkgconfig"} {
		if !realDir(root, dir) {
			continue
		}
		ents, err := os.ReadDir(filepath.Join(root, dir))
		if err != nil {
			continue
		}
		t.HasPkgconfigDir = true
		for _, e := range ents {
			if !strings.HasSuffix(e.Name(), ".pc") {
				continue
			}
			m, err := readPCFile(root, dir+"/"+e.Name())
			if err != nil {
				return nil, fmt.Errorf("scan %s: %w", root, err)
			}
			if m != nil {
				t.PC = append(t.PC, m)
			}
		}
	}
	for link, target := range t.Symlinks {
		n := normaliseTarget(link, target)
		if n == "" {
			continue
		}
		if _, err := os.Lstat(filepath.Join(root, filepath.FromSlash(n))); errors.Is(err, fs.ErrNotExist) {
			t.BrokenSymlinks = append(t.BrokenSymlinks, n)
		}
	}
	sort.Strings(t.BrokenSymlinks)
	return t, nil
}

// normaliseTarget resolves a symlink's target against the link's directory
// inside the package root, returning a root-relative path ("" for the root
// itself).
func normaliseTarget(link, target string) string {
	var p string
	if strings.HasPrefix(target, "/") {
		p = path.Clean(target)
	} else {
		p = path.Clean("/" + path.Join(path.Dir(link), target))
	}
	return strings.TrimPrefix(p, "/")
}

// Rpaths returns the package's rpath directories with $ORIGIN replaced by
// the directory of the object that names it, unique and sorted.
func (t *Tree) Rpaths() []string {
	set := map[string]bool{}
	for _, e := range t.ELF {
		for _, r := range e.Rpaths {
			dir := "/" + path.Dir(e.Path)
			r = strings.ReplaceAll(r, "${ORIGIN}", dir)
			r = strings.ReplaceAll(r, "$ORIGIN", dir)
			set[path.Clean(r)] = true
		}
	}
	return sortedKeys(set)
}

func sortedKeys(m map[string]bool) []string {
	if len(m) == 0 {
		return nil
	}
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// realDir reports whether rel is a directory of the tree reached without
// following a symlink, so that reading it never leaves the tree.
func realDir(root, rel string) bool {
	p := root
	for _, c := range strings.Split(rel, "/") {
		p = filepath.Join(p, c)
		fi, err := os.Lstat(p)
		if err != nil || !fi.IsDir() {
			return false
		}
	}
	return true
}
