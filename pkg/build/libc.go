package build

import (
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

// foreignLibc lists the arch-specific packages whose traced dependencies
// name a C library other than musl that the build root's apk database
// does not provide (a root with gcompat installed provides libc.so.6).
func (b *builder) foreignLibc(pkgs []*pkgBuild) []ForeignLibc {
	var out []ForeignLibc
	for _, pb := range pkgs {
		if pb.arch == "noarch" || pb.trace == nil {
			continue
		}
		for _, d := range pb.trace.AutoDepends {
			name, ok := strings.CutPrefix(depName(d), "so:")
			if ok && isForeignLibc(name) {
				out = append(out, ForeignLibc{Package: pb.name, Library: name})
			}
		}
	}
	if len(out) == 0 {
		return nil
	}
	if res := b.resolver(); res.Soname != nil {
		kept := out[:0]
		for _, f := range out {
			if _, provided := res.Soname(f.Library); !provided {
				kept = append(kept, f)
			}
		}
		out = kept
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Library < out[j].Library })
	if len(out) == 0 {
		return nil
	}
	return out
}
