package build

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// ForeignLibc records that a package links a C library other than musl,
// which Alpine does not ship: such a package cannot be installed there.
type ForeignLibc struct {
	// Package is the package's name.
	Package string `json:"package"`
	// Library is the C library's soname, for example "libc.so.6" (glibc).
	Library string `json:"library"`
}

// isForeignLibc reports whether soname is a C library other than musl's
// (libc.musl-<arch>.so.1): glibc's libc.so.6 (libc.so.6.1 on some
// architectures), uClibc's libc.so.0 and the like.
func isForeignLibc(soname string) bool {
	return soname == "libc.so" || strings.HasPrefix(soname, "libc.so.")
}

// foreignLibc lists the arch-specific packages whose ELF files need a C
// library other than musl that neither the build itself nor, in a build
// root with apk's database, an installed package provides (gcompat
// provides libc.so.6 on Alpine).
func (b *builder) foreignLibc(pkgs []*pkgBuild) []ForeignLibc {
	own := map[string]bool{}
	for _, pb := range pkgs {
		if pb.tree == nil {
			continue
		}
		for _, e := range pb.tree.ELF {
			if e.Soname != "" {
				own[e.Soname] = true
			}
		}
	}
	var out []ForeignLibc
	for _, pb := range pkgs {
		if pb.arch == "noarch" || pb.tree == nil {
			continue
		}
		seen := map[string]bool{}
		for _, e := range pb.tree.ELF {
			for _, n := range e.Needed {
				if isForeignLibc(n) && !own[n] && !seen[n] {
					seen[n] = true
					out = append(out, ForeignLibc{Package: pb.name, Library: n})
				}
			}
		}
	}
	if len(out) == 0 {
		return nil
	}
	root := b.opts.RootFS
	if root == "" {
		root = "/"
	}
	if _, err := os.Stat(filepath.Join(root, "lib", "apk", "db", "installed")); err == nil {
		if res := b.resolver(); res.Soname != nil {
			kept := out[:0]
			for _, f := range out {
				if _, provided := res.Soname(f.Library); !provided {
					kept = append(kept, f)
				}
			}
			out = kept
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Library < out[j].Library })
	if len(out) == 0 {
		return nil
	}
	return out
}
