package resolve

// The changeset: what to install, upgrade and remove, in the order apk
// applies it. A package's dependencies come before it, so that its
// install scripts run with them in place.

func (s *solver) recordChange(old, new *pkg) {
	c := change{old: old, new: new}
	if old != nil {
		c.oldTag = old.installedTag
	}
	if new != nil {
		c.newTag = s.tagOf(new.ss.pinningAllowed, s.pkgRepos(new))
	}
	s.changes = append(s.changes, c)
}

// tagOf returns the first tag in the pinning mask that allows one of repos.
func (s *solver) tagOf(mask, repos uint64) int {
	for i := range s.db.tags {
		if mask&(1<<i) != 0 && s.db.allowed[i]&repos != 0 {
			return i
		}
	}
	return 0
}

func (s *solver) trackDepsAdded(p *pkg) {
	for i := range p.depends {
		d := &p.depends[i]
		if d.d.Conflict || d.name.ss.installedName == nil {
			continue
		}
		d.name.ss.installedName.ss.requirers++
	}
}

func (s *solver) trackDepsRemoved(p *pkg) {
	for i := range p.depends {
		d := &p.depends[i]
		if d.d.Conflict || d.name.ss.installedName == nil {
			continue
		}
		d.name.ss.installedName.ss.requirers--
		if d.name.ss.installedName.ss.requirers > 0 {
			continue
		}
		if p0 := d.name.ss.installedPkg; p0 != nil {
			s.genRemove(p0)
		}
	}
}

func (s *solver) checkRemovalByDeps(p *pkg) {
	if p.name.ss.requirers == 0 && p.name.ss.chosen.pkg == nil {
		s.genRemove(p)
	}
}

func (s *solver) checkInstallByIif(n *name) {
	p := n.ss.chosen.pkg
	if p == nil || !n.ss.seen || n.ss.changesetProcessed {
		return
	}
	for i := range p.installIf {
		d := &p.installIf[i]
		if !d.name.ss.changesetProcessed || !d.provided(d.name.ss.chosen) {
			return
		}
	}
	s.genChange(n)
}

func (s *solver) checkRemovalByIif(n *name) {
	p := n.ss.installedPkg
	if p == nil || n.ss.chosen.pkg != nil || n.ss.changesetProcessed || n.ss.changesetRemove {
		return
	}
	for i := range p.installIf {
		n0 := p.installIf[i].name
		if n0.ss.changesetRemove && n0.ss.chosen.pkg == nil {
			s.checkRemovalByDeps(p)
			return
		}
	}
}

func (s *solver) checkByReverseIif(p *pkg, fn func(*name)) {
	if p == nil {
		return
	}
	for _, n := range p.name.riif() {
		fn(n)
	}
	for i := range p.provides {
		for _, n := range p.provides[i].name.riif() {
			fn(n)
		}
	}
}

func (s *solver) genPreprocess(n *name) {
	if n.ss.changesetProcessed {
		return
	}
	n.ss.changesetProcessed = true
	if ip := n.ss.installedPkg; ip != nil && (n.ss.chosen.pkg == nil || n.ss.chosen.pkg.name != n) {
		s.genRemove(ip)
	}
	for _, pr := range n.providers {
		p0 := pr.pkg
		if p0.name.ss.installedPkg == p0 && p0.name.ss.chosen.pkg == nil {
			s.genRemove(p0)
		}
	}
}

func (s *solver) genChange(n *name) {
	if n.ss.changesetProcessed {
		return
	}
	s.genPreprocess(n)
	p := n.ss.chosen.pkg
	if p == nil || p.ss.inChangeset {
		return
	}
	p.ss.inChangeset = true
	s.genPreprocess(p.name)
	for i := range p.provides {
		s.genPreprocess(p.provides[i].name)
	}
	old := p.name.ss.installedPkg
	s.checkByReverseIif(old, s.checkRemovalByIif)
	for i := range p.depends {
		s.genDep(p, &p.depends[i])
	}
	s.recordChange(old, p)
	s.checkByReverseIif(p, s.checkInstallByIif)
	s.trackDepsAdded(p)
	if old != nil {
		s.trackDepsRemoved(old)
	}
}

