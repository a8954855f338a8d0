package resolve

import (
	"strings"
)

// The marks the error reporter puts on names and packages.
const (
	statePresent     = 0x80000000
	stateMissing     = 0x40000000
	stateVirtualOnly = 0x20000000
	stateInstallIf   = 0x10000000
	stateCountMask   = 0x0000ffff
)

// reportWidth is the line width apk wraps its explanation at when its
// output is not a terminal.
const reportWidth = 50

// reporter writes apk's explanation of an unsatisfiable world, with apk's
// indentation and line wrapping.
type reporter struct {
	s         *solver
	world     []dep
	b         strings.Builder
	x, indent int
	label     string
	numLabels int
	match     int
}

func (r *reporter) line(text string) {
	r.b.WriteString(text)
	r.x, r.indent = 0, 0
}

func (r *reporter) group(text string) {
	r.b.WriteString(text)
	r.x = len(text)
	r.indent = r.x + 1
}

func (r *reporter) end() {
	if r.x != 0 {
		r.b.WriteByte('\n')
		r.x, r.indent = 0, 0
	}
}

// word writes one word, wrapping the line before it would reach the width.
func (r *reporter) word(w string) {
	switch {
	case r.x <= r.indent:
		r.b.WriteString(strings.Repeat(" ", r.indent-r.x))
		r.b.WriteString(w)
		r.x = r.indent + len(w)
	case r.x+len(w)+1 >= reportWidth:
		r.b.WriteByte('\n')
		r.b.WriteString(strings.Repeat(" ", r.indent))
		r.b.WriteString(w)
		r.x = r.indent + len(w)
	default:
		r.b.WriteByte(' ')
		r.b.WriteString(w)
		r.x += 1 + len(w)
	}
}

func (r *reporter) words(text string) {
	for _, w := range strings.Split(text, " ") {
		r.word(w)
	}
}

// labelStart writes the pending package or name label, then the heading of
// a group unless one is open.
func (r *reporter) labelStart(text string) {
	if r.label != "" {
		r.line("  " + r.label + ":\n")
		r.label = ""
		r.numLabels++
	}
	if r.x == 0 {
		r.group("    " + text)
	}
}

func pkgVer(p *pkg) string { return p.name.name + "-" + p.version }

func (r *reporter) pinningErrors(p *pkg, tag int) {
	db := r.s.db
	if p.installed {
		return
	}
	if p.repos == 1 {
		r.labelStart("masked in:")
		r.word("cache")
	} else {
		if p.repos&r.s.pinningRepos(defaultPinning|1<<tag) != 0 {
			return
		}
		for i := range db.tags {
			if p.repos&db.allowed[i] != 0 {
				r.labelStart("masked in:")
				r.word(db.tags[i])
			}
		}
	}
	r.end()
}

func (r *reporter) conflicts(p *pkg) {
	for _, pr := range p.name.providers {
		if pr.pkg == p || !pr.pkg.marked {
			continue
		}
		r.labelStart("conflicts:")
		r.word(pkgVer(pr.pkg))
	}
	for i := range p.provides {
		d := &p.provides[i]
		once := true
		for _, pr := range d.name.providers {
			if !pr.pkg.marked {
				continue
			}
			if d.d.Op == "" && pr.virtual {
				continue
			}
			if once && pr.pkg == p && pr.version == d.d.Version {
				once = false
				continue
			}
			r.labelStart("conflicts:")
			r.word(pkgVer(pr.pkg) + "[" + r.s.db.depString(d, false) + "]")
		}
	}
	r.end()
}

func (r *reporter) dep(p0 *pkg, d *dep) {
	label := "breaks:"
	if r.match&depSatisfies != 0 {
		label = "satisfies:"
	}
	r.labelStart(label)
	if p0 == nil {
		r.word("world[" + r.s.db.depString(d, false) + "]")
	} else {
		r.word(pkgVer(p0) + "[" + r.s.db.depString(d, false) + "]")
	}
}

func (r *reporter) deps(p *pkg, match int) {
	r.match = match
	for i := range r.world {
		if analyze(&r.world[i], p)&match != 0 {
			r.dep(nil, &r.world[i])
		}
	}
	r.s.forEachReverseDep(p, match, false, true, r.dep)
	r.end()
}

func (r *reporter) analyzePackage(p *pkg, tag int) {
	r.label = pkgVer(p)
	if p.uninstallable {
		r.labelStart("error:")
		r.word("uninstallable")
		r.end()
		r.labelStart("arch:")
		r.word(p.rec.Arch)
		r.end()
	}
	r.pinningErrors(p, tag)
	r.conflicts(p)
	r.deps(p, depConflicts)
	if r.label == "" {
		r.deps(p, depSatisfies)
	}
}

