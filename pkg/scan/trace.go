package scan

import (
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
)

// Package is one package of a build, as [Trace] sees it.
type Package struct {
	// Name is the package name.
	Name string
	// Version is the full version, "$pkgver-r$pkgrel".
	Version string
	// Tree is the scanned package directory.
	Tree *Tree
	// Noarch packages provide no shared objects.
	Noarch bool
	// Depends are the package's explicit dependency items.
	Depends []string
	// Ldpath lists extra package-relative directories scanned for shared
	// objects (the recipe's ldpath).
	Ldpath []string
	// LdpathRecursive scans those directories recursively (option
	// ldpath-recursive).
	LdpathRecursive bool
	// SoverNamecheck skips unversioned *.so files whose soname is
	// versioned (option sover-namecheck).
	SoverNamecheck bool
	// SonamePrefix and PCPrefix are inserted after "so:" and "pc:".
	SonamePrefix, PCPrefix string
	// Somask lists sonames excluded from tracing.
	Somask []string
}

// Result is what [Trace] found for one package.
type Result struct {
	// Provides are the automatic so:, pc:, cmd: and py provides, sorted.
	Provides []string
	// Depends are the symlink and python dependencies, sorted.
	Depends []string
	// AutoDepends are the so:, pc: and pkgconfig dependencies, sorted.
	AutoDepends []string
	// Warnings are notes for the user (unresolved needs and the like).
	Warnings []string
	// MissingPC lists what the package's .pc files require that nothing
	// provides: neither the package, nor another package of the build,
	// nor the resolver. abuild's pkg-config --print-requires fails on
	// them, so a build should too.
	MissingPC []PCNeed
}

// PCNeed is a pkg-config module a .pc file requires.
type PCNeed struct {
	File   string // the .pc file, relative to the package root
	Module string // the required module's name
}

// Resolver finds providers outside the build, for example the packages
// installed in the build root. Each func may be nil, which means "assume
// the system provides it under the plain name".
type Resolver struct {
	// Soname returns the dependency that provides soname ("so:libc.musl-x86_64.so.1").
	Soname func(soname string) (dep string, ok bool)
	// PC returns the dependency that provides the pkg-config module name.
	PC func(name string) (dep string, ok bool)
}

// ErrSonameVersion reports a shared object whose version is ambiguous.
var ErrSonameVersion = errors.New("conflicting shared object versions")