func (s *solver) genRemove(p *pkg) {
	n := p.name
	if p.ss.inChangeset || (n.ss.chosen.pkg != nil && n.ss.chosen.pkg.name == n) {
		return
	}
	n.ss.changesetRemove = true
	p.ss.inChangeset = true
	// Installed packages that depend on p go first.
	s.forEachReverseDep(p, depSatisfies, true, false, func(p0 *pkg, _ *dep) {
		s.genRemove(p0)
	})
	s.checkByReverseIif(p, s.checkRemovalByIif)
	s.recordChange(p, nil)
	s.trackDepsRemoved(p)
}

func (s *solver) genDep(parent *pkg, d *dep) {
	n := d.name
	p := n.ss.chosen.pkg
	if !d.provided(n.ss.chosen) {
		s.markError(parent)
	}
	s.genChange(n)
	if p != nil && p.ss.error {
		s.markError(parent)
	}
}

// generate builds the changeset for world.
func (s *solver) generate(world []dep) {
	for _, n := range s.db.order {
		n.ss.installedPkg = nil
		n.ss.installedName = nil
		n.ss.requirers = 0
	}
	inst := s.db.installedPkgs()
	for _, p := range inst {
		p.name.ss.installedPkg = p
		p.name.ss.installedName = p.name
		for i := range p.provides {
			if d := &p.provides[i]; d.d.Op != "" {
				d.name.ss.installedName = p.name
			}
		}
	}
	for _, p := range inst {
		s.trackDepsAdded(p)
	}
	for _, p := range inst {
		s.checkRemovalByDeps(p)
	}
	for i := range world {
		s.genDep(nil, &world[i])
	}
	for _, p := range inst {
		s.genChange(p.name)
	}
}

// What apk_dep_analyze says of an item and a package.
const (
	depIrrelevant = 1
	depSatisfies  = 2
	depConflicts  = 4
)

// analyze says whether d is about p (by its name or a provided name), and
// if so whether p satisfies it.
func analyze(d *dep, p *pkg) int {
	if p == nil {
		return depIrrelevant
	}
	if d.name == p.name {
		if d.materialized(p) {
			return depSatisfies
		}
		return depConflicts
	}
	for i := range p.provides {
		pd := &p.provides[i]
		if pd.name != d.name {
			continue
		}
		if d.provided(provider{pkg: p, version: pd.d.Version, virtual: pd.d.Op == ""}) {
			return depSatisfies
		}
		return depConflicts
	}
	return depIrrelevant
}

// materialized reports whether package p itself (not a provided name)
// satisfies d.
func (d *dep) materialized(p *pkg) bool {
	if p == nil || d.name != p.name {
		return d.d.Conflict
	}
	switch {
	case d.checksum:
		return p.rec.Checksum == d.d.Version
	case d.any:
		return !d.d.Conflict
	}
	if d.d.Satisfies(p.version) {
		return !d.d.Conflict
	}
	return d.d.Conflict
}

// forEachReverseDep calls fn for each dependency of another package that
// names p (or a name p provides) and whose analysis matches match. With
// installed, only installed packages are looked at; with marked, only
// packages of the plan, each once per call.
func (s *solver) forEachReverseDep(p *pkg, match int, installed, marked bool, fn func(*pkg, *dep)) {
	s.db.genid++
	gen := s.db.genid
	visit := func(rdeps []*name) {
		for _, n0 := range rdeps {
			for _, pr := range n0.providers {
				p0 := pr.pkg
				if installed && !p0.installed {
					continue
				}
				if marked {
					if !p0.marked || p0.genid >= gen {
						continue
					}
					p0.genid = gen
				}
				for i := range p0.depends {
					if analyze(&p0.depends[i], p)&match != 0 {
						fn(p0, &p0.depends[i])
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

func (db *DB) installedPkgs() []*pkg {
	var out []*pkg
	for _, p := range db.pkgs {
		if p.installed {
			out = append(out, p)
		}
	}
	return out
}