func (r *reporter) analyzeMissing(n *name) {
	if len(n.providers) > 0 {
		r.label = n.name + " (virtual)"
		r.labelStart("note:")
		r.words("please select one of the 'provided by' packages explicitly")
		r.end()
		r.labelStart("provided by:")
		for _, pr := range n.providers {
			pr.pkg.name.state++
		}
		for _, pr := range n.providers {
			n0 := pr.pkg.name
			refs := n0.state & stateCountMask
			switch {
			case int(refs) == len(n0.providers):
				r.word(n0.name)
				n0.state &^= stateCountMask
			case refs > 0:
				r.word(pkgVer(pr.pkg))
				n0.state--
			}
		}
		r.end()
	} else {
		r.label = n.name + " (no such package)"
	}
	r.labelStart("required by:")
	for i := range r.world {
		if d := &r.world[i]; d.name == n && !d.d.Conflict {
			r.word("world[" + r.s.db.depString(d, false) + "]")
		}
	}
	r.s.db.genid++
	gen := r.s.db.genid
	for _, n0 := range n.rdeps() {
		for _, pr := range n0.providers {
			p0 := pr.pkg
			if !p0.marked || p0.genid == gen {
				continue
			}
			p0.genid = gen
			for i := range p0.depends {
				if d := &p0.depends[i]; d.name == n && !d.d.Conflict {
					r.word(pkgVer(p0) + "[" + r.s.db.depString(d, false) + "]")
					break
				}
			}
			break
		}
	}
	r.end()
}

func (r *reporter) analyzeDeps(deps []dep) {
	for i := range deps {
		d := &deps[i]
		if d.d.Conflict || d.name.state&(stateInstallIf|statePresent|stateMissing) != 0 {
			continue
		}
		d.name.state |= stateMissing
		r.analyzeMissing(d.name)
	}
}

func (r *reporter) discoverReverseIif(n *name) {
	for _, n0 := range n.riif() {
		for _, pr := range n0.providers {
			p := pr.pkg
			if !p.marked || len(p.installIf) == 0 {
				continue
			}
			ok := true
			for i := range p.installIf {
				d := &p.installIf[i]
				if d.d.Conflict == (d.name.state&(statePresent|stateInstallIf) != 0) {
					ok = false
					break
				}
			}
			if ok {
				r.discoverName(p.name, stateInstallIf)
				for i := range p.provides {
					r.discoverName(p.provides[i].name, stateInstallIf)
				}
			}
		}
	}
}

func isNameConcrete(p *pkg, n *name) bool {
	if p.name == n {
		return true
	}
	for i := range p.provides {
		if d := &p.provides[i]; d.name == n && d.d.Op != "" {
			return true
		}
	}
	return false
}

func (r *reporter) discoverName(n *name, pkgState uint32) {
	for _, pr := range n.providers {
		p := pr.pkg
		st := pkgState
		if !p.marked {
			continue
		}
		if (st == statePresent || st == stateInstallIf) && p.priority == 0 && !isNameConcrete(p, n) {
			st = stateVirtualOnly
		}
		if p.state&st != 0 {
			continue
		}
		p.state |= st
		p.name.state |= st
		for i := range p.provides {
			ds := st
			if ds == stateInstallIf && p.provides[i].d.Op == "" {
				ds = stateVirtualOnly
			}
			p.provides[i].name.state |= ds
		}
		r.discoverDeps(p.depends)
		if st == statePresent || st == stateInstallIf {
			r.discoverReverseIif(p.name)
			for i := range p.provides {
				r.discoverReverseIif(p.provides[i].name)
			}
		}
	}
}

func (r *reporter) discoverDeps(deps []dep) {
	for i := range deps {
		if !deps[i].d.Conflict {
			r.discoverName(deps[i].name, statePresent)
		}
	}
}

// report explains, as apk's error reporter does, why the changeset does
// not meet the world.
func (s *solver) report(world []dep) string {
	r := &reporter{s: s, world: world}
	for _, c := range s.changes {
		if c.new != nil {
			c.new.marked = true
		}
	}
	r.discoverDeps(world)
	r.analyzeDeps(world)
	for _, c := range s.changes {
		if c.new == nil {
			continue
		}
		r.analyzePackage(c.new, c.newTag)
		r.analyzeDeps(c.new.depends)
	}
	if r.numLabels == 0 {
		r.line("Huh? Error reporter did not find the broken constraints.\n")
	}
	return r.b.String()
}
