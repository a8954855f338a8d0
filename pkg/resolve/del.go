package resolve

import (
	"slices"
	"strings"
)

// del takes the names of `apk del` out of world as apk del does, marking
// each package it deletes for removal, and with rdepends deleting the
// installed packages that depend on a deleted one too. It returns the
// world left.
func (db *DB) del(world []dep, names []string, rdepends bool) []dep {
	if len(names) == 0 {
		return world
	}
	drop := func(n *name) {
		if i := slices.IndexFunc(world, func(d dep) bool { return d.name == n }); i >= 0 {
			world = slices.Delete(world, i, i+1)
		}
	}
	// One generation for the whole request: a package is looked at as a
	// dependent once, as apk walks reverse dependencies with one genid.
	db.genid++
	gen := db.genid
	var deletePkg func(p *pkg)
	deletePkg = func(p *pkg) {
		drop(p.name)
		p.name.flagsSet = true
		for _, pr := range p.name.providers {
			pr.pkg.ss.removeHint = true
		}
		if !rdepends {
			return
		}
		for i := range p.provides {
			drop(p.provides[i].name)
		}
		eachDependent(p, gen, func(p0 *pkg) bool { return p0.installed }, deletePkg)
	}
	for _, s := range names {
		n := db.names[s]
		if n == nil {
			continue
		}
		var installed *pkg
		for _, pr := range n.providers {
			if pr.pkg.name == n && pr.pkg.installed {
				installed = pr.pkg
				break
			}
		}
		if installed != nil {
			deletePkg(installed)
		} else {
			drop(n)
		}
	}
	return world
}

// Kept is a name given to apk del that stays installed, with why.
type Kept struct {
	// Name is the name given to apk del.
	Name string
	// By are the world items that need it, directly, through the
	// packages that depend on it or through those whose install_if it
	// helps meet, in the order apk prints them; a name may come more than
	// once, as in apk's note.
	By []string
}

// kept returns, for the names of del that the solve keeps, what keeps
// them, as apk del finds it: from each package of the plan that provides
// the name, the world names it is or provides, then the same for the
// packages of the plan that depend on it and, for each install_if item of
// a package, the packages of the plan that provide it, each package once
// per name. Names are sorted as apk sorts them for display.
func (s *solver) kept(world []dep, del []string) []Kept {
	if len(del) == 0 {
		return nil
	}
	marked := map[*pkg]bool{}
	for _, c := range s.changes {
		if c.new != nil {
			marked[c.new] = true
		}
	}
	inWorld := map[*name]bool{}
	for _, d := range world {
		inWorld[d.name] = true
	}
	var names []*name
	for _, n := range del {
		if nm := s.db.names[n]; nm != nil && !slices.Contains(names, nm) {
			names = append(names, nm)
		}
	}
	slices.SortFunc(names, func(a, b *name) int { return compareDisplay(a.name, b.name) })
	var out []Kept
	for _, n := range names {
		s.db.genid++
		gen := s.db.genid
		var k *Kept
		var visit func(p *pkg)
		visit = func(p *pkg) {
			if k == nil {
				out = append(out, Kept{Name: n.name})
				k = &out[len(out)-1]
			}
			if inWorld[p.name] {
				k.By = append(k.By, p.name.name)
			}
			for i := range p.provides {
				if inWorld[p.provides[i].name] {
					k.By = append(k.By, p.provides[i].name.name)
				}
			}
			eachDependent(p, gen, func(p0 *pkg) bool { return marked[p0] }, visit)
			for i := range p.installIf {
				for _, pr := range p.installIf[i].name.providers {
					if !marked[pr.pkg] || pr.pkg.genid >= gen {
						continue
					}
					pr.pkg.genid = gen
					visit(pr.pkg)
				}
			}
		}
		for _, pr := range n.providers {
			if marked[pr.pkg] {
				visit(pr.pkg)
			}
		}
	}
	return out
}

// KeptLines returns apk del's note on the names it keeps installed, as
// apk prints it before the plan: "World updated, but the following
// packages are not removed due to:", a line for each name (wrapped as
// apk wraps it), then an empty line; nil when the plan keeps none.
func (p *Plan) KeptLines() []string {
	if len(p.Kept) == 0 {
		return nil
	}
	r := &reporter{}
	r.line("World updated, but the following packages are not removed due to:\n")
	for _, k := range p.Kept {
		r.group("  " + k.Name + ":")
		for _, w := range k.By {
			r.word(w)
		}
		r.end()
	}
	lines := strings.Split(strings.TrimSuffix(r.b.String(), "\n"), "\n")
	return append(lines, "")
}

// eachDependent calls fn for each package that ok accepts and that has a
// dependency p satisfies, found through the reverse dependencies of p's
// name and provided names as apk walks them: each package once per gen
// (the DB's genid of the walk).
func eachDependent(p *pkg, gen int, ok func(*pkg) bool, fn func(*pkg)) {
	visit := func(rdeps []*name) {
		for _, n0 := range rdeps {
			for _, pr := range n0.providers {
				p0 := pr.pkg
				if !ok(p0) || p0.genid >= gen {
					continue
				}
				p0.genid = gen
				for i := range p0.depends {
					if analyze(&p0.depends[i], p)&depSatisfies != 0 {
						fn(p0)
						break
					}
				}
			}
		}
	}
	visit(p.name.rdeps())
	for i := range p.provides {
		visit(p.provides[i].name.rdeps())
	}
}