var soName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(\.so|\.so\.[0-9].*|\.c32)$`) })
var soVersioned = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`\.so\.([0-9].*)$`) })

// soProvides returns soname → version for p, scanning lib, usr/lib, the
// ldpath and the given rpath directories.
func soProvides(p *Package, rpaths []string) (map[string]string, error) {
	out := map[string]string{}
	if p.Noarch || p.Tree == nil {
		return out, nil
	}
	dirs := map[string]bool{"lib": true, "usr/lib": true}
	for _, d := range append(append([]string(nil), p.Ldpath...), rpaths...) {
		d = strings.Trim(path.Clean("/"+d), "/")
		if d != "" {
			dirs[d] = true
		}
	}
	mask := map[string]bool{}
	for _, m := range p.Somask {
		mask[m] = true
	}
	for _, e := range p.Tree.ELF {
		dir := path.Dir(e.Path)
		in := dirs[dir]
		if !in && p.LdpathRecursive {
			for d := range dirs {
				if strings.HasPrefix(dir, d+"/") {
					in = true
				}
			}
		}
		if !in || (strings.HasPrefix(e.Path, "usr/lib/debug/") && strings.HasSuffix(e.Path, ".debug")) {
			continue
		}
		base := path.Base(e.Path)
		name := e.Soname
		if name == "" {
			name = base
		}
		if !soName().MatchString(name) || mask[name] {
			continue
		}
		ver := "0"
		if m := soVersioned().FindStringSubmatch(base); m != nil {
			ver = m[1]
		} else if p.SoverNamecheck && strings.HasSuffix(base, ".so") && soVersioned().MatchString(name) {
			continue
		}
		old, ok := out[name]
		switch {
		case !ok || old == "0":
			out[name] = ver
		case ver != "0" && ver != old:
			return nil, fmt.Errorf("%s: %s: versions %s and %s: %w", p.Name, name, old, ver, ErrSonameVersion)
		}
	}
	return out, nil
}

// Trace computes the automatic provides and depends of every package of
// one build (APKBUILD.md §6.11.4), the way abuild's create_apks does.
// Results are in the order of pkgs.
func Trace(pkgs []*Package, res Resolver) ([]*Result, error) {
	// Rpath directories of every package count for every package.
	var rpaths []string
	for _, p := range pkgs {
		if p.Tree != nil && !p.Noarch {
			rpaths = append(rpaths, p.Tree.Rpaths()...)
		}
	}
	sonames := make([]map[string]string, len(pkgs))
	soOwner := map[string]bool{}
	pcOwner := map[string]bool{}
	for i, p := range pkgs {
		so, err := soProvides(p, rpaths)
		if err != nil {
			return nil, err
		}
		sonames[i] = so
		for n := range so {
			soOwner["so:"+p.SonamePrefix+n] = true
		}
		if p.Tree != nil {
			for _, m := range p.Tree.PC {
				pcOwner["pc:"+p.PCPrefix+m.Name] = true
				for _, pr := range m.Provides {
					n, _, _ := strings.Cut(pr, "=")
					pcOwner["pc:"+p.PCPrefix+n] = true
				}
			}
		}
	}
	out := make([]*Result, len(pkgs))
	for i, p := range pkgs {
		r := &Result{}
		out[i] = r
		t := p.Tree
		if t == nil {
			continue
		}
		provides := map[string]bool{}
		for n, v := range sonames[i] {
			provides["so:"+p.SonamePrefix+n+"="+v] = true
		}
		ownPC := map[string]bool{}
		for _, m := range t.PC {
			provides["pc:"+p.PCPrefix+m.Name+"="+m.Version] = true
			ownPC[m.Name] = true
			for _, pr := range m.Provides {
				provides["pc:"+p.PCPrefix+pr] = true
				n, _, _ := strings.Cut(pr, "=")
				ownPC[n] = true
			}
		}
		for _, c := range t.Commands {
			provides["cmd:"+c+"="+p.Version] = true
		}
		pyDirs := pythonDirs(t.Root)
		for _, d := range pyDirs {
			for _, mod := range pythonModules(filepath.Join(t.Root, filepath.FromSlash(d))) {
				ver := strings.TrimPrefix(strings.TrimSuffix(d, "/site-packages"), "usr/lib/python")
				provides["py"+ver+":"+mod+"="+p.Version] = true
			}
		}
		r.Provides = sortedKeys(provides)

		deps := map[string]bool{}
		for _, target := range t.BrokenSymlinks {
			var owners []*Package
			for _, q := range pkgs {
				if q.Tree == nil {
					continue
				}
				if _, err := os.Lstat(filepath.Join(q.Tree.Root, filepath.FromSlash(target))); err == nil {
					owners = append(owners, q)
				}
			}
			if len(owners) == 1 && owners[0] != p {
				deps[owners[0].Name+"="+p.Version] = true
			}
		}
		py3 := 0
		for _, d := range pyDirs {
			if strings.HasPrefix(d, "usr/lib/python3") {
				py3++
			}
		}
		if py3 > 1 {
			return nil, fmt.Errorf("%s: more than one python3 site-packages directory", p.Name)
		}
		if py3 == 1 && p.Name != "python3" && !strings.HasPrefix(p.Name, "python3.") {
			for _, d := range pyDirs {
				if strings.HasPrefix(d, "usr/lib/python3") {
					ver := strings.TrimSuffix(strings.TrimPrefix(d, "usr/lib/python"), "/site-packages")
					deps["python3~"+ver] = true
				}
			}
		}
		r.Depends = sortedKeys(deps)

		auto := map[string]bool{}
		if t.HasPkgconfigDir && !hasName(p.Depends, "pkgconfig") {
			auto["pkgconfig"] = true
		}
		mask := map[string]bool{}
		for _, m := range p.Somask {
			mask[m] = true
		}
		needs := map[string]bool{}
		for _, e := range t.ELF {
			if e.Type != elf.ET_DYN && e.Type != elf.ET_EXEC {
				continue
			}
			for _, n := range e.Needed {
				if _, own := sonames[i][n]; !own && !mask[n] {
					needs[n] = true
				}
			}
		}
		for _, n := range sortedKeys(needs) {
			if name := "so:" + p.SonamePrefix + n; soOwner[name] {
				auto[name] = true
				continue
			}
			if res.Soname == nil {
				auto["so:"+n] = true
				continue
			}
			dep, ok := res.Soname(n)
			if !ok {
				// abuild's trace_apk_deps writes no dependency for it.
				r.Warnings = append(r.Warnings, fmt.Sprintf("%s: no provider found for shared object %s: no dependency written", p.Name, n))
				continue
			}
			if hasName(p.Depends, dep) {
				r.Warnings = append(r.Warnings, fmt.Sprintf("%s: %s is an explicit dependency but would be found automatically", p.Name, dep))
			}
			auto[dep] = true
		}
		for _, m := range t.PC {
			for _, req := range m.Requires {
				name := depName(req)
				if ownPC[name] {
					continue
				}
				if pcOwner["pc:"+p.PCPrefix+name] {
					auto["pc:"+p.PCPrefix+req] = true
					continue
				}
				if res.PC == nil {
					auto["pc:"+req] = true
					continue
				}
				if _, ok := res.PC(name); ok {
					auto["pc:"+req] = true
				} else {
					r.Warnings = append(r.Warnings, fmt.Sprintf("%s: could not find any provider for pc:%s", p.Name, name))
					r.MissingPC = append(r.MissingPC, PCNeed{File: m.Path, Module: name})
				}
			}
		}
		r.AutoDepends = sortedKeys(auto)
	}
	return out, nil
}

// depName returns the name part of a dependency item.
func depName(item string) string {
	item = strings.TrimPrefix(item, "!")
	if i := strings.IndexAny(item, "<>=~"); i >= 0 {
		return item[:i]
	}
	return item
}

func hasName(items []string, name string) bool {
	for _, it := range items {
		if depName(it) == depName(name) {
			return true
		}
	}
	return false
}

// pythonDirs lists usr/lib/python*/site-packages directories of the tree.
func pythonDirs(root string) []string {
	if !realDir(root, "usr/lib") {
		return nil
	}
	ents, err := os.ReadDir(filepath.Join(root, "usr", "lib"))
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range ents {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), "python") {
			continue
		}
		d := "usr/lib/" + e.Name() + "/site-packages"
		if realDir(root, d) {
			out = append(out, d)
		}
	}
	sort.Strings(out)
	return out
}

// pythonModules lists the modules directly in a site-packages directory.
func pythonModules(dir string) []string {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range ents {
		switch {
		case e.IsDir():
			if _, err := os.Lstat(filepath.Join(dir, e.Name(), "__init__.py")); err == nil {
				out = append(out, e.Name())
			}
		case e.Type().IsRegular() && strings.HasSuffix(e.Name(), ".py"):
			out = append(out, strings.TrimSuffix(e.Name(), ".py"))
		}
	}
	return out
}
